"""The lakeFS operationId of each route of the API (the name metrics and logs use).

A route's handler is named for its operationId (``list_repositories`` is
``listRepositories``); the table below holds the routes where that is not so: handlers
that serve two operations (the public and the ``internal`` paths of one setting), and
operationIds that are not good Python names.
"""

from __future__ import annotations

from starlette.routing import Route

_NAMED_OTHERWISE = {
    ("POST", "/repositories/{repository}/branches/{branch}/commits"): "commit",
    ("GET", "/repositories/{repository}/branch_protection"): "internalGetBranchProtectionRules",
    ("POST", "/repositories/{repository}/branch_protection"): "internalCreateBranchProtectionRule",
    ("DELETE", "/repositories/{repository}/branch_protection"): "internalDeleteBranchProtectionRule",
    ("GET", "/repositories/{repository}/settings/gc_rules"): "getGCRules",
    ("PUT", "/repositories/{repository}/settings/gc_rules"): "setGCRules",
    ("DELETE", "/repositories/{repository}/settings/gc_rules"): "deleteGCRules",
    ("GET", "/repositories/{repository}/gc/rules"): "internalGetGarbageCollectionRules",
    ("POST", "/repositories/{repository}/gc/rules"): "internalSetGarbageCollectionRules",
    ("DELETE", "/repositories/{repository}/gc/rules"): "internalDeleteGarbageCollectionRules",
    ("GET", "/repositories/{repository}/gc/rules/set_allowed"): "setGarbageCollectionRulesPreflight",
    ("GET", "/config/version"): "getLakeFSVersion",
    ("HEAD", "/repositories/{repository}/refs/{ref:path}/objects"): "headObject",
}


def operation_id(method: str, route: Route) -> str:
    """The operationId of ``method`` on ``route`` (HEAD is GET's, but for headObject)."""
    named = _NAMED_OTHERWISE.get((method, route.path))
    if named is None and method == "HEAD":
        named = _NAMED_OTHERWISE.get(("GET", route.path))
    if named is not None:
        return named
    first, *rest = route.name.split("_")
    return first + "".join(word.title() for word in rest)
