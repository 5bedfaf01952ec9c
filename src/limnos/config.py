"""Configuration with lakeFS's own keys: a YAML file overridden by ``LAKEFS_*`` variables,
decoded once into typed, frozen structs.

The structs nest like the keys: ``database.local.path`` in YAML is
``config.database.local.path`` in code and ``LAKEFS_DATABASE_LOCAL_PATH`` in the
environment. :class:`Settings` and the structs under it are the one list of keys, with
their types and defaults (:data:`KEYS` is derived from them); :class:`Config` adds what
is not a key (``quickstart``) and helpers. Only those keys are read; a wrong type, an
unknown choice or a missing required key raises :class:`ConfigError` naming the key.

Environment values are text: booleans take ``true``/``false`` (and ``1``, ``yes``, ``on``
...), numbers are integers, lists are comma-separated. Durations (``15m``, ``1h30m``,
``500ms``) are checked and turned into :class:`~datetime.timedelta` at load.

A loaded :class:`Config` travels to worker processes as JSON (:func:`to_json` and
:func:`from_json`), never through the environment: :func:`forget_environment` removes
the ``LAKEFS_*`` variables, secrets among them, before workers are started.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args, get_origin

import msgspec
import yaml

DEFAULT_DATA_DIR = Path.home() / "limnos"
QUICKSTART_ACCESS_KEY_ID = "AKIAIOSFOLQUICKSTART"
QUICKSTART_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
QUICKSTART_ENCRYPT_KEY = "THIS_MUST_BE_CHANGED_IN_PRODUCTION"
# Quickstart's credentials are public: unless told otherwise it serves this machine only.
QUICKSTART_LISTEN_ADDRESS = "127.0.0.1:8000"

#: Values of ``database.type``.
DatabaseType = Literal["local", "postgres"]
#: Values of ``blockstore.type``.
BlockstoreType = Literal["local", "s3", "mem"]

DATABASE_TYPES: tuple[str, ...] = get_args(DatabaseType)
BLOCKSTORE_TYPES: tuple[str, ...] = get_args(BlockstoreType)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


# The keys. A field without a default is a required key; a field that is a struct is a
# level of nesting. Every struct is frozen: a loaded configuration is not changed.


class LocalDatabase(msgspec.Struct, frozen=True, kw_only=True):
    """``database.local.*``: the embedded SQLite metadata store."""

    path: str = str(DEFAULT_DATA_DIR / "metadata")


class PostgresDatabase(msgspec.Struct, frozen=True, kw_only=True):
    """``database.postgres.*``."""

    connection_string: str = ""
    max_open_connections: int = 25
    max_idle_connections: int = 25
    connection_max_lifetime: timedelta = timedelta(minutes=5)


class Database(msgspec.Struct, frozen=True, kw_only=True):
    """``database.*``: where metadata lives."""

    type: DatabaseType
    local: LocalDatabase = msgspec.field(default_factory=LocalDatabase)
    postgres: PostgresDatabase = msgspec.field(default_factory=PostgresDatabase)


class LocalBlockstore(msgspec.Struct, frozen=True, kw_only=True):
    """``blockstore.local.*``: a directory tree."""

    path: str = str(DEFAULT_DATA_DIR / "data" / "block")
    import_enabled: bool = False
    import_hidden: bool = False
    allowed_external_prefixes: tuple[str, ...] = ()
    # Lifetime of the presigned URLs Limnos serves for local (and mem) objects.
    pre_signed_expiry: timedelta = timedelta(minutes=15)


class BlockstoreSigning(msgspec.Struct, frozen=True, kw_only=True):
    """``blockstore.signing.*``."""

    secret_key: str = ""


class S3Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """``blockstore.s3.credentials.*``: empty for the environment's credentials."""

    access_key_id: str = ""
    secret_access_key: str = ""


class S3Blockstore(msgspec.Struct, frozen=True, kw_only=True):
    """``blockstore.s3.*``: any S3-compatible store."""

    region: str = "us-east-1"
    endpoint: str = ""
    force_path_style: bool = False
    credentials: S3Credentials = msgspec.field(default_factory=S3Credentials)
    pre_signed_expiry: timedelta = timedelta(minutes=15)
    max_retries: int = 5


class Blockstore(msgspec.Struct, frozen=True, kw_only=True):
    """``blockstore.*``: where objects live."""

    type: BlockstoreType
    # Where clients put new repositories' namespaces (reported by getConfig; lakefs-spec
    # builds namespaces from it). Empty: the blockstore's own default ("local://" for local).
    default_namespace_prefix: str = ""
    local: LocalBlockstore = msgspec.field(default_factory=LocalBlockstore)
    signing: BlockstoreSigning = msgspec.field(default_factory=BlockstoreSigning)
    s3: S3Blockstore = msgspec.field(default_factory=S3Blockstore)
    # How long an address handed out for a direct upload can be linked (lakeFS: 24 hours).
    link_address_expiry: timedelta = timedelta(hours=24)


class AuthEncrypt(msgspec.Struct, frozen=True, kw_only=True):
    """``auth.encrypt.*``."""

    secret_key: str


class Auth(msgspec.Struct, frozen=True, kw_only=True):
    """``auth.*``."""

    encrypt: AuthEncrypt
    login_duration: timedelta = timedelta(hours=168)


class Installation(msgspec.Struct, frozen=True, kw_only=True):
    """``installation.*``: the admin created at first start."""

    user_name: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""


class LocalCache(msgspec.Struct, frozen=True, kw_only=True):
    """``committed.local_cache.*``: committed ranges fetched from remote storage."""

    dir: str = str(DEFAULT_DATA_DIR / "data" / "cache")
    size_bytes: int = 1 << 30


class MemoryCache(msgspec.Struct, frozen=True, kw_only=True):
    """``committed.memory_cache.*``: decoded ranges, per worker."""

    size_bytes: int = 512 << 20


class Committed(msgspec.Struct, frozen=True, kw_only=True):
    """``committed.*``."""

    local_cache: LocalCache = msgspec.field(default_factory=LocalCache)
    memory_cache: MemoryCache = msgspec.field(default_factory=MemoryCache)


class S3Gateway(msgspec.Struct, frozen=True, kw_only=True):
    """``gateways.s3.*``."""

    domain_name: str = "s3.local.lakefs.io"
    region: str = "us-east-1"


class Gateways(msgspec.Struct, frozen=True, kw_only=True):
    """``gateways.*``."""

    s3: S3Gateway = msgspec.field(default_factory=S3Gateway)


#: Values of ``logging.format``.
LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)


class Logging(msgspec.Struct, frozen=True, kw_only=True):
    """``logging.*``: lakeFS's keys and defaults."""

    format: LogFormat = "text"
    level: str = "INFO"
    #: Where log lines go: ``-`` (or ``stdout``), ``=`` (or ``stderr``), or file paths.
    output: tuple[str, ...] = ("-",)
    #: A log file is rotated when it would grow past this size.
    file_max_size_mb: int = 100 * 1024
    #: Rotated log files kept (0: none is kept, the file is truncated).
    files_keep: int = 100
    #: The level of the one line logged per request.
    audit_log_level: str = "DEBUG"


class Server(msgspec.Struct, frozen=True, kw_only=True):
    """``server.*``: Limnos's bounds on connections and requests (lakeFS has no such keys)."""

    # From a connection's first byte (or a keep-alive request's) to the end of the head.
    read_header_timeout: timedelta = timedelta(seconds=10)
    # Between two reads of a request body: a slow but steady upload is never cut.
    body_idle_timeout: timedelta = timedelta(seconds=60)
    # A keep-alive connection with no request after the last response.
    idle_timeout: timedelta = timedelta(seconds=5)
    # Open connections per worker; more wait in the listen backlog.
    max_connections: int = 500
    # How long a stopping server lets the requests in flight finish.
    shutdown_timeout: timedelta = timedelta(seconds=20)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every configuration key, nested like the keys."""

    listen_address: str = "0.0.0.0:8000"
    workers: int = 0  # 0: one per core
    logging: Logging = msgspec.field(default_factory=Logging)
    database: Database
    blockstore: Blockstore
    auth: Auth
    installation: Installation = msgspec.field(default_factory=Installation)
    committed: Committed = msgspec.field(default_factory=Committed)
    gateways: Gateways = msgspec.field(default_factory=Gateways)
    server: Server = msgspec.field(default_factory=Server)


class Config(Settings, frozen=True, kw_only=True):
    """Resolved configuration: every key of :class:`Settings`, and how it was started."""

    quickstart: bool = False

    def data_dir(self) -> Path:
        """Where local state lives (database, blocks, caches)."""
        return Path(self.database.local.path).expanduser().parent

    def listen(self) -> tuple[str, int]:
        """(host, port) of ``listen_address``."""
        return parse_listen_address(self.listen_address)

    def log_level(self) -> str:
        """``logging.level`` as the server's logger names it."""
        return LOG_LEVELS[self.logging.level.strip().upper()]

    def audit_log_level(self) -> str:
        """``logging.audit_log_level`` as the server's logger names it."""
        return LOG_LEVELS[self.logging.audit_log_level.strip().upper()]


class Key(NamedTuple):
    """One key as the loader reads it."""

    #: The field's type: ``str``, ``int``, ``bool``, ``timedelta``, a ``Literal`` or a tuple.
    type: Any
    #: The default; None for a required key.
    default: Any


def _keys(struct: type[msgspec.Struct], prefix: str = "") -> Iterator[tuple[str, Key]]:
    for field in msgspec.structs.fields(struct):
        key = prefix + field.name
        if isinstance(field.type, type) and issubclass(field.type, msgspec.Struct):
            yield from _keys(field.type, key + ".")
        else:
            yield key, Key(field.type, None if field.required else field.default)


#: Every key, dotted, in the order of :class:`Settings`.
KEYS: dict[str, Key] = dict(_keys(Settings))

_DURATION_KEYS = tuple(key for key, spec in KEYS.items() if spec.type is timedelta)
_PATH_KEYS = ("database.local.path", "blockstore.local.path", "committed.local_cache.dir")


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


def forget_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Remove every configuration variable (``LAKEFS_*`` of a key) from ``environ``
    (default: this process's), once the configuration is loaded: processes started
    afterwards inherit the environment, and secrets have no business there."""
    env = os.environ if environ is None else environ
    for key in KEYS:
        env.pop(_env_name(key), None)


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _coerce(key: str, kind: Any, value: Any) -> Any:
    """The value of a key from YAML or the environment. Durations and choices stay text
    here; :func:`_validate` checks them."""
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
    if get_origin(kind) is tuple:
        if isinstance(value, str):
            return [v for v in (p.strip() for p in value.split(",")) if v]
        if isinstance(value, list):
            return [str(v) for v in value]
        raise ConfigError(f"configuration key {key}: expected a list, got {value!r}")
    if isinstance(value, (dict, list)):
        raise ConfigError(f"configuration key {key}: expected a value, got {value!r}")
    return str(value)


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
    for key, spec in KEYS.items():
        # A key left empty in YAML (null) is a key not set.
        values[key] = _coerce(key, spec.type, raw[key]) if raw.get(key) is not None else spec.default
    if quickstart:
        _apply_quickstart(values, raw)
    _validate(values)
    for key in _PATH_KEYS:
        values[key] = str(Path(values[key]).expanduser())
    return _decode(values, quickstart)


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
    if raw.get("listen_address") is None:
        values["listen_address"] = QUICKSTART_LISTEN_ADDRESS
    prefix = "blockstore.default_namespace_prefix"
    if values["blockstore.type"] == "local" and not values.get(prefix):
        values[prefix] = "local://"


def _one_of(values: dict[str, Any], key: str, choices: tuple[str, ...]) -> None:
    if values[key] not in choices:
        raise ConfigError(
            f"configuration key {key}: unknown type {values[key]!r} (use one of {', '.join(choices)})"
        )


def _validate(values: dict[str, Any]) -> None:
    """Check the flat values; durations given as text become timedeltas."""
    for key, spec in KEYS.items():
        if spec.default is None and not values.get(key):
            raise ConfigError(f"configuration key {key} is required")
    _one_of(values, "database.type", DATABASE_TYPES)
    if values["database.type"] == "postgres" and not values["database.postgres.connection_string"]:
        raise ConfigError("configuration key database.postgres.connection_string is required")
    for key in _DURATION_KEYS:
        if isinstance(values[key], str):
            values[key] = timedelta(seconds=parse_duration(key, values[key]))
    _one_of(values, "blockstore.type", BLOCKSTORE_TYPES)
    if values["workers"] < 0:
        raise ConfigError("configuration key workers: must be 0 (one per core) or more")
    parse_listen_address(values["listen_address"])
    _validate_server(values)
    _validate_logging(values)
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


def _validate_server(values: dict[str, Any]) -> None:
    """``server.*``: every bound is positive (a zero would refuse every request)."""
    for key in ("read_header_timeout", "body_idle_timeout", "idle_timeout", "shutdown_timeout"):
        if values[f"server.{key}"] <= timedelta(0):
            raise ConfigError(f"configuration key server.{key}: must be a positive duration")
    if values["server.max_connections"] < 1:
        raise ConfigError("configuration key server.max_connections: must be 1 or more")


def _validate_logging(values: dict[str, Any]) -> None:
    for key in ("logging.level", "logging.audit_log_level"):
        if values[key].strip().upper() not in LOG_LEVELS:
            raise ConfigError(
                f"configuration key {key}: unknown level {values[key]!r} (use one of {', '.join(LOG_LEVELS)})"
            )
    values["logging.format"] = values["logging.format"].strip().lower()
    if values["logging.format"] not in LOG_FORMATS:
        raise ConfigError(
            f"configuration key logging.format: unknown format {values['logging.format']!r} "
            f"(use one of {', '.join(LOG_FORMATS)})"
        )
    if not values["logging.output"]:
        raise ConfigError("configuration key logging.output: name at least one output (- for stdout)")
    if values["logging.file_max_size_mb"] <= 0:
        raise ConfigError("configuration key logging.file_max_size_mb: must be 1 or more")
    if values["logging.files_keep"] < 0:
        raise ConfigError("configuration key logging.files_keep: must be 0 or more")


def _decode(values: dict[str, Any], quickstart: bool) -> Config:
    """The typed configuration of checked flat values."""
    tree: dict[str, Any] = {"quickstart": quickstart}
    for key, value in values.items():
        *parents, name = key.split(".")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[name] = value
    try:
        return msgspec.convert(tree, Config)
    except msgspec.ValidationError as err:
        # Not expected once _validate passed; still one line naming the key.
        message, _, where = str(err).rpartition(" - at `$.")
        if not message:
            raise ConfigError(f"configuration: {err}") from None
        raise ConfigError(f"configuration key {where.rstrip('`')}: {message}") from None


def to_json(config: Config) -> str:
    """``config`` as JSON text, for a worker process."""
    return msgspec.json.encode(config).decode()


def from_json(text: str | bytes) -> Config:
    """The configuration :func:`to_json` encoded."""
    return msgspec.json.decode(text, type=Config)
