"""Errors carry lakeFS's wording, and the names involved, through the clients users use.

Scripts and client libraries match on lakeFS's error text ("uncommitted changes (dirty
branch)", "tag already exists", ...). Each case provokes one error through the ``lakefs``
wrapper (or ``lakefs-sdk`` where the wrapper has no call) and checks its status, that the
message holds lakeFS's words, and that it still names the repository, branch, tag, ref
or path concerned.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lakefs
import lakefs_sdk
import pytest
from conftest import Server
from lakefs.exceptions import ServerException

#: A call that must fail, and the names its message must keep.
Provoked = tuple[Callable[[], object], tuple[str, ...]]


@dataclass
class Scene:
    """A fresh repository (``main``) and the clients to act on it."""

    server: Server
    client: lakefs.Client
    sdk: lakefs_sdk.ApiClient
    name: str
    tmp_path: Path

    @property
    def repo(self) -> lakefs.Repository:
        return lakefs.Repository(self.name, client=self.client)

    @property
    def main(self) -> lakefs.Branch:
        return self.repo.branch("main")

    def put(self, branch: str, path: str, data: bytes) -> None:
        self.repo.branch(branch).object(path).upload(data=data)

    def committed(self, branch: str, path: str, data: bytes) -> str:
        """``data`` written at ``path`` and committed on ``branch``; the commit id."""
        self.put(branch, path, data)
        return self.repo.branch(branch).commit(f"write {path}").get_commit().id

    def dev(self) -> lakefs.Branch:
        """Branch ``dev`` from ``main``, with a commit of its own."""
        dev = self.repo.branch("dev").create("main")
        self.committed("dev", "from-dev.txt", b"dev")
        return dev

    def merge_commit(self) -> str:
        """The id of a merge commit on ``main`` (two parents)."""
        self.dev()
        self.committed("main", "from-main.txt", b"main")
        self.repo.ref("dev").merge_into(self.main)
        return self.main.get_commit().id


def failure(call: Callable[[], object]) -> tuple[int, str]:
    """The status and message of the error ``call`` raises (from either client)."""
    try:
        call()
    except ServerException as err:
        return int(err.status_code or 0), str(err.body.get("message", ""))
    except lakefs_sdk.ApiException as err:
        return int(err.status), str(json.loads(err.body or "{}").get("message", ""))
    raise AssertionError("the call succeeded")


# The cases --------------------------------------------------------------------------------


def merge_into_dirty_reference(s: Scene) -> Provoked:
    s.dev()
    s.put("main", "uncommitted.txt", b"u")
    return lambda: s.repo.ref("dev").merge_into(s.main), ("main",)


def merge_into_dirty_branch(s: Scene) -> Provoked:
    dev = s.dev()
    s.put("main", "uncommitted.txt", b"u")
    return lambda: dev.merge_into("main"), ("main",)


def existing_tag(s: Scene) -> Provoked:
    s.repo.tag("v1").create("main")
    return lambda: s.repo.tag("v1").create("main"), ("v1",)


def empty_commit(s: Scene) -> Provoked:
    return lambda: s.main.commit("nothing to commit"), ("main",)


def empty_merge(s: Scene) -> Provoked:
    dev = s.repo.branch("dev").create("main")
    return lambda: dev.merge_into(s.main), ("main",)


def existing_branch(s: Scene) -> Provoked:
    s.repo.branch("dev").create("main")
    return lambda: s.repo.branch("dev").create("main"), ("dev",)


def existing_repository(s: Scene) -> Provoked:
    namespace = s.server.namespace(f"again-{uuid.uuid4().hex[:8]}")
    return lambda: s.repo.create(storage_namespace=namespace), (s.name,)


def missing_repository(s: Scene) -> Provoked:
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    return lambda: lakefs.Repository(missing, client=s.client).branch("main").get_commit(), (missing,)


def missing_branch(s: Scene) -> Provoked:
    return lambda: s.repo.branch("nope").head, ("nope",)


def commit_on_missing_branch(s: Scene) -> Provoked:
    return lambda: s.repo.branch("nope").commit("m"), ("nope",)


def missing_tag(s: Scene) -> Provoked:
    return lambda: s.repo.tag("nope").delete(), ("nope",)


def missing_commit(s: Scene) -> Provoked:
    commit_id = "0" * 64
    return lambda: s.repo.commit(commit_id).get_commit(), (commit_id,)


def missing_object(s: Scene) -> Provoked:
    # The wrapper turns a missing object into FileNotFoundError without the message.
    objects = lakefs_sdk.ObjectsApi(s.sdk)
    return lambda: objects.stat_object(s.name, "main", "no/such.txt"), ("no/such.txt",)


def merge_conflict(s: Scene) -> Provoked:
    s.committed("main", "shared.txt", b"base")
    dev = s.repo.branch("dev").create("main")
    s.committed("dev", "shared.txt", b"dev's")
    s.committed("main", "shared.txt", b"main's")
    return lambda: dev.merge_into(s.main), ("shared.txt",)


def delete_default_branch(s: Scene) -> Provoked:
    return lambda: s.main.delete(), ("main",)


def read_only_repository(s: Scene) -> Provoked:
    name = f"ro-{uuid.uuid4().hex[:12]}"
    lakefs_sdk.RepositoriesApi(s.sdk).create_repository(
        lakefs_sdk.RepositoryCreation(name=name, storage_namespace=s.server.namespace(name), read_only=True)
    )
    branch = lakefs.Repository(name, client=s.client).branch("dev")
    return lambda: branch.create("main"), (name,)


def revert_merge_without_parent(s: Scene) -> Provoked:
    merge = s.merge_commit()
    return lambda: s.main.revert(merge, parent_number=0), (merge,)


def cherry_pick_merge_without_parent(s: Scene) -> Provoked:
    merge = s.merge_commit()
    pick = s.repo.branch("pick").create("dev")
    return lambda: pick.cherry_pick(merge), (merge,)


def parent_out_of_range(s: Scene) -> Provoked:
    merge = s.merge_commit()
    pick = s.repo.branch("pick").create("dev")
    return lambda: pick.cherry_pick(merge, parent_number=3), (merge,)


def revert_staging_area(s: Scene) -> Provoked:
    return lambda: s.main.revert("main$"), ("main$",)


def merge_staging_area(s: Scene) -> Provoked:
    s.dev()
    return lambda: s.repo.ref("dev$").merge_into(s.main), ("dev$",)


def branch_from_staging_area(s: Scene) -> Provoked:
    return lambda: s.repo.branch("dev").create("main$"), ("main$",)


def tag_staging_area(s: Scene) -> Provoked:
    return lambda: s.repo.tag("v1").create("main$"), ("main$",)


def metarange_onto_dirty_branch(s: Scene) -> Provoked:
    tree = s.main.get_commit().meta_range_id
    s.put("main", "uncommitted.txt", b"u")
    commits = lakefs_sdk.CommitsApi(s.sdk)
    creation = lakefs_sdk.CommitCreation(message="from a metarange")
    return lambda: commits.commit(s.name, "main", creation, source_metarange=tree), ("main",)


def invalid_ref(s: Scene) -> Provoked:
    return lambda: s.repo.ref("main^^x").get_commit(), ("main^^x",)


def missing_second_parent(s: Scene) -> Provoked:
    return lambda: s.repo.ref("main^2").get_commit(), ("main^2",)


def invalid_branch_id(s: Scene) -> Provoked:
    return lambda: s.repo.branch("not a name").create("main"), ("not a name",)


def invalid_tag_id(s: Scene) -> Provoked:
    return lambda: s.repo.tag("v..1").create("main"), ("v..1",)


def invalid_repository_id(s: Scene) -> Provoked:
    # Both clients check repository names themselves: sent as plain HTTP.
    body = {"name": "Not_A_Name", "storage_namespace": s.server.namespace("x")}

    def create() -> None:
        with s.server.http() as http:
            response = http.post("/repositories", json=body)
        raise ServerException(response.status_code, response.reason_phrase, response.content)

    return create, ("Not_A_Name",)


def tag_named_like_a_branch(s: Scene) -> Provoked:
    s.repo.branch("dev").create("main")
    return lambda: s.repo.tag("dev").create("main"), ("dev",)


def branch_named_like_a_tag(s: Scene) -> Provoked:
    s.repo.tag("v1").create("main")
    return lambda: s.repo.branch("v1").create("main"), ("v1",)


def invalid_merge_strategy(s: Scene) -> Provoked:
    s.dev()
    return lambda: s.repo.ref("dev").merge_into(s.main, strategy="mine"), ("mine",)


def link_address_not_handed_out(s: Scene) -> Provoked:
    address = f"{s.server.namespace(s.name)}/data/zz/{'ab' * 16}"
    metadata = lakefs_sdk.StagingMetadata(
        staging=lakefs_sdk.StagingLocation(physical_address=address), checksum="0" * 32, size_bytes=1
    )
    staging = lakefs_sdk.StagingApi(s.sdk)
    return lambda: staging.link_physical_address(s.name, "main", "linked.txt", metadata), (address,)


def existing_path(s: Scene) -> Provoked:
    # The wrapper's exclusive mode looks first and fails on its own: lakefs-sdk asks.
    s.put("main", "taken.txt", b"first")
    second = s.tmp_path / "second"
    second.write_bytes(b"second")
    objects = lakefs_sdk.ObjectsApi(s.sdk)

    def upload() -> object:
        return objects.upload_object(s.name, "main", "taken.txt", if_none_match="*", content=str(second))

    return upload, ("taken.txt",)


@dataclass(frozen=True)
class Case:
    """One error: how to provoke it, its status and lakeFS's words for it."""

    setup: Callable[[Scene], Provoked]
    status: int
    wording: str


CASES = [
    Case(merge_into_dirty_reference, 400, "uncommitted changes (dirty branch)"),
    Case(merge_into_dirty_branch, 400, "uncommitted changes (dirty branch)"),
    Case(existing_tag, 409, "tag already exists"),
    Case(empty_commit, 400, "no changes"),
    Case(empty_merge, 400, "no changes"),
    Case(existing_branch, 409, "branch already exists"),
    Case(existing_repository, 409, "not unique"),
    Case(missing_repository, 404, "repository not found"),
    Case(missing_branch, 404, "branch not found"),
    Case(commit_on_missing_branch, 404, "branch not found"),
    Case(missing_tag, 404, "tag not found"),
    Case(missing_commit, 404, "commit not found"),
    Case(missing_object, 404, "not found"),
    Case(merge_conflict, 409, "conflict found"),
    Case(delete_default_branch, 403, "cannot delete repository default branch"),
    Case(read_only_repository, 403, "read-only repository"),
    Case(revert_merge_without_parent, 409, "must specify 1-based parent number for reverting merge commit"),
    Case(
        cherry_pick_merge_without_parent,
        400,
        "must specify 1-based parent number for cherry-picking merge commit",
    ),
    Case(parent_out_of_range, 400, "given commit does not have the given parent number"),
    Case(revert_staging_area, 400, "reference to staging area with $ is not a commit"),
    Case(merge_staging_area, 400, "reference to staging area with $ is not a commit"),
    Case(branch_from_staging_area, 400, "can't create a branch without commit"),
    Case(tag_staging_area, 400, "ref: invalid value: validation error"),
    Case(
        metarange_onto_dirty_branch, 400, "cannot use source MetaRange on a branch with uncommitted changes"
    ),
    Case(invalid_ref, 400, "ref: invalid value: validation error"),
    Case(missing_second_parent, 400, "ref: invalid value: validation error"),
    Case(invalid_branch_id, 400, "branch id: invalid value: validation error"),
    Case(invalid_tag_id, 400, "tag id: invalid value: validation error"),
    Case(invalid_repository_id, 400, "repository id: invalid value: validation error"),
    Case(tag_named_like_a_branch, 409, "conflict found"),
    Case(branch_named_like_a_tag, 409, "conflict found"),
    Case(invalid_merge_strategy, 400, "invalid merge strategy"),
    Case(link_address_not_handed_out, 400, "link address invalid"),
    Case(existing_path, 412, "path already exists"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.setup.__name__ for case in CASES])
def test_errors_carry_lakefs_wording_and_the_names_involved(
    case: Case, server: Server, client: lakefs.Client, sdk: lakefs_sdk.ApiClient, repo: str, tmp_path: Path
) -> None:
    call, names = case.setup(Scene(server, client, sdk, repo, tmp_path))
    status, message = failure(call)
    assert status == case.status, message
    assert case.wording in message
    for name in names:
        assert name in message
