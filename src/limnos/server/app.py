"""The application each worker process serves, built from the configuration the parent
resolved, so every worker sees the same."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from limnos.api.app import create_app
from limnos.config import Config, from_json, to_json
from limnos.gateway.app import Gateway
from limnos.server.access_log import RequestLog
from limnos.server.front_door import FrontDoor
from limnos.server.logs import audit_level, configure_logging
from limnos.server.services import build


class AppFactory:
    """Builds the application from the parent's resolved configuration.

    Uvicorn calls it (``factory=True``) in the process that serves. The configuration,
    secrets included, travels inside this object: pickled with uvicorn's configuration
    through the pipe that starts each spawned worker, or kept in memory when the parent
    serves alone. It is never put in an environment, which every child inherits and
    ``/proc/<pid>/environ`` shows.
    """

    def __init__(self, config: Config) -> None:
        self._config = to_json(config)

    def __call__(self) -> Callable[..., Awaitable[None]]:
        config = from_json(self._config)
        configure_logging(config)
        services = build(config)
        api = create_app(services.catalog, services.auth, services.config)
        front_door = FrontDoor(api, Gateway(services.catalog, services.auth, services.config))
        return RequestLog(front_door, audit_level(config))
