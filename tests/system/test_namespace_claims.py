"""One storage namespace, one repository: however a namespace is spelled, whichever
server is asked, and however many creates race, no two repositories share a path of
storage (the same namespace, or one inside another's)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Backend, Server, assert_error, free_port, started
from helpers import client

ROUNDS = 6


@pytest.fixture()
def pair(tmp_path: Path, backend: Backend) -> Iterator[tuple[Server, Server]]:
    """Two servers over one store: one data directory (local), or one PostgreSQL database
    and one bucket (postgres-s3)."""
    local = backend.blockstore_type == "local"
    first = Server(tmp_path / "first", free_port(), backend=backend)
    second = Server(tmp_path / ("first" if local else "second"), free_port(), backend=backend)
    with started(first, second):
        yield first, second


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def namespace(server: Server, path: str) -> str:
    return f"{server.backend.namespace_prefix}{path}"


def create(http: httpx.Client, name: str, storage_namespace: str) -> httpx.Response:
    return http.post("/repositories", json={"name": name, "storage_namespace": storage_namespace})


def race(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run ``calls`` at once, one thread each; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def spellings(server: Server, path: str) -> list[str]:
    """Three ways of writing one namespace."""
    if server.backend.blockstore_type == "local":
        return [f"local://{path}", f"local://./{path}", f"local://{path}/."]
    prefix = server.backend.default_namespace_prefix
    return [f"{prefix}/{path}", f"{prefix}/{path}/", f"{prefix}//{path}"]


def test_concurrent_spellings_of_one_namespace_make_one_repository(pair: tuple[Server, Server]) -> None:
    first, second = pair
    with client(first) as one, client(second) as two:
        for _ in range(ROUNDS):
            path = unique("same")
            https = [one, two, one]
            names = [unique("spelled") for _ in https]
            answers = race(
                [
                    (lambda h=h, n=n, ns=ns: create(h, n, ns))
                    for h, n, ns in zip(https, names, spellings(first, path), strict=True)
                ]
            )
            statuses = sorted(a.status_code for a in answers)
            assert statuses.count(201) == 1, [a.text for a in answers]
            assert all(s in (400, 409) for s in statuses if s != 201), [a.text for a in answers]
            listed = {r["id"] for r in one.get("/repositories", params={"amount": 1000}).json()["results"]}
            assert len(listed & set(names)) == 1


def test_a_namespace_inside_another_repositorys_is_refused(pair: tuple[Server, Server]) -> None:
    first, second = pair
    outer = namespace(first, unique("outer"))
    with client(first) as one, client(second) as two:
        assert create(one, unique("holder"), outer).status_code == 201
        for http in (one, two):
            inside = create(http, unique("inside"), f"{outer}/data")
            assert_error(inside, 400, outer, "in use")
            deeper = create(http, unique("deeper"), f"{outer}//data/more/")
            assert_error(deeper, 400, outer)


def test_a_namespace_holding_another_repositorys_is_refused(pair: tuple[Server, Server]) -> None:
    first, second = pair
    parent = namespace(first, unique("parent"))
    held = f"{parent}/child/leaf"
    with client(first) as one, client(second) as two:
        assert create(one, unique("leaf"), held).status_code == 201
        for http in (one, two):
            assert_error(create(http, unique("parent"), parent), 400, held, "in use")
            assert_error(create(http, unique("middle"), f"{parent}/child/"), 400, held)
        # A sibling shares no path with it.
        assert create(two, unique("sibling"), f"{parent}/child2").status_code == 201


def test_the_quickstart_namespace_holds_no_second_repository(tmp_path: Path) -> None:
    server = Server(
        tmp_path,
        free_port(),
        extra_env={
            "LAKEFS_INSTALLATION_USER_NAME": "",
            "LAKEFS_INSTALLATION_ACCESS_KEY_ID": "",
            "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": "",
        },
    )
    server.start("--quickstart")
    try:
        from limnos.config import QUICKSTART_ACCESS_KEY_ID, QUICKSTART_SECRET_ACCESS_KEY

        auth = (QUICKSTART_ACCESS_KEY_ID, QUICKSTART_SECRET_ACCESS_KEY)
        with httpx.Client(base_url=server.api, auth=auth, timeout=60) as http:
            answer = create(http, "inside-quickstart", "local://quickstart/data")
            assert_error(answer, 400, "local://quickstart", "quickstart")
    finally:
        server.stop()


def test_concurrent_nested_namespaces_never_both_win(pair: tuple[Server, Server]) -> None:
    first, second = pair
    with client(first) as one, client(second) as two:
        for round_ in range(ROUNDS * 2):
            outer = namespace(first, unique("nest"))
            inner = f"{outer}/inner"
            order = [(one, outer), (two, inner)] if round_ % 2 else [(one, inner), (two, outer)]
            answers = race([(lambda h=h, ns=ns: create(h, unique("nested"), ns)) for h, ns in order])
            statuses = [a.status_code for a in answers]
            assert statuses.count(201) <= 1, [a.text for a in answers]
            assert all(s in (201, 400, 409) for s in statuses), [a.text for a in answers]


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x7fb", "a\x1bb"])
def test_a_namespace_with_a_control_character_is_refused(
    server: Server, http: httpx.Client, bad: str
) -> None:
    name = unique("control")
    answer = create(http, name, namespace(server, unique(bad)))
    assert_error(answer, 400, "control character")
    assert http.get(f"/repositories/{name}").status_code == 404
