"""listObjects paging at its edges: an object named like its own prefix, and unusual delimiters."""

from __future__ import annotations

import httpx
import lakefs
import lakefs_sdk
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server, upload


def test_paging_past_an_object_named_like_the_prefix(
    server: Server, sdk: lakefs_sdk.ApiClient, repo: str
) -> None:
    for path in ("dir/", "dir/f1", "dir/f2", "dir/sub/x"):
        upload(sdk, repo, "main", path, path.encode())
    api = lakefs_sdk.ObjectsApi(sdk)
    whole = [r.path for r in api.list_objects(repo, "main", prefix="dir/", delimiter="/").results]
    assert whole == ["dir/", "dir/f1", "dir/f2", "dir/sub/"]

    first = api.list_objects(repo, "main", prefix="dir/", delimiter="/", amount=1)
    assert [r.path for r in first.results] == ["dir/"]
    assert first.pagination.next_offset == "dir/"
    rest = api.list_objects(repo, "main", prefix="dir/", delimiter="/", after="dir/")
    assert [r.path for r in rest.results] == whole[1:]

    client = lakefs.Client(host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    branch = lakefs.Repository(repo, client=client).branch("main")
    assert [o.path for o in branch.objects(prefix="dir/", delimiter="/", amount=1)] == whole


def test_delimiters_at_the_end_of_the_code_point_space(
    sdk: lakefs_sdk.ApiClient, http: httpx.Client, repo: str
) -> None:
    for path in ("k\ud7ffz", "k\ud7ff\ue000", "k\U0010ffffa", "kz"):
        upload(sdk, repo, "main", path, b"x")
    url = f"/repositories/{repo}/refs/main/objects/ls"
    for delimiter, expected in (
        ("\ud7ff", ["kz", "k\ud7ff", "k\U0010ffffa"]),
        ("\U0010ffff", ["kz", "k\ud7ffz", "k\ud7ff\ue000", "k\U0010ffff"]),
    ):
        for amount in (1, 2, 100):
            listed: list[str] = []
            after = ""
            while True:
                response = http.get(url, params={"delimiter": delimiter, "after": after, "amount": amount})
                assert response.status_code == 200, response.text
                body = response.json()
                listed.extend(item["path"] for item in body["results"])
                if not body["pagination"]["has_more"]:
                    break
                after = body["pagination"]["next_offset"]
            assert listed == expected, (delimiter, amount)
    empty = http.get(url, params={"after": "\U0010ffff", "delimiter": "\U0010ffff"})
    assert empty.status_code == 200 and empty.json()["results"] == []
