"""First-start work done once, in the parent process, before workers serve requests."""

from __future__ import annotations

from limnos.api.services import build
from limnos.auth import AlreadyExistsError
from limnos.config import Config
from limnos.graveler.errors import GravelerError, NotFoundError

QUICKSTART_REPOSITORY = "quickstart"


def bootstrap(config: Config) -> None:
    """Create the admin named by ``installation.*`` and, for quickstart, the sample repository."""
    services = build(config)
    try:
        user = config["installation.user_name"]
        if user and not services.auth.is_setup_done():
            try:
                services.auth.setup(
                    user,
                    config["installation.access_key_id"] or None,
                    config["installation.secret_access_key"] or None,
                )
            except AlreadyExistsError:
                pass  # another process set it up first
        if config.quickstart:
            try:
                services.graveler.get_repository(QUICKSTART_REPOSITORY)
            except NotFoundError:
                try:
                    services.catalog.create_repository(
                        QUICKSTART_REPOSITORY,
                        f"local://{QUICKSTART_REPOSITORY}",
                        "main",
                        sample_data=True,
                        committer=user,
                    )
                except GravelerError:
                    # Another server starting beside this one created it first.
                    services.graveler.get_repository(QUICKSTART_REPOSITORY)
    finally:
        services.close()
