"""Health, version and configuration of the server."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos import __version__
from limnos.api.common import catalog, json_response, no_content

_NAMESPACE_EXAMPLES = {
    "local": ("local://path/to/repo", "^local://"),
    "mem": ("mem://bucket/path", "^mem://"),
    "s3": ("s3://bucket/path", "^s3://"),
}


def storage_config(request: Request) -> dict[str, Any]:
    """The contract's StorageConfig of this server's blockstore."""
    storage = catalog(request).storage()
    kind = storage.blockstore_type
    example, regex = _NAMESPACE_EXAMPLES.get(kind, ("", ".*"))
    return {
        "blockstore_type": kind,
        "blockstore_namespace_example": example,
        "blockstore_namespace_ValidityRegex": regex,
        "default_namespace_prefix": storage.default_namespace_prefix,
        "pre_sign_support": storage.presign_enabled,
        "pre_sign_support_ui": False,
        "import_support": storage.import_enabled,
        "import_validity_regex": regex,
        "pre_sign_multipart_upload": storage.presign_enabled,
        "blockstore_id": "",
        "blockstore_description": "",
    }


# The lakeFS release whose API Limnos answers as (the oldest lakefs-sdk line its tests
# take). Clients compare ``version`` with lakeFS releases to know what the server can do
# (lakefs-spec's touch() wants 1.3.1 or later), so it must be a lakeFS number; Limnos's
# own version goes in ``version_context``.
LAKEFS_API_VERSION = "1.50.0"


def version_config() -> dict[str, Any]:
    """The contract's VersionConfig."""
    return {
        "version": LAKEFS_API_VERSION,
        "version_context": f"limnos {__version__}",
        "upgrade_recommended": False,
    }


async def health_check(request: Request) -> Response:
    return no_content()


async def get_config(request: Request) -> Response:
    storage = storage_config(request)
    return json_response(
        {
            "version_config": version_config(),
            "storage_config": storage,
            "storage_config_list": [storage],
            "ui_config": {"custom_viewers": []},
            "capabilities_config": {},
        }
    )


async def get_storage_config(request: Request) -> Response:
    return json_response(storage_config(request))


async def get_version(request: Request) -> Response:
    return json_response(version_config())


routes = [
    Route("/healthcheck", health_check, methods=["GET"]),
    Route("/config", get_config, methods=["GET"]),
    Route("/config/storage", get_storage_config, methods=["GET"]),
    Route("/config/version", get_version, methods=["GET"]),
]
