"""docs/api.md's lists of served and unserved operations are the router's: an operation of
lakeFS's API v1 contract is served when a route of the REST API's Starlette router takes
its method and path. The contract's operations are kept beside this test
(``lakefs_api_operations.tsv``), checked against the contract itself where it is at hand."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from starlette.routing import Match, Route

from limnos.api.app import api_routes

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
OPERATIONS = Path(__file__).with_name("lakefs_api_operations.tsv")
CONTRACT = Path(os.environ.get("LIMNOS_API_CONTRACT", "/work/shared/reference/lakefs-api-v1.yml"))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def contract_operations() -> dict[str, tuple[str, str]]:
    """operationId -> (method, path) of every operation of the contract."""
    operations: dict[str, tuple[str, str]] = {}
    for line in OPERATIONS.read_text().splitlines():
        if line and not line.startswith("#"):
            operation, method, path = line.split("\t")
            operations[operation] = (method, path)
    return operations


def test_the_operations_are_the_contracts() -> None:
    if not CONTRACT.exists():
        pytest.skip(f"the API contract is not at {CONTRACT} (LIMNOS_API_CONTRACT names it)")
    spec = yaml.safe_load(CONTRACT.read_text())
    assert contract_operations() == {
        operation["operationId"]: (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def served(method: str, path: str) -> bool:
    """Whether a route of the REST API takes ``method`` on ``path`` (a contract path, each
    parameter replaced by a sample value)."""
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    scope = {"type": "http", "method": method, "path": concrete, "root_path": ""}
    matches = [route for route in api_routes() if route.matches(scope)[0] == Match.FULL]
    template = re.sub(r"\{[^}]+\}", "{}", path)
    # the route that takes it is the operation's own, not another that happens to match
    assert all(isinstance(r, Route) and re.sub(r"\{[^}]+\}", "{}", r.path) == template for r in matches), (
        method,
        path,
        [getattr(r, "path", r) for r in matches],
    )
    return bool(matches)


def documented(section: str) -> set[str]:
    """The operation ids named in the right-hand column of a section's table of docs/api.md
    (parenthesised notes left out)."""
    text = DOC.read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in re.findall(r"^\|[^|]+\|(.+)\|$", text, re.M):
        if set(row.strip()) <= {"-"} or row.strip() == "operations":  # the table's head
            continue
        row = re.sub(r"\([^)]*\)", "", row)
        names |= {name.strip().split()[-1] for name in row.replace(";", ",").split(",") if name.strip()}
    return names


def test_the_served_list_is_the_router() -> None:
    operations = contract_operations()
    serving = {op for op, (method, path) in operations.items() if served(method, path)}
    assert serving, "no operation of the contract is served"
    listed = documented("Served operations")
    assert sorted(listed - serving) == [], "docs/api.md lists as served operations the router does not take"
    assert sorted(serving - listed) == [], "docs/api.md does not list operations the router serves"


def test_the_unserved_list_is_the_contract_minus_the_router() -> None:
    operations = contract_operations()
    unserved = {op for op, (method, path) in operations.items() if not served(method, path)}
    listed = documented("Not served yet")
    assert sorted(listed - unserved) == [], "docs/api.md lists as not served operations that are served"
    assert sorted(unserved - listed) == [], "docs/api.md does not list operations that are not served"
