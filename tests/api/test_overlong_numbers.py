"""Numbers in ref expressions are ASCII digits of reasonable length, and a ``local://``
namespace longer than the file system takes is refused as input: 400, never a 500."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import Server, assert_error, objects_url, s3_client

MANY_DIGITS = "1" * 5000
# Digits of other scripts that str.isdigit() and int() take: ARABIC-INDIC DIGIT ONE,
# DEVANAGARI DIGIT ONE, FULLWIDTH DIGIT ONE, and SUPERSCRIPT TWO (isdigit, not int).
OTHER_DIGITS = ["\u0661", "\u0967", "\uff11", "\u00b2"]


def commit_twice(http: httpx.Client, repo: str) -> None:
    """Two commits on main, so that main~1 names one."""
    for n in range(2):
        put = http.post(
            f"/repositories/{repo}/branches/main/objects", params={"path": "f"}, files={"content": b"%d" % n}
        )
        assert put.status_code == 201, put.text
        done = http.post(f"/repositories/{repo}/branches/main/commits", json={"message": f"c{n}"})
        assert done.status_code == 201, done.text


@pytest.mark.parametrize("modifier", ["~", "^"])
def test_a_number_of_thousands_of_digits_is_invalid(http: httpx.Client, repo: str, modifier: str) -> None:
    ref = f"main{modifier}{MANY_DIGITS}"
    listed = http.get(f"{objects_url(repo, ref)}/ls")
    message = assert_error(listed, 400, "ref: invalid value", "too long")
    assert len(message) < 500
    read = http.get(objects_url(repo, ref), params={"path": "f"})
    assert_error(read, 400, "too long")
    log = http.get(f"/repositories/{repo}/refs/{ref}/commits")
    assert_error(log, 400, "too long")


@pytest.mark.parametrize("digit", OTHER_DIGITS)
def test_only_ascii_digits_count(http: httpx.Client, repo: str, digit: str) -> None:
    commit_twice(http, repo)
    assert http.get(f"{objects_url(repo, 'main~1')}/ls").status_code == 200
    for modifier in "~^":
        listed = http.get(f"{objects_url(repo, f'main{modifier}{digit}')}/ls")
        assert_error(listed, 400, "ref: invalid value")


def test_the_gateway_refuses_them_too(server: Server, http: httpx.Client, repo: str) -> None:
    commit_twice(http, repo)
    s3 = s3_client(server)
    assert s3.get_object(Bucket=repo, Key="main~1/f")["Body"].read() == b"0"
    for ref in (f"main~{MANY_DIGITS}", f"main^{MANY_DIGITS}", "main~\u0661", "main^\uff11"):
        with pytest.raises(ClientError) as raised:
            s3.get_object(Bucket=repo, Key=f"{ref}/f")
        error = raised.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, error
        assert error["Error"]["Code"] == "InvalidArgument"


@pytest.mark.parametrize(
    "rest",
    [
        pytest.param("n" * 300, id="a name longer than the file system takes"),
        pytest.param("d/" * 2500 + "n", id="a path longer than the file system takes"),
    ],
)
def test_a_local_namespace_too_long_for_the_file_system(
    server: Server, http: httpx.Client, rest: str
) -> None:
    if server.backend.blockstore_type != "local":
        pytest.skip("local:// namespaces are of the local blockstore")
    name = f"long-ns-{len(rest)}"
    made = http.post("/repositories", json={"name": name, "storage_namespace": f"local://{rest}"})
    assert_error(made, 400, "too long")
    assert http.get(f"/repositories/{name}").status_code == 404
