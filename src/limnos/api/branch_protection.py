"""Branch protection rules: the settings endpoint (versioned by an ETag, replaced under
If-Match) and the deprecated internal endpoints that add and remove one rule."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import catalog, json_response, no_content, read_json


class BranchProtectionRule(msgspec.Struct, forbid_unknown_fields=False):
    pattern: str


async def get_branch_protection_rules(request: Request) -> Response:
    """getBranchProtectionRules (and the internal listing): the patterns, and the ETag that
    a conditional replacement names."""
    rules = catalog(request).branch_protection.rules(request.path_params["repository"])
    body = [{"pattern": pattern} for pattern in rules.patterns]
    return json_response(body, headers={"ETag": rules.etag})


async def set_branch_protection_rules(request: Request) -> Response:
    """setBranchProtectionRules: replace every rule; with If-Match, only at that ETag."""
    body = await read_json(request, list[BranchProtectionRule])
    await catalog(request).branch_protection.replace(
        request.path_params["repository"],
        [rule.pattern for rule in body],
        if_match=request.headers.get("if-match"),
    )
    return no_content()


async def create_branch_protection_rule(request: Request) -> Response:
    """internalCreateBranchProtectionRule: add one rule."""
    body = await read_json(request, BranchProtectionRule)
    await catalog(request).branch_protection.add(request.path_params["repository"], body.pattern)
    return no_content()


async def delete_branch_protection_rule(request: Request) -> Response:
    """internalDeleteBranchProtectionRule: remove one rule (404 when there is none such)."""
    body = await read_json(request, BranchProtectionRule)
    await catalog(request).branch_protection.remove(request.path_params["repository"], body.pattern)
    return no_content()


async def create_branch_protection_rule_preflight(request: Request) -> Response:
    """createBranchProtectionRulePreflight: 204 when the caller may change the rules."""
    catalog(request).branch_protection.check_allowed(request.path_params["repository"])
    return no_content()


_SETTINGS = "/repositories/{repository}/settings/branch_protection"
_INTERNAL = "/repositories/{repository}/branch_protection"

routes = [
    Route(_SETTINGS, get_branch_protection_rules, methods=["GET"]),
    Route(_SETTINGS, set_branch_protection_rules, methods=["PUT"]),
    Route(_INTERNAL, get_branch_protection_rules, methods=["GET"]),
    Route(_INTERNAL, create_branch_protection_rule, methods=["POST"]),
    Route(_INTERNAL, delete_branch_protection_rule, methods=["DELETE"]),
    Route(_INTERNAL + "/set_allowed", create_branch_protection_rule_preflight, methods=["GET"]),
]
