"""The application each worker process serves, built from the configuration the parent
resolved (passed in the environment, so every worker sees the same)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import msgspec

from limnos import config as config_module
from limnos.api.app import create_app
from limnos.server.services import build

CONFIG_ENV = "LIMNOS_RESOLVED_CONFIG"


def export_config(config: config_module.Config) -> None:
    """Put the resolved configuration where :func:`app_from_env` finds it."""
    os.environ[CONFIG_ENV] = msgspec.json.encode(
        {"values": config.values, "quickstart": config.quickstart}
    ).decode()


def app_from_env() -> Callable[..., Awaitable[None]]:
    """Application factory for worker processes: the configuration comes from the parent."""
    values = msgspec.json.decode(os.environ[CONFIG_ENV].encode())
    config = config_module.Config(values=values["values"], quickstart=values["quickstart"])
    services = build(config)
    return create_app(services.catalog, services.auth, config)
