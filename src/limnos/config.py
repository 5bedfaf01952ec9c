"""Configuration with lakeFS's own keys: a YAML file overridden by ``LAKEFS_*`` variables.

``database.local.path`` in YAML is ``LAKEFS_DATABASE_LOCAL_PATH`` in the environment.
Only the keys listed in :data:`KEYS` are read; a wrong type or a missing required
key raises :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DATA_DIR = Path.home() / "limnos"
QUICKSTART_ACCESS_KEY_ID = "AKIAIOSFOLQUICKSTART"
QUICKSTART_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
QUICKSTART_ENCRYPT_KEY = "THIS_MUST_BE_CHANGED_IN_PRODUCTION"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


# key -> (type, default). A default of None with required=True below means "must be set".
KEYS: dict[str, tuple[type, Any]] = {
    "listen_address": (str, "0.0.0.0:8000"),
    "workers": (int, 0),  # 0: one per core
    "logging.level": (str, "INFO"),
    "database.type": (str, None),
    "database.local.path": (str, str(DEFAULT_DATA_DIR / "metadata")),
    "database.postgres.connection_string": (str, ""),
    "database.postgres.max_open_connections": (int, 25),
    "database.postgres.max_idle_connections": (int, 25),
    "database.postgres.connection_max_lifetime": (str, "5m"),
    "blockstore.type": (str, None),
    "blockstore.local.path": (str, str(DEFAULT_DATA_DIR / "data" / "block")),
    "blockstore.local.import_enabled": (bool, False),
    "blockstore.local.import_hidden": (bool, False),
    "blockstore.local.allowed_external_prefixes": (list, []),
    "blockstore.signing.secret_key": (str, ""),
    "blockstore.s3.region": (str, "us-east-1"),
    "blockstore.s3.endpoint": (str, ""),
    "blockstore.s3.force_path_style": (bool, False),
    "blockstore.s3.credentials.access_key_id": (str, ""),
    "blockstore.s3.credentials.secret_access_key": (str, ""),
    "blockstore.s3.pre_signed_expiry": (str, "15m"),
    "blockstore.s3.max_retries": (int, 5),
    "auth.encrypt.secret_key": (str, None),
    "auth.login_duration": (str, "168h"),
    "installation.user_name": (str, ""),
    "installation.access_key_id": (str, ""),
    "installation.secret_access_key": (str, ""),
    "committed.local_cache.dir": (str, str(DEFAULT_DATA_DIR / "data" / "cache")),
    "committed.local_cache.size_bytes": (int, 1 << 30),
    "committed.memory_cache.size_bytes": (int, 512 << 20),
    "gateways.s3.domain_name": (str, "s3.local.lakefs.io"),
    "gateways.s3.region": (str, "us-east-1"),
}

DATABASE_TYPES = ("local", "postgres")
BLOCKSTORE_TYPES = ("local", "s3", "mem")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(key: str, text: str) -> float:
    """Seconds of a Go-style duration such as ``15m``, ``1h30m`` or ``500ms``."""
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ConfigError(f"configuration key {key}: expected a duration like 15m, got {text!r}")
    return total


def _env_name(key: str) -> str:
    return "LAKEFS_" + key.replace(".", "_").upper()


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _coerce(key: str, kind: type, value: Any) -> Any:
    if value is None:
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"configuration key {key}: expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"configuration key {key}: expected a number, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"configuration key {key}: expected a number, got {value!r}") from None
    if kind is list:
        if isinstance(value, str):
            return [v for v in (p.strip() for p in value.split(",")) if v]
        if isinstance(value, list):
            return [str(v) for v in value]
        raise ConfigError(f"configuration key {key}: expected a list, got {value!r}")
    if isinstance(value, (dict, list)):
        raise ConfigError(f"configuration key {key}: expected a value, got {value!r}")
    return str(value)


@dataclass
class Config:
    """Resolved configuration: every key of :data:`KEYS` with its value."""

    values: dict[str, Any] = field(default_factory=dict)
    quickstart: bool = False

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def data_dir(self) -> Path:
        """Where local state lives (database, blocks, caches)."""
        return Path(self.values["database.local.path"]).expanduser().parent

    def listen(self) -> tuple[str, int]:
        """(host, port) of ``listen_address``."""
        return parse_listen_address(self.values["listen_address"])

    def log_level(self) -> str:
        """``logging.level`` as the server's logger names it."""
        return LOG_LEVELS[self.values["logging.level"].strip().upper()]


# lakeFS's logging levels and the nearest of the HTTP server's (which has no "none").
LOG_LEVELS = {
    "TRACE": "trace",
    "DEBUG": "debug",
    "INFO": "info",
    "WARN": "warning",
    "WARNING": "warning",
    "ERROR": "error",
    "FATAL": "critical",
    "PANIC": "critical",
    "NONE": "critical",
}


def parse_listen_address(address: str) -> tuple[str, int]:
    """(host, port) of a ``host:port`` address; the host may be empty (every interface)
    or a bracketed IPv6 address, as Go's listeners take them."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"configuration key listen_address: expected host:port, got {address!r}")
    if not 0 <= int(port) <= 65535:
        raise ConfigError(f"configuration key listen_address: port {port} is not between 0 and 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port)


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    quickstart: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read the YAML file (if any), apply environment overrides and defaults, validate."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"configuration file {path}: {err.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"configuration file {path} is not UTF-8 text") from None
        try:
            tree = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"configuration file {path} is not valid YAML{where}") from None
        if not isinstance(tree, Mapping):
            raise ConfigError(f"configuration file {path} must hold a mapping of keys")
        raw = _flatten(tree)
    for key in KEYS:
        if _env_name(key) in env:
            raw[key] = env[_env_name(key)]
    values: dict[str, Any] = {}
    for key, (kind, default) in KEYS.items():
        # A key left empty in YAML (null) is a key not set.
        values[key] = _coerce(key, kind, raw[key]) if raw.get(key) is not None else default
    if quickstart:
        _apply_quickstart(values, raw)
    _validate(values)
    for key in ("database.local.path", "blockstore.local.path", "committed.local_cache.dir"):
        values[key] = str(Path(values[key]).expanduser())
    return Config(values=values, quickstart=quickstart)


def _apply_quickstart(values: dict[str, Any], raw: dict[str, Any]) -> None:
    """Fill what quickstart needs, leaving any key the user set alone."""
    fixed = {
        "database.type": "local",
        "blockstore.type": "local",
        "auth.encrypt.secret_key": QUICKSTART_ENCRYPT_KEY,
        "installation.user_name": "quickstart",
        "installation.access_key_id": QUICKSTART_ACCESS_KEY_ID,
        "installation.secret_access_key": QUICKSTART_SECRET_ACCESS_KEY,
    }
    for key, value in fixed.items():
        if key not in raw or not values.get(key):
            values[key] = value


def _validate(values: dict[str, Any]) -> None:
    for key, (_, default) in KEYS.items():
        if default is None and not values.get(key):
            raise ConfigError(f"configuration key {key} is required")
    if values["database.type"] not in DATABASE_TYPES:
        raise ConfigError(
            f"configuration key database.type: unknown type {values['database.type']!r} "
            f"(use one of {', '.join(DATABASE_TYPES)})"
        )
    if values["database.type"] == "postgres" and not values["database.postgres.connection_string"]:
        raise ConfigError("configuration key database.postgres.connection_string is required")
    for key in (
        "database.postgres.connection_max_lifetime",
        "blockstore.s3.pre_signed_expiry",
        "auth.login_duration",
    ):
        parse_duration(key, values[key])
    if values["blockstore.type"] not in BLOCKSTORE_TYPES:
        raise ConfigError(
            f"configuration key blockstore.type: unknown type {values['blockstore.type']!r} "
            f"(use one of {', '.join(BLOCKSTORE_TYPES)})"
        )
    if values["workers"] < 0:
        raise ConfigError("configuration key workers: must be 0 (one per core) or more")
    parse_listen_address(values["listen_address"])
    if values["logging.level"].strip().upper() not in LOG_LEVELS:
        raise ConfigError(
            f"configuration key logging.level: unknown level {values['logging.level']!r} "
            f"(use one of {', '.join(LOG_LEVELS)})"
        )
    keys = ("installation.access_key_id", "installation.secret_access_key")
    if values["installation.user_name"]:
        for key in keys:
            if not values[key]:
                # Keys generated here would be shown to nobody, and nobody could log in.
                raise ConfigError(f"configuration key {key} is required with installation.user_name")
    elif any(values[key] for key in keys):
        raise ConfigError(
            "configuration key installation.user_name is required with installation.access_key_id "
            "and installation.secret_access_key"
        )
