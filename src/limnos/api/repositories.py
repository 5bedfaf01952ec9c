"""Repositories: list, create, get, delete."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import (
    ApiError,
    current_user,
    json_response,
    no_content,
    page_amount,
    paginated,
    query_bool,
    query_str,
    read_json,
    repository,
    services,
    take_page,
)
from limnos.graveler.model import Repository


class RepositoryCreation(msgspec.Struct, forbid_unknown_fields=False):
    name: str
    storage_namespace: str
    default_branch: str = "main"
    sample_data: bool = False
    read_only: bool = False
    storage_id: str | None = None


def repository_body(repo: Repository) -> dict[str, Any]:
    """The contract's Repository object."""
    return {
        "id": repo.name,
        "creation_date": repo.creation_date,
        "default_branch": repo.default_branch,
        "storage_namespace": repo.storage_namespace,
        "read_only": repo.read_only,
        "storage_id": "",
    }


async def list_repositories(request: Request) -> Response:
    amount = page_amount(request)
    prefix = query_str(request, "prefix")
    after = query_str(request, "after")
    search = query_str(request, "search")
    repos = services(request).graveler.list_repositories(start=after, prefix=prefix)
    matching = (repo for repo in repos if not search or search in repo.name)
    page, has_more = take_page(matching, after, amount, lambda repo: repo.name)
    results = [repository_body(repo) for repo in page]
    return json_response(paginated(results, has_more, results[-1]["id"] if results else ""))


async def create_repository(request: Request) -> Response:
    body = await read_json(request, RepositoryCreation)
    if body.storage_id:
        # One blockstore per installation, whose id is empty (lakeFS's single-storage setup).
        raise ApiError(400, f"storage_id {body.storage_id!r} is not a storage of this installation")
    repo = services(request).catalog.create_repository(
        body.name,
        body.storage_namespace,
        body.default_branch or "main",
        sample_data=body.sample_data,
        bare=query_bool(request, "bare"),
        read_only=body.read_only,
        committer=current_user(request).username,
    )
    return json_response(repository_body(repo), 201)


async def get_repository(request: Request) -> Response:
    return json_response(repository_body(repository(request)))


async def delete_repository(request: Request) -> Response:
    force = query_bool(request, "force")
    services(request).graveler.delete_repository(request.path_params["repository"], force=force)
    return no_content()


routes = [
    Route("/repositories", list_repositories, methods=["GET"]),
    Route("/repositories", create_repository, methods=["POST"]),
    Route("/repositories/{repository}", get_repository, methods=["GET"]),
    Route("/repositories/{repository}", delete_repository, methods=["DELETE"]),
]
