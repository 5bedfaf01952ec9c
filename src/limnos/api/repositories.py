"""Repositories: list, create, get, delete."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import (
    catalog,
    current_user,
    json_response,
    no_content,
    page_amount,
    paginated,
    query_bool,
    query_str,
    read_json,
)
from limnos.catalog.results import Repository


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
    page = catalog(request).repositories.list(
        prefix=query_str(request, "prefix"),
        after=query_str(request, "after"),
        search=query_str(request, "search"),
        amount=page_amount(request),
    )
    results = [repository_body(repo) for repo in page.items]
    return json_response(paginated(results, page.has_more, results[-1]["id"] if results else ""))


async def create_repository(request: Request) -> Response:
    body = await read_json(request, RepositoryCreation)
    repo = catalog(request).repositories.create(
        body.name,
        body.storage_namespace,
        body.default_branch,
        sample_data=body.sample_data,
        bare=query_bool(request, "bare"),
        read_only=body.read_only,
        storage_id=body.storage_id,
        committer=current_user(request).username,
    )
    return json_response(repository_body(repo), 201)


async def get_repository(request: Request) -> Response:
    return json_response(
        repository_body(catalog(request).repositories.get(request.path_params["repository"]))
    )


async def delete_repository(request: Request) -> Response:
    force = query_bool(request, "force")
    catalog(request).repositories.delete(request.path_params["repository"], force=force)
    return no_content()


routes = [
    Route("/repositories", list_repositories, methods=["GET"]),
    Route("/repositories", create_repository, methods=["POST"]),
    Route("/repositories/{repository}", get_repository, methods=["GET"]),
    Route("/repositories/{repository}", delete_repository, methods=["DELETE"]),
]
