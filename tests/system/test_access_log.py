"""The server's log: lakeFS's ``logging.*`` keys, one access line per request of either
front end, and the request id that ties a request, its answer and its log lines together."""

from __future__ import annotations

import json
import multiprocessing
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import Server, free_port, s3_client

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two workers writing JSON lines, access lines included, to one file."""
    data = tmp_path_factory.mktemp("access-log")
    server = Server(data, free_port(), workers=2)
    server.extra_env.update(
        {
            "LAKEFS_LOGGING_FORMAT": "json",
            "LAKEFS_LOGGING_LEVEL": "INFO",
            "LAKEFS_LOGGING_AUDIT_LOG_LEVEL": "INFO",
            "LAKEFS_LOGGING_OUTPUT": str(data / "logs" / "limnos.log"),
        }
    )
    server.start()
    yield server
    server.stop()


def log_lines(server: Server) -> list[dict[str, Any]]:
    """Every line of the server's log file, each parsed as the JSON object it must be."""
    text = (server.data_dir / "logs" / "limnos.log").read_text()
    return [json.loads(line) for line in text.splitlines()]


def lines_of(server: Server, request_id: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(server) if line.get("request_id") == request_id]


def access_line(server: Server, request_id: str) -> dict[str, Any]:
    """The one access line of a request."""
    found = [line for line in lines_of(server, request_id) if line["msg"] == "HTTP call ended"]
    assert len(found) == 1, found
    return found[0]


def test_an_api_request_is_logged_once_with_the_id_the_client_sent(logged: Server) -> None:
    request_id = f"client-{uuid.uuid4()}"
    with logged.http() as http:
        answer = http.get("/repositories", headers={"X-Request-ID": request_id})
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == request_id
    line = access_line(logged, request_id)
    assert line["level"] == "info"
    assert line["time"].endswith("Z")
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/repositories"
    assert line["status_code"] == 200
    assert line["user"] == "admin"
    assert line["service_name"] == "rest_api"
    assert isinstance(line["took"], int) and line["took"] > 0
    assert line["took_str"]


def test_a_request_without_a_sane_id_gets_a_new_one(logged: Server) -> None:
    ids = set()
    for sent in (None, b"two words", b"x" * 500, "\u00fcn\u00efcode".encode()):
        headers = {} if sent is None else {"X-Request-ID": sent}
        answer = httpx.get(f"{logged.api}/repositories", headers=headers)
        assert answer.status_code == 401
        given = answer.headers["X-Request-ID"]
        assert given and given.encode() != sent
        ids.add(given)
        line = access_line(logged, given)
        # Nobody signed in: the user is empty.
        assert (line["status_code"], line["user"]) == (401, "")
    assert len(ids) == 4


def test_an_s3_request_is_logged_with_the_id_of_its_error(logged: Server) -> None:
    s3 = s3_client(logged)
    with pytest.raises(ClientError) as raised:
        s3.head_object(Bucket=f"no-such-{uuid.uuid4().hex[:8]}", Key="a")
    headers = raised.value.response["ResponseMetadata"]["HTTPHeaders"]
    request_id = headers["x-request-id"]
    assert headers["x-amz-request-id"] == request_id
    line = access_line(logged, request_id)
    assert line["service_name"] == "s3_gateway"
    assert (line["method"], line["status_code"], line["user"]) == ("HEAD", 404, "admin")
    assert line["operation"] == "HeadObject"
    # The XML error names the same id.
    answer = httpx.get(f"{logged.url}/metrics-not/key", headers={"X-Request-ID": "s3-error-id"})
    assert answer.status_code == 403
    assert "<RequestId>s3-error-id</RequestId>" in answer.text
    assert answer.headers["x-amz-request-id"] == "s3-error-id"
    assert access_line(logged, "s3-error-id")["status_code"] == 403


def test_error_lines_carry_the_id_of_the_request(logged: Server) -> None:
    """An unexpected failure (a record corrupted behind the server's back) is logged with
    the request's id, and the client gets that id too."""
    repo = f"corrupt-{uuid.uuid4().hex[:8]}"
    with logged.http() as http:
        created = http.post("/repositories", json={"name": repo, "storage_namespace": logged.namespace(repo)})
        assert created.status_code == 201, created.text
        tagged = http.post(f"/repositories/{repo}/tags", json={"id": "v1", "ref": "main"})
        assert tagged.status_code == 201, tagged.text
        with sqlite3.connect(logged.data_dir / "metadata" / "limnos.db") as db:
            changed = db.execute(
                "UPDATE kv SET value=x'00ff00' WHERE partition LIKE '%/tags' AND key=CAST('v1' AS BLOB)"
            ).rowcount
        assert changed == 1
        answer = http.get(f"/repositories/{repo}/tags/v1", headers={"X-Request-ID": "broken-tag"})
    assert answer.status_code == 500
    assert answer.headers["X-Request-ID"] == "broken-tag"
    lines = lines_of(logged, "broken-tag")
    errors = [line for line in lines if line["level"] == "error"]
    assert errors and "Traceback" in errors[0]["error"]
    assert access_line(logged, "broken-tag")["status_code"] == 500


def test_the_http_servers_own_access_log_stays_off(logged: Server) -> None:
    with logged.http() as http:
        http.get("/repositories", headers={"X-Request-ID": "only-ours"})
    assert len(lines_of(logged, "only-ours")) == 1
    text = (logged.data_dir / "logs" / "limnos.log").read_text()
    assert 'HTTP/1.1\\" 200' not in text and 'HTTP/1.1" 200' not in text


def test_text_format_on_stdout_and_no_access_line_below_the_level(tmp_path: Path) -> None:
    """lakeFS's defaults: text lines; the access line at DEBUG, below the INFO level."""
    server = Server(tmp_path / "data", free_port(), workers=1)
    server.extra_env.update({"LAKEFS_LOGGING_LEVEL": "INFO", "LAKEFS_LOGGING_AUDIT_LOG_LEVEL": "WARN"})
    server.start()
    try:
        with server.http() as http:
            http.get("/repositories", headers={"X-Request-ID": "text-line"})
    finally:
        server.stop()
    assert server.log_path is not None
    lines = [line for line in server.log_path.read_text().splitlines() if "request_id=text-line" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("time=") and " level=warning " in lines[0]
    assert ' msg="HTTP call ended" ' in lines[0] and " user=admin " in lines[0]

    quiet = Server(tmp_path / "quiet", free_port(), workers=1)
    quiet.extra_env.update({"LAKEFS_LOGGING_LEVEL": "INFO"})  # audit level: DEBUG
    quiet.start()
    try:
        with quiet.http() as http:
            http.get("/repositories", headers={"X-Request-ID": "not-logged"})
    finally:
        quiet.stop()
    assert quiet.log_path is not None
    assert "not-logged" not in quiet.log_path.read_text()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("LAKEFS_LOGGING_FORMAT", "xml"),
        ("LAKEFS_LOGGING_AUDIT_LOG_LEVEL", "LOUD"),
        ("LAKEFS_LOGGING_FILE_MAX_SIZE_MB", "0"),
        ("LAKEFS_LOGGING_FILE_MAX_SIZE_MB", "big"),
        ("LAKEFS_LOGGING_FILES_KEEP", "-1"),
        ("LAKEFS_LOGGING_OUTPUT", ""),
    ],
)
def test_bad_logging_settings_stop_the_start(tmp_path: Path, key: str, value: str) -> None:
    server = Server(tmp_path / "data", free_port(), workers=1)
    server.extra_env[key] = value
    done = subprocess.run(
        [sys.executable, "-m", "limnos.cli.main", "run", "--workers", "1"],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    named = key.removeprefix("LAKEFS_").lower().replace("logging_", "logging.")
    assert done.stderr.startswith("limnos: ") and named in done.stderr, done.stderr


def _write_lines(path: str, writer: int, count: int) -> None:
    """A process of its own writing ``count`` lines through the server's file handler."""
    import logging

    from limnos.server.logs import JsonFormatter, SharedRotatingFileHandler

    handler = SharedRotatingFileHandler(path, 64 * 1024, 3)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"writer-{writer}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    for number in range(count):
        logger.info("line", extra={"fields": {"writer": writer, "number": number, "pad": "x" * 200}})
    handler.close()


def test_processes_sharing_a_log_file_rotate_it_without_torn_lines(tmp_path: Path) -> None:
    path = tmp_path / "shared.log"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_lines, args=(str(path), n, 3000)) for n in range(3)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
        assert process.exitcode == 0
    files = sorted(tmp_path.glob("shared.log*"))
    names = {f.name for f in files} - {"shared.log.lock"}
    # files_keep old files at most, besides the current one.
    assert names <= {"shared.log", "shared.log.1", "shared.log.2", "shared.log.3"}
    assert {"shared.log", "shared.log.3"} <= names
    seen = 0
    for name in names:
        text = (tmp_path / name).read_text()
        assert text.endswith("\n")
        for line in text.splitlines():
            parsed = json.loads(line)  # a torn or interleaved line would not parse
            assert parsed["msg"] == "line" and len(parsed["pad"]) == 200
            seen += 1
        # A file grows past its size only by the lines written before a writer noticed.
        assert (tmp_path / name).stat().st_size < 64 * 1024 + 3 * 1024
    assert seen > 0


def test_the_documented_logging_configuration_works(tmp_path: Path) -> None:
    """docs/configuration.md's example, with the test's own log file."""
    section = DOC.read_text().split("## Logs and metrics", 1)[1]
    example = re.findall(r"```yaml\n(.*?)```", section, re.S)[0]
    log_file = tmp_path / "logs" / "limnos.log"
    config = tmp_path / "config.yaml"
    config.write_text(example.replace("/var/log/limnos/limnos.log", str(log_file)))
    server = Server(tmp_path / "data", free_port(), workers=2)
    # The test servers' environment sets a level (over the file's): the doc's own.
    server.extra_env["LAKEFS_LOGGING_LEVEL"] = "INFO"
    server.start("--config", str(config))
    try:
        with server.http() as http:
            http.get("/repositories", headers={"X-Request-ID": "from-the-doc"})
    finally:
        server.stop()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["status_code"] for line in lines if line.get("request_id") == "from-the-doc"] == [200]
