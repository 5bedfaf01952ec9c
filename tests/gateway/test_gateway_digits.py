"""Numbers the gateway reads from a request are ASCII digits: a digit of another script,
which Python's ``str.isdigit`` takes (and ``int`` takes, or refuses), answers 400, never
a 500 or a number read from it."""

from __future__ import annotations

import httpx
import pytest
from conftest import Server
from s3_signing import sign_v4


@pytest.mark.parametrize(
    "number", ["%C2%B2", "%D9%A1", "%EF%BC%91"], ids=["superscript", "arabic", "fullwidth"]
)
def test_max_buckets_takes_ascii_digits_only(server: Server, number: str) -> None:
    with httpx.Client() as http:
        plain = http.send(sign_v4("GET", f"{server.url}/?max-buckets=1"))
        assert plain.status_code == 200, plain.text
        answer = http.send(sign_v4("GET", f"{server.url}/?max-buckets={number}"))
    assert answer.status_code == 400, answer.text
    assert b"<Code>InvalidArgument</Code>" in answer.content
