"""The ``limnos`` command: ``limnos run`` serves the API, ``limnos setup`` creates the admin."""

from __future__ import annotations

import argparse
import os
import sys

from limnos import __version__
from limnos.config import Config, ConfigError, load


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
    import uvicorn

    from limnos.server.app import export_config
    from limnos.server.bootstrap import bootstrap
    from limnos.server.logs import configure_logging
    from limnos.server.metrics import multiprocess_dir
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
    export_config(config)
    server_config = uvicorn.Config(
        "limnos.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        log_level=config.log_level(),
        # Logging is the server's own (limnos.server.logs), in every process; so is the
        # access log (limnos.server.access_log).
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
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
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    lines = [f"Limnos {__version__} is listening on http://{shown}:{port}/api/v1"]
    if config.quickstart:
        lines += [
            f"Quickstart: SQLite metadata in {config.database.local.path}, "
            f"objects in {config.blockstore.local.path}",
        ]
        if quickstart_login:
            lines += [
                f"  access_key_id:     {config.installation.access_key_id}",
                f"  secret_access_key: {config.installation.secret_access_key}",
            ]
        else:
            lines += ["  this installation was set up with other credentials: log in with those"]
        lines += ["  sample repository: quickstart (branch main)"]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
