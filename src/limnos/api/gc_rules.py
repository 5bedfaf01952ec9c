"""GC rules of a repository: the settings endpoint and the deprecated internal one."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import catalog, json_response, no_content, read_json


class GarbageCollectionRule(msgspec.Struct, forbid_unknown_fields=False):
    branch_id: str
    retention_days: int


class GarbageCollectionRules(msgspec.Struct, forbid_unknown_fields=False):
    default_retention_days: int
    branches: list[GarbageCollectionRule]


async def get_gc_rules(request: Request) -> Response:
    """getGCRules: the rules (404 while none are set)."""
    rules = catalog(request).gc_rules.get(request.path_params["repository"])
    branches = [{"branch_id": branch, "retention_days": days} for branch, days in rules.branches.items()]
    return json_response({"default_retention_days": rules.default_retention_days, "branches": branches})


async def set_gc_rules(request: Request) -> Response:
    """setGCRules: replace the rules."""
    body = await read_json(request, GarbageCollectionRules)
    await catalog(request).gc_rules.set(
        request.path_params["repository"],
        body.default_retention_days,
        [(rule.branch_id, rule.retention_days) for rule in body.branches],
    )
    return no_content()


async def delete_gc_rules(request: Request) -> Response:
    """deleteGCRules: remove the rules (none set is no error)."""
    await catalog(request).gc_rules.delete(request.path_params["repository"])
    return no_content()


async def set_gc_rules_preflight(request: Request) -> Response:
    """setGarbageCollectionRulesPreflight: 204 when the caller may change the rules."""
    catalog(request).gc_rules.check_allowed(request.path_params["repository"])
    return no_content()


_SETTINGS = "/repositories/{repository}/settings/gc_rules"
_INTERNAL = "/repositories/{repository}/gc/rules"

routes = [
    Route(_SETTINGS, get_gc_rules, methods=["GET"]),
    Route(_SETTINGS, set_gc_rules, methods=["PUT"]),
    Route(_SETTINGS, delete_gc_rules, methods=["DELETE"]),
    Route(_INTERNAL, get_gc_rules, methods=["GET"]),
    Route(_INTERNAL, set_gc_rules, methods=["POST"]),
    Route(_INTERNAL, delete_gc_rules, methods=["DELETE"]),
    Route(_INTERNAL + "/set_allowed", set_gc_rules_preflight, methods=["GET"]),
]
