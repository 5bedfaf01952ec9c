"""Repository metadata, and the storage locations of ranges and metaranges."""

from __future__ import annotations

import re

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import (
    ApiError,
    json_response,
    no_content,
    read_json,
    repository,
    services,
)
from limnos.api.threads import run_blocking
from limnos.block.adapter import ObjectNotFoundError, join_uri
from limnos.graveler.committed import CommittedStore
from limnos.graveler.committed.rangefile import CorruptObjectError

# Range and metarange ids are SHA-256 digests; anything else names no stored object.
_OBJECT_ID = re.compile(r"[0-9a-f]{64}")


class RepositoryMetadataSet(msgspec.Struct, forbid_unknown_fields=False):
    metadata: dict[str, str]


class RepositoryMetadataKeys(msgspec.Struct, forbid_unknown_fields=False):
    keys: list[str]


async def get_repository_metadata(request: Request) -> Response:
    return json_response(dict(repository(request).metadata))


async def set_repository_metadata(request: Request) -> Response:
    body = await read_json(request, RepositoryMetadataSet)
    repo = repository(request)

    def update(current: dict[str, str]) -> dict[str, str]:
        return {**current, **body.metadata}

    services(request).graveler.update_repository_metadata(repo.name, update)
    return no_content()


async def delete_repository_metadata(request: Request) -> Response:
    body = await read_json(request, RepositoryMetadataKeys)
    repo = repository(request)
    doomed = set(body.keys)

    def update(current: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in current.items() if k not in doomed}

    services(request).graveler.update_repository_metadata(repo.name, update)
    return no_content()


def _location_response(location: str) -> Response:
    """The contract's StorageURI, with the same URI in the Location header."""
    return json_response({"location": location}, headers={"Location": location})


async def get_meta_range(request: Request) -> Response:
    repo = repository(request)
    tree_id = request.path_params["meta_range"]
    committed = services(request).graveler.committed
    try:
        await run_blocking(committed.check_stored, repo.storage_namespace, tree_id)
    except (ObjectNotFoundError, CorruptObjectError):
        raise ApiError(404, f"metarange {tree_id!r} not found") from None
    return _location_response(join_uri(repo.storage_namespace, CommittedStore.address(tree_id)))


async def get_range(request: Request) -> Response:
    repo = repository(request)
    range_id = request.path_params["range"]
    location = join_uri(repo.storage_namespace, CommittedStore.address(range_id))
    block = services(request).block
    if not _OBJECT_ID.fullmatch(range_id) or not await run_blocking(block.exists, location):
        raise ApiError(404, f"range {range_id!r} not found")
    return _location_response(location)


routes = [
    Route("/repositories/{repository}/metadata", get_repository_metadata, methods=["GET"]),
    Route("/repositories/{repository}/metadata", set_repository_metadata, methods=["POST"]),
    Route("/repositories/{repository}/metadata", delete_repository_metadata, methods=["DELETE"]),
    Route(
        "/repositories/{repository}/metadata/meta_range/{meta_range}",
        get_meta_range,
        methods=["GET"],
    ),
    Route("/repositories/{repository}/metadata/range/{range}", get_range, methods=["GET"]),
]
