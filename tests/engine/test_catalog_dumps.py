"""Dumps and restores through a real catalog (SQLite metadata, in-memory blockstore): the
task status any process reads from the metadata store, and restores of dumps that do not
hold together, which must fail before any tag or branch is written."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from catalog_env import CatalogEnv

from limnos.catalog import Catalog, dumps, tasks
from limnos.catalog.results import TaskState
from limnos.errors import Invalid, NotFound
from limnos.graveler.dump import DumpedBranch, RefsDump
from limnos.graveler.engine import Graveler
from limnos.graveler.model import Commit, Repository, Tag, encode
from limnos.kv.sqlite import SQLiteStore

REPO = "dumped"
NAMESPACE = f"mem://{REPO}"


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[CatalogEnv]:
    env = CatalogEnv(tmp_path)
    env.catalog.repositories.create(REPO, NAMESPACE)
    yield env
    env.close()


def repository(env: CatalogEnv) -> Repository:
    return env.graveler.get_repository(REPO)


def wait(status: Callable[[], TaskState]) -> TaskState:
    deadline = time.monotonic() + 60
    while True:
        state = status()
        if state.done:
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.01)


def history(env: CatalogEnv) -> dict[str, str]:
    """Two commits on two branches and a tag; the refs."""
    g, repo = env.graveler, repository(env)
    g.set(repo, "main", "a", b"1")
    first = g.commit(repo, "main", committer="me", message="first")
    g.create_branch(repo, "dev", "main")
    g.set(repo, "dev", "b", b"2")
    second = g.commit(repo, "dev", committer="me", message="second")
    g.create_tag(repo, "v1", "dev")
    return {"main": first, "dev": second, "v1": second}


def refs(env: CatalogEnv) -> dict[str, str]:
    g, repo = env.graveler, repository(env)
    found = {name: b.commit_id for name, b in g.list_branches(repo)}
    found.update({name: t.commit_id for name, t in g.list_tags(repo)})
    return found


def bare_again(env: CatalogEnv) -> None:
    env.catalog.repositories.delete(REPO)
    env.catalog.repositories.create(REPO, NAMESPACE, bare=True)


def test_task_status_is_read_from_the_metadata_store(env: CatalogEnv, tmp_path: Path) -> None:
    expected = history(env)
    task = env.catalog.dumps.start_dump(REPO)
    dumped = wait(lambda: env.catalog.dumps.dump_status(REPO, task))
    assert dumped.error == "" and dumped.refs is not None

    # Another process: its own connection to the same database, its own catalog.
    kv = SQLiteStore(tmp_path / "metadata.db")
    other = Catalog(kv, Graveler(kv, env.block, env.committed), env.block, import_enabled=False)
    try:
        seen = other.dumps.dump_status(REPO, task)
        assert (seen.id, seen.done, seen.refs, seen.update_time) == (
            task,
            True,
            dumped.refs,
            dumped.update_time,
        )
        bare_again(env)
        restore = env.run(env.catalog.dumps.start_restore(REPO, dumped.refs))
        assert wait(lambda: other.dumps.restore_status(REPO, restore)).error == ""
        assert refs(env) == expected
        with pytest.raises(NotFound):
            other.dumps.dump_status(REPO, restore)  # a restore's id is no dump's
        with pytest.raises(NotFound):
            other.dumps.dump_status(REPO, task)  # the tasks of a deleted repository went with it
    finally:
        kv.close()


def test_a_task_whose_process_ended_is_reported_done_with_an_error(env: CatalogEnv) -> None:
    records = tasks.TaskRecords(env.kv, dumps.PARTITION, dumps._Record)
    now = time.time()
    records.create(repository(env), dumps._Record(id="alive", update_time=now - 1, kind="restore"))
    records.create(
        repository(env), dumps._Record(id="dead", update_time=now - tasks.STALE_SECONDS - 1, kind="restore")
    )
    alive = env.catalog.dumps.restore_status(REPO, "alive")
    assert not alive.done and alive.error == ""
    dead = env.catalog.dumps.restore_status(REPO, "dead")
    assert dead.done and "process" in dead.error


# dumps that do not hold together ---------------------------------------------------------------


def craft(env: CatalogEnv, entries: dict[str, bytes]) -> str:
    """A tree of the repository's namespace holding ``entries``."""
    return env.graveler.write_tree(repository(env), sorted(entries.items()))


def commit_record(tree: str, *parents: str, message: str = "m") -> Commit:
    return Commit(tree, parents, "me", message, 1, (), len(parents) + 1)


def crafted_dump(
    env: CatalogEnv,
    commits: list[Commit],
    *,
    tags: dict[str, str] | None = None,
    branches: dict[str, str] | None = None,
    ids: dict[str, Commit] | None = None,
) -> RefsDump:
    """A dump of ``commits`` (under their own ids, or those of ``ids``), ``tags`` and
    ``branches`` (name -> commit id)."""
    records = {c.compute_id(): c.encode() for c in commits}
    records.update({cid: c.encode() for cid, c in (ids or {}).items()})
    return RefsDump(
        commits_meta_range_id=craft(env, records),
        tags_meta_range_id=craft(env, {n: encode(Tag(cid, 1)) for n, cid in (tags or {}).items()}),
        branches_meta_range_id=craft(
            env, {n: encode(DumpedBranch(cid)) for n, cid in (branches or {}).items()}
        ),
    )


def refused(env: CatalogEnv, dump: RefsDump, *words: str) -> None:
    """The restore fails, naming ``words``, both ways, and leaves no ref behind."""
    with pytest.raises(Invalid) as raised:
        env.run(env.catalog.dumps.restore(REPO, dump))
    for word in words:
        assert word in str(raised.value)
    task = env.run(env.catalog.dumps.start_restore(REPO, dump))
    state = wait(lambda: env.catalog.dumps.restore_status(REPO, task))
    for word in words:
        assert word in state.error
    assert refs(env) == {}


def test_restores_of_dumps_that_do_not_hold_together_write_no_ref(env: CatalogEnv) -> None:
    bare_again(env)
    tree = env.graveler.committed.empty_tree(NAMESPACE)
    root = commit_record(tree)
    child = commit_record(tree, root.compute_id())
    root_id, child_id = root.compute_id(), child.compute_id()
    good = {"main": child_id}

    tampered = commit_record(tree, message="not what the id says")
    refused(
        env,
        crafted_dump(env, [root], ids={child_id: tampered}, branches=good),
        "invalid commit id",
        child_id,
    )
    refused(env, crafted_dump(env, [child], branches={"main": child_id}), "commit not found", root_id)
    refused(
        env,
        crafted_dump(env, [root, child], branches=good, tags={"v1": "f" * 64}),
        "commit not found",
        "'v1'",
    )
    refused(env, crafted_dump(env, [root, child], branches={"main": "e" * 64}), "commit not found", "'main'")
    refused(env, crafted_dump(env, [root, child], branches={"dev": child_id}), "branch not found", "'main'")
    refused(env, crafted_dump(env, [root, child], branches={**good, "bad name": root_id}), "'bad name'")

    # What was refused left commits (that nothing names) but no ref: the good dump needs no force.
    env.run(
        env.catalog.dumps.restore(REPO, crafted_dump(env, [root, child], branches=good, tags={"v1": root_id}))
    )
    assert refs(env) == {"main": child_id, "v1": root_id}
    assert env.graveler.get_commit(repository(env), child_id).parents == (root_id,)
