"""The application each worker process serves, built from the configuration the parent
resolved (passed in the environment, so every worker sees the same)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from limnos.api.app import create_app
from limnos.config import Config, from_json, to_json
from limnos.gateway.app import Gateway
from limnos.server.access_log import RequestLog
from limnos.server.front_door import FrontDoor
from limnos.server.logs import audit_level, configure_logging
from limnos.server.services import build

CONFIG_ENV = "LIMNOS_RESOLVED_CONFIG"


def export_config(config: Config) -> None:
    """Put the resolved configuration where :func:`app_from_env` finds it."""
    os.environ[CONFIG_ENV] = to_json(config)


def app_from_env() -> Callable[..., Awaitable[None]]:
    """Application factory for worker processes: the configuration comes from the parent."""
    config = from_json(os.environ[CONFIG_ENV])
    configure_logging(config)
    services = build(config)
    api = create_app(services.catalog, services.auth, services.config)
    front_door = FrontDoor(api, Gateway(services.catalog, services.auth, services.config))
    return RequestLog(front_door, audit_level(config))
