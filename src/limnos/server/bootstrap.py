"""First-start work done once, in the parent process, before workers serve requests."""

from __future__ import annotations

from limnos.auth import AlreadyExistsError, AuthError
from limnos.catalog.errors import LimnosError, NotFound
from limnos.config import Config, ConfigError
from limnos.sample import QUICKSTART_REPOSITORY
from limnos.server.services import build


def bootstrap(config: Config) -> bool:
    """Create the admin named by ``installation.*`` and, for quickstart, the sample repository.

    For quickstart, returns whether the ``installation.*`` credentials log in (they may
    not, when the data directory was set up earlier with others); otherwise False.
    Storage that cannot be opened or created, and unusable credentials, raise ConfigError.
    """
    try:
        services = build(config)
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        raise ConfigError(f"cannot use the data directory{where}: {err.strerror or err}") from None
    try:
        user = config.installation.user_name
        key = config.installation.access_key_id
        secret = config.installation.secret_access_key
        if user and not services.auth.is_setup_done():
            try:
                services.auth.setup(user, key, secret)
            except AlreadyExistsError:
                pass  # another process set it up first
            except ValueError as err:
                raise ConfigError(f"configuration keys installation.*: {err}") from None
        if config.quickstart:
            try:
                services.catalog.repositories.get(QUICKSTART_REPOSITORY)
            except NotFound:
                namespace = _quickstart_namespace(services.catalog.storage().default_namespace_prefix, config)
                try:
                    services.catalog.repositories.create(
                        QUICKSTART_REPOSITORY, namespace, "main", sample_data=True, committer=user
                    )
                except LimnosError as err:
                    try:
                        # Another server starting beside this one created it first.
                        services.catalog.repositories.get(QUICKSTART_REPOSITORY)
                    except NotFound:
                        raise ConfigError(
                            f"cannot create the quickstart repository in {namespace}: {err}"
                        ) from None
        if not (user and config.quickstart):
            return False  # only the quickstart banner prints these credentials
        try:
            services.auth.authenticate(key, secret)
        except AuthError:
            return False
        return True
    finally:
        services.close()


def _quickstart_namespace(prefix: str, config: Config) -> str:
    """Where the sample repository goes: under the default namespace prefix of the
    blockstore in use (``local://`` for a local one)."""
    if not prefix:
        raise ConfigError(
            "configuration key blockstore.default_namespace_prefix is required by quickstart "
            f"on the {config.blockstore.type} blockstore (the sample repository goes under it)"
        )
    return (prefix if prefix.endswith("/") else prefix + "/") + QUICKSTART_REPOSITORY
