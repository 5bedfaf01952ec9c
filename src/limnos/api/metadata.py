"""Repository metadata, and the storage locations of ranges and metaranges."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import catalog, json_response, no_content, read_json


class RepositoryMetadataSet(msgspec.Struct, forbid_unknown_fields=False):
    metadata: dict[str, str]


class RepositoryMetadataKeys(msgspec.Struct, forbid_unknown_fields=False):
    keys: list[str]


async def get_repository_metadata(request: Request) -> Response:
    return json_response(catalog(request).repositories.metadata(request.path_params["repository"]))


async def set_repository_metadata(request: Request) -> Response:
    body = await read_json(request, RepositoryMetadataSet)
    catalog(request).repositories.set_metadata(request.path_params["repository"], body.metadata)
    return no_content()


async def delete_repository_metadata(request: Request) -> Response:
    body = await read_json(request, RepositoryMetadataKeys)
    catalog(request).repositories.delete_metadata(request.path_params["repository"], body.keys)
    return no_content()


def _location_response(location: str) -> Response:
    """The contract's StorageURI, with the same URI in the Location header."""
    return json_response({"location": location}, headers={"Location": location})


async def get_meta_range(request: Request) -> Response:
    repositories = catalog(request).repositories
    location = await repositories.metarange_location(
        request.path_params["repository"], request.path_params["meta_range"]
    )
    return _location_response(location)


async def get_range(request: Request) -> Response:
    repositories = catalog(request).repositories
    location = await repositories.range_location(
        request.path_params["repository"], request.path_params["range"]
    )
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
