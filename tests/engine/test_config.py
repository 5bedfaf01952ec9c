"""Tests of limnos.config: YAML and ``LAKEFS_*`` variables decoded into typed structs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal, get_args, get_origin

import msgspec
import pytest

from limnos.config import (
    BLOCKSTORE_TYPES,
    DATABASE_TYPES,
    KEYS,
    QUICKSTART_ACCESS_KEY_ID,
    Config,
    ConfigError,
    from_json,
    load,
    parse_duration,
    to_json,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

REQUIRED = {
    "LAKEFS_DATABASE_TYPE": "local",
    "LAKEFS_BLOCKSTORE_TYPE": "local",
    "LAKEFS_AUTH_ENCRYPT_SECRET_KEY": "secret",
}


def load_env(**env: str) -> Config:
    return load(environ={**REQUIRED, **env})


def error_of(path: Path | None = None, *, quickstart: bool = False, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(path, quickstart=quickstart, environ={**REQUIRED, **env})
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_and_required_keys() -> None:
    cfg = load_env()
    assert cfg.listen_address == "0.0.0.0:8000"
    assert cfg.workers == 0
    assert cfg.logging.level == "INFO"
    assert cfg.database.type == "local"
    assert cfg.database.postgres.max_open_connections == 25
    assert cfg.database.postgres.connection_max_lifetime == timedelta(minutes=5)
    assert cfg.blockstore.local.allowed_external_prefixes == ()
    assert cfg.blockstore.s3.pre_signed_expiry == timedelta(minutes=15)
    assert cfg.auth.login_duration == timedelta(hours=168)
    assert cfg.committed.local_cache.size_bytes == 1 << 30
    assert cfg.committed.memory_cache.size_bytes == 512 << 20
    assert cfg.gateways.s3.domain_name == "s3.local.lakefs.io"
    assert cfg.installation.user_name == ""
    assert cfg.quickstart is False
    for key in ("database.type", "blockstore.type", "auth.encrypt.secret_key"):
        name = "LAKEFS_" + key.replace(".", "_").upper()
        env = {k: v for k, v in REQUIRED.items() if k != name}
        with pytest.raises(ConfigError) as caught:
            load(environ=env)
        assert str(caught.value) == f"configuration key {key} is required"


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "listen_address: 127.0.0.1:9000\n"
        "workers: 3\n"
        "database:\n  type: local\n  local:\n    path: /tmp/limnos-yaml/metadata\n"
        "blockstore:\n  type: local\n  local:\n    allowed_external_prefixes: [/a, /b]\n"
        "auth:\n  encrypt:\n    secret_key: from-yaml\n  login_duration: 1h\n"
        "committed:\n  local_cache:\n    size_bytes: 1024\n"
        "unknown:\n  lakefs:\n    key: ignored\n"
    )
    cfg = load(
        path,
        environ={"LAKEFS_WORKERS": "5", "LAKEFS_AUTH_ENCRYPT_SECRET_KEY": "from-env"},
    )
    assert cfg.listen() == ("127.0.0.1", 9000)
    assert cfg.workers == 5
    assert cfg.auth.encrypt.secret_key == "from-env"
    assert cfg.auth.login_duration == timedelta(hours=1)
    assert cfg.database.local.path == "/tmp/limnos-yaml/metadata"
    assert cfg.data_dir() == Path("/tmp/limnos-yaml")
    assert cfg.blockstore.local.allowed_external_prefixes == ("/a", "/b")
    assert cfg.committed.local_cache.size_bytes == 1024


def test_a_key_left_empty_in_yaml_is_not_set(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("workers:\nlogging:\n  level:\n")
    cfg = load(path, environ=REQUIRED)
    assert cfg.workers == 0 and cfg.logging.level == "INFO"


def test_environment_text_is_coerced_to_the_key_type() -> None:
    cfg = load_env(
        LAKEFS_WORKERS="4",
        LAKEFS_BLOCKSTORE_LOCAL_IMPORT_ENABLED="yes",
        LAKEFS_BLOCKSTORE_S3_FORCE_PATH_STYLE="true",
        LAKEFS_BLOCKSTORE_LOCAL_IMPORT_HIDDEN="0",
        LAKEFS_BLOCKSTORE_LOCAL_ALLOWED_EXTERNAL_PREFIXES=" /data/a, ,/data/b ",
        LAKEFS_BLOCKSTORE_S3_MAX_RETRIES="7",
        LAKEFS_BLOCKSTORE_S3_PRE_SIGNED_EXPIRY="1h30m",
        LAKEFS_DATABASE_POSTGRES_CONNECTION_MAX_LIFETIME="500ms",
        LAKEFS_COMMITTED_MEMORY_CACHE_SIZE_BYTES="1048576",
        LAKEFS_LOGGING_LEVEL="warn",
        LAKEFS_DATABASE_LOCAL_PATH="~/elsewhere/metadata",
    )
    assert cfg.workers == 4
    assert cfg.blockstore.local.import_enabled is True
    assert cfg.blockstore.s3.force_path_style is True
    assert cfg.blockstore.local.import_hidden is False
    assert cfg.blockstore.local.allowed_external_prefixes == ("/data/a", "/data/b")
    assert cfg.blockstore.s3.max_retries == 7
    assert cfg.blockstore.s3.pre_signed_expiry == timedelta(hours=1, minutes=30)
    assert cfg.database.postgres.connection_max_lifetime == timedelta(milliseconds=500)
    assert cfg.committed.memory_cache.size_bytes == 1 << 20
    assert cfg.log_level() == "warning"
    assert cfg.database.local.path == str(Path.home() / "elsewhere" / "metadata")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"LAKEFS_DATABASE_TYPE": "oracle"},
            "configuration key database.type: unknown type 'oracle' (use one of local, postgres)",
        ),
        (
            {"LAKEFS_BLOCKSTORE_TYPE": "tape"},
            "configuration key blockstore.type: unknown type 'tape' (use one of local, s3, mem)",
        ),
        ({"LAKEFS_WORKERS": "many"}, "configuration key workers: expected a number, got 'many'"),
        ({"LAKEFS_WORKERS": "-1"}, "configuration key workers: must be 0 (one per core) or more"),
        (
            {"LAKEFS_BLOCKSTORE_S3_FORCE_PATH_STYLE": "maybe"},
            "configuration key blockstore.s3.force_path_style: expected true or false, got 'maybe'",
        ),
        (
            {"LAKEFS_AUTH_LOGIN_DURATION": "7d"},
            "configuration key auth.login_duration: expected a duration like 15m, got '7d'",
        ),
        (
            {"LAKEFS_DATABASE_TYPE": "postgres"},
            "configuration key database.postgres.connection_string is required",
        ),
        (
            {"LAKEFS_LISTEN_ADDRESS": "127.0.0.1"},
            "configuration key listen_address: expected host:port, got '127.0.0.1'",
        ),
        (
            {"LAKEFS_INSTALLATION_USER_NAME": "admin"},
            "configuration key installation.access_key_id is required with installation.user_name",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(env: dict[str, str], message: str) -> None:
    assert error_of(**env) == message


def test_a_bad_value_in_yaml_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("database:\n  postgres:\n    max_open_connections: [1, 2]\n")
    assert error_of(path).startswith("configuration key database.postgres.max_open_connections:")
    path.write_text("blockstore:\n  local:\n    allowed_external_prefixes: 3\n")
    assert error_of(path).startswith("configuration key blockstore.local.allowed_external_prefixes:")


def test_quickstart_fills_what_is_not_set() -> None:
    cfg = load(
        quickstart=True,
        environ={
            "LAKEFS_INSTALLATION_USER_NAME": "me",
            "LAKEFS_INSTALLATION_ACCESS_KEY_ID": "AKIAME",
            "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": "s",
        },
    )
    assert cfg.quickstart is True
    assert cfg.database.type == "local" and cfg.blockstore.type == "local"
    assert cfg.installation.user_name == "me" and cfg.installation.access_key_id == "AKIAME"
    assert load(quickstart=True, environ={}).installation.access_key_id == QUICKSTART_ACCESS_KEY_ID
    assert "database.type" in error_of(quickstart=True, LAKEFS_DATABASE_TYPE="oracle")


def test_quickstart_suggests_local_namespaces() -> None:
    """Quickstart's default namespace prefix is ``local://`` (clients build new namespaces
    on it), unless the key is set or the blockstore is not local; without quickstart the
    key is empty, meaning the blockstore's own default."""
    assert load(quickstart=True, environ={}).blockstore.default_namespace_prefix == "local://"
    chosen = {"LAKEFS_BLOCKSTORE_DEFAULT_NAMESPACE_PREFIX": "local://repos"}
    assert load(quickstart=True, environ=chosen).blockstore.default_namespace_prefix == "local://repos"
    on_s3 = {"LAKEFS_BLOCKSTORE_TYPE": "s3"}
    assert load(quickstart=True, environ=on_s3).blockstore.default_namespace_prefix == ""
    assert load_env().blockstore.default_namespace_prefix == ""
    assert load_env(**chosen).blockstore.default_namespace_prefix == "local://repos"


def test_the_json_round_trip_gives_an_equal_config() -> None:
    for cfg in (
        load_env(
            LAKEFS_BLOCKSTORE_TYPE="s3",
            LAKEFS_BLOCKSTORE_LOCAL_ALLOWED_EXTERNAL_PREFIXES="/a,/b",
            LAKEFS_AUTH_LOGIN_DURATION="1h0m0.25s",
            LAKEFS_WORKERS="2",
        ),
        load(quickstart=True, environ={}),
    ):
        text = to_json(cfg)
        assert isinstance(text, str)
        back = from_json(text)
        assert back == cfg and type(back) is Config
        assert back.quickstart == cfg.quickstart
        assert back.auth.login_duration == cfg.auth.login_duration


def test_a_decoded_config_is_checked_against_the_types() -> None:
    text = to_json(load_env()).replace('"type":"local"', '"type":"oracle"', 1)
    with pytest.raises(msgspec.ValidationError, match=r"database\.type"):
        from_json(text)


def test_a_config_is_frozen() -> None:
    cfg = load_env()
    with pytest.raises(AttributeError):
        cfg.workers = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cfg.database.local.path = "/elsewhere"  # type: ignore[misc]


# lakeFS's names: a field renamed in limnos.config would silently read another key. The
# two marked keys are Limnos's own: lakeFS has no presigned URLs on local storage and a
# fixed link window.
LAKEFS_KEYS = [
    "listen_address",
    "workers",
    "logging.format",
    "logging.level",
    "logging.output",
    "logging.file_max_size_mb",
    "logging.files_keep",
    "logging.audit_log_level",
    "database.type",
    "database.local.path",
    "database.postgres.connection_string",
    "database.postgres.max_open_connections",
    "database.postgres.max_idle_connections",
    "database.postgres.connection_max_lifetime",
    "blockstore.type",
    "blockstore.default_namespace_prefix",
    "blockstore.local.path",
    "blockstore.local.import_enabled",
    "blockstore.local.import_hidden",
    "blockstore.local.allowed_external_prefixes",
    "blockstore.local.pre_signed_expiry",  # Limnos's own
    "blockstore.signing.secret_key",
    "blockstore.s3.region",
    "blockstore.s3.endpoint",
    "blockstore.s3.force_path_style",
    "blockstore.s3.credentials.access_key_id",
    "blockstore.s3.credentials.secret_access_key",
    "blockstore.s3.pre_signed_expiry",
    "blockstore.s3.max_retries",
    "blockstore.link_address_expiry",  # Limnos's own
    "auth.encrypt.secret_key",
    "auth.login_duration",
    "installation.user_name",
    "installation.access_key_id",
    "installation.secret_access_key",
    "committed.local_cache.dir",
    "committed.local_cache.size_bytes",
    "committed.memory_cache.size_bytes",
    "gateways.s3.domain_name",
    "gateways.s3.region",
    # Limnos's own section: bounds on connections and requests, which lakeFS does not have.
    "server.read_header_timeout",
    "server.body_idle_timeout",
    "server.idle_timeout",
    "server.max_connections",
    "server.shutdown_timeout",
]


def test_the_keys_are_lakefs_keys() -> None:
    assert list(KEYS) == LAKEFS_KEYS
    required = [key for key, spec in KEYS.items() if spec.default is None]
    assert required == ["database.type", "blockstore.type", "auth.encrypt.secret_key"]
    assert DATABASE_TYPES == ("local", "postgres")
    assert BLOCKSTORE_TYPES == ("local", "s3", "mem")


def _sample(key: str, kind: object) -> tuple[str, object]:
    """Text of a valid value of ``key`` other than its default, and the value it decodes to."""
    if kind is bool:
        return "true", True
    if kind is int:
        return "7", 7
    if kind is timedelta:
        return "2m", timedelta(minutes=2)
    if get_origin(kind) is tuple:
        return "/x,/y", ("/x", "/y")
    if get_origin(kind) is Literal:
        choice = get_args(kind)[-1]
        return choice, choice
    special = {"listen_address": "127.0.0.1:1", "logging.level": "DEBUG", "logging.audit_log_level": "INFO"}
    text = special.get(key, "/v/w")
    return text, text


@pytest.mark.parametrize("key", LAKEFS_KEYS)
def test_every_key_is_read_from_its_variable(key: str) -> None:
    base = {
        **REQUIRED,
        "LAKEFS_DATABASE_POSTGRES_CONNECTION_STRING": "postgresql://db/limnos",
        "LAKEFS_INSTALLATION_USER_NAME": "admin",
        "LAKEFS_INSTALLATION_ACCESS_KEY_ID": "AKIAADMIN",
        "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": "secret",
    }
    text, want = _sample(key, KEYS[key].type)
    cfg = load(environ={**base, "LAKEFS_" + key.replace(".", "_").upper(): text})
    value: object = cfg
    for name in key.split("."):
        value = getattr(value, name)
    assert value == want


def test_the_documentation_lists_every_key() -> None:
    """Each key has a row of its own in a table of docs/configuration.md (whatever section
    holds it), and each row names a key the loader reads: no wildcards."""
    documented = re.findall(r"^\| `([^`]+)`", DOCS.read_text(), flags=re.MULTILINE)
    missing = [k for k in KEYS if k not in documented]
    assert not missing, f"{DOCS.name} does not list {missing}"
    unknown = [d for d in documented if d not in KEYS]
    assert not unknown, f"{DOCS.name} lists keys that are not read: {unknown}"
    twice = sorted({d for d in documented if documented.count(d) > 1})
    assert not twice, f"{DOCS.name} lists keys twice: {twice}"


def _documented_default(key: str, text: str) -> object:
    """The value a default as docs/configuration.md writes it stands for."""
    kind = KEYS[key].type
    if text == "required":
        return None
    text = text.strip("`")
    if kind is timedelta:
        return timedelta(seconds=parse_duration(key, text))
    if kind is bool:
        return {"true": True, "false": False}[text]
    if kind is int:
        return int(text)
    if get_origin(kind) is tuple:
        # a JSON list, or one value written as it is (`-`)
        return tuple(json.loads(text)) if text.startswith("[") else (text,)
    return str(Path(text).expanduser()) if text.startswith("~") else text


def test_the_documented_defaults_are_the_defaults() -> None:
    """Where a row of docs/configuration.md has a default column, it is the loader's."""
    rows = re.findall(r"^\| `([^`]+)` \|([^|]*)\|", DOCS.read_text(), flags=re.MULTILINE)
    assert len(rows) >= len(KEYS)
    wrong = {
        key: (text.strip(), KEYS[key].default)
        for key, text in rows
        if key in KEYS and _documented_default(key, text.strip()) != KEYS[key].default
    }
    assert not wrong, f"{DOCS.name} gives other defaults: {wrong}"


def test_server_bounds_have_defaults_and_must_be_positive() -> None:
    cfg = load_env()
    assert cfg.server.read_header_timeout == timedelta(seconds=10)
    assert cfg.server.body_idle_timeout == timedelta(seconds=60)
    assert cfg.server.idle_timeout == timedelta(seconds=5)
    assert cfg.server.max_connections == 500
    assert cfg.server.shutdown_timeout == timedelta(seconds=20)
    for key in ("read_header_timeout", "body_idle_timeout", "idle_timeout", "shutdown_timeout"):
        message = error_of(**{f"LAKEFS_SERVER_{key.upper()}": "0s"})
        assert message == f"configuration key server.{key}: must be a positive duration"
    assert "server.max_connections" in error_of(LAKEFS_SERVER_MAX_CONNECTIONS="0")


def test_the_documented_server_example_loads(tmp_path: Path) -> None:
    section = DOCS.read_text().split("## Connections and requests", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    assert example is not None
    path = tmp_path / "config.yaml"
    path.write_text(example.group(1))
    cfg = load(path, environ=REQUIRED)
    assert cfg.server.read_header_timeout == timedelta(seconds=5)
    assert cfg.server.body_idle_timeout == timedelta(seconds=30)
    assert cfg.server.idle_timeout == timedelta(seconds=90)
    assert cfg.server.max_connections == 2000
    assert cfg.server.shutdown_timeout == timedelta(seconds=25)
