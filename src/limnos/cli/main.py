"""The ``limnos`` command: ``limnos run`` serves the API, ``limnos setup`` creates the admin."""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit

from limnos import __version__
from limnos.config import Config, ConfigError, forget_environment, load


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="limnos", description="Git for data lakes.")
    parser.add_argument("--version", action="version", version=f"limnos {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="serve the lakeFS-compatible API")
    run.add_argument("--config", "-c", help="YAML configuration file")
    run.add_argument(
        "--quickstart",
        action="store_true",
        help="embedded storage, quickstart credentials and a sample repository",
    )
    run.add_argument("--workers", type=int, help="worker processes (default: one per core)")

    setup = commands.add_parser("setup", help="create the first admin user")
    setup.add_argument("--config", "-c", help="YAML configuration file")
    setup.add_argument("--user-name", required=True)
    setup.add_argument("--access-key-id")
    setup.add_argument("--secret-access-key")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``limnos`` console command."""
    args = _parser().parse_args(argv)
    try:
        config = load(args.config, quickstart=getattr(args, "quickstart", False))
        if args.command == "run":
            return _run(config, args.workers)
        return _setup(config, args.user_name, args.access_key_id, args.secret_access_key)
    except ConfigError as err:
        print(f"limnos: {err}", file=sys.stderr)
        return 2


def _setup(config: Config, user: str, key: str | None, secret: str | None) -> int:
    from limnos.auth import AlreadyExistsError
    from limnos.server.services import build

    services = build(config)
    try:
        creds = services.auth.setup(user, key, secret)
    except AlreadyExistsError:
        print("limnos: this installation is already set up", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"limnos: {err}", file=sys.stderr)
        return 1
    finally:
        services.close()
    print(f"access_key_id: {creds.access_key_id}")
    print(f"secret_access_key: {creds.secret_access_key}")
    return 0


def _run(config: Config, workers: int | None) -> int:
    # The supervisor's own metrics stay in memory, whatever the environment says; its
    # workers get a directory of their own below (prometheus_client reads this at import).
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from limnos.server.app import AppFactory
    from limnos.server.bootstrap import bootstrap
    from limnos.server.logs import configure_logging
    from limnos.server.metrics import multiprocess_dir
    from limnos.server.protocol import HttpLimits, LimitedConfig
    from limnos.server.workers import reserve, run_server, serve

    configure_logging(config)
    host, port = config.listen()
    # The address is taken before anything is written: a start that cannot serve leaves
    # no admin and no repository behind.
    try:
        sock = reserve(host, port)
    except OSError as err:
        print(f"limnos: cannot listen on {host}:{port}: {err.strerror}", file=sys.stderr)
        return 1
    try:
        quickstart_login = bootstrap(config)
    except BaseException:
        sock.close()
        raise
    count = workers if workers is not None else config.workers
    if count <= 0:
        count = os.cpu_count() or 1
    if config.blockstore.type == "mem":
        count = 1  # objects of the mem blockstore live in one process
    # Loaded: the LAKEFS_* variables (secrets among them) are not left for the workers
    # to inherit; they get the configuration from the application factory.
    forget_environment()
    bounds = config.server
    server_config = LimitedConfig(
        AppFactory(config),
        limits=HttpLimits.of(bounds),
        factory=True,
        host=host,
        port=port,
        log_level=config.log_level(),
        # Logging is the server's own (limnos.server.logs), in every process; so is the
        # access log (limnos.server.access_log).
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=bounds.idle_timeout.total_seconds(),
        timeout_graceful_shutdown=bounds.shutdown_timeout.total_seconds(),
    )
    _banner(config, host, port, quickstart_login)
    sock.listen(server_config.backlog)
    if count > 1:
        with multiprocess_dir():
            serve(server_config, sock, count)
    else:
        run_server(server_config, sock)
    return 0


def _banner(config: Config, host: str, port: int, quickstart_login: bool) -> None:
    bracketed = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        # Bound to every interface: say so, and give an address that reaches it here.
        local = "[::1]" if host == "::" else "127.0.0.1"
        lines = [
            f"Limnos {__version__} is listening on {bracketed}:{port} (all interfaces): "
            f"http://{local}:{port}/api/v1"
        ]
    else:
        lines = [f"Limnos {__version__} is listening on http://{bracketed}:{port}/api/v1"]
    if config.quickstart:
        lines += [f"Quickstart: {_metadata_store(config)}, {_object_store(config)}"]
        if quickstart_login:
            lines += [
                f"  access_key_id:     {config.installation.access_key_id}",
                f"  secret_access_key: {config.installation.secret_access_key}",
            ]
            if host in ("0.0.0.0", "::"):
                lines += ["  warning: these credentials are public, and other machines can reach this server"]
        else:
            lines += ["  this installation was set up with other credentials: log in with those"]
        lines += ["  sample repository: quickstart (branch main)"]
    print("\n".join(lines), flush=True)


def _metadata_store(config: Config) -> str:
    """Where metadata is kept, as the banner says it (no password)."""
    if config.database.type == "postgres":
        dsn = urlsplit(config.database.postgres.connection_string)
        if dsn.scheme and dsn.hostname:
            where = f"{dsn.hostname}:{dsn.port}" if dsn.port else dsn.hostname
            return f"PostgreSQL metadata at {where}{dsn.path}"
        return "PostgreSQL metadata"
    return f"SQLite metadata in {config.database.local.path}"


def _object_store(config: Config) -> str:
    """Where objects are kept, as the banner says it."""
    if config.blockstore.type == "s3":
        endpoint = config.blockstore.s3.endpoint or f"AWS region {config.blockstore.s3.region}"
        return f"objects in S3 ({endpoint})"
    if config.blockstore.type == "mem":
        return "objects in memory (lost at exit)"
    return f"objects in {config.blockstore.local.path}"


if __name__ == "__main__":
    sys.exit(main())
