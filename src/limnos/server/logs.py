"""The server's log: lakeFS's ``logging.*`` keys over the standard :mod:`logging` module.

Every process (the supervisor and each worker) calls :func:`configure_logging` when it
starts: one handler per ``logging.output`` on the root logger, so the server's own loggers
and the HTTP server's (uvicorn) all write there, formatted as lakeFS formats them:

- ``text``: ``time="..." level=info msg="..." key=value ...`` (logrus's text format);
- ``json``: one JSON object per line with ``time``, ``level``, ``msg`` and the fields.

Every line written while a request is served carries its ``request_id`` (a context
variable, set by :mod:`limnos.server.access_log`; the catalog's threads run in the
request's context).

Several processes write the same outputs, and each line is one ``write`` of its whole
bytes to a descriptor opened for appending, so lines never interleave. Files rotate at
``logging.file_max_size_mb``, keeping ``logging.files_keep`` old ones (``<file>.1`` the
newest): the process that first sees the file past its size renames the files under an
exclusive lock (``<file>.lock``), and every other process, finding on its next line that
the file it holds was rotated, opens the new one. No process rotates a file that another
already rotated, and no line is lost: a process that has not yet noticed writes its line
to the file just rotated.
"""

from __future__ import annotations

import contextvars
import fcntl
import logging
import logging.handlers
import os
import sys
import time
from typing import Any

import msgspec

from limnos.config import Config

#: The request being served in this context, for every line logged while serving it.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("limnos_request_id", default=None)

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

# The configuration's level names (as Config.log_level gives them) as logging's numbers.
LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
# lakeFS's (logrus's) names of the levels, as lines show them.
_LEVEL_NAMES = {
    TRACE: "trace",
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}
_STDOUT = ("-", "stdout")
_STDERR = ("=", "stderr")
_MB = 1024 * 1024


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The fields of a line: those passed as ``extra={"fields": {...}}``, and the request id."""
    fields: dict[str, Any] = dict(getattr(record, "fields", None) or {})
    request_id = REQUEST_ID.get()
    if request_id is not None:
        fields.setdefault("request_id", request_id)
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


def _time(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _level(record: logging.LogRecord) -> str:
    return _LEVEL_NAMES.get(record.levelno, record.levelname.lower())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``msg``, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": _time(record), "level": _level(record), "msg": record.getMessage()}
        line.update(fields_of(record))
        return msgspec.json.encode(line).decode()


class TextFormatter(logging.Formatter):
    """``key=value`` pairs, quoted where needed, as lakeFS's text format writes them."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"time={_time(record)}", f"level={_level(record)}", f"msg={_quote(record.getMessage())}"]
        parts.extend(f"{key}={_quote(value)}" for key, value in fields_of(record).items())
        return " ".join(parts)


def _quote(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    if text and all(c.isalnum() or c in "-._/:@+" for c in text):
        return text
    return msgspec.json.encode(text).decode()


class LineHandler(logging.Handler):
    """Writes each line with one ``write`` to a descriptor (standard output or error)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _write_all(self.fd, (self.format(record) + "\n").encode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - a log line that cannot be written must not fail the request
            self.handleError(record)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that several processes append to (see the module's text)."""

    def __init__(self, path: str, max_bytes: int, keep: int) -> None:
        super().__init__(path, mode="a", maxBytes=max_bytes, backupCount=keep, encoding="utf-8")
        self.lock_path = self.baseFilename + ".lock"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = (self.format(record) + "\n").encode("utf-8", "replace")
            if self.stream is None:
                self.stream = self._open()
            fd = self.stream.fileno()
            # Opened for appending: the kernel puts each write at the end, whole.
            _write_all(fd, data)
            if os.fstat(fd).st_size >= self.maxBytes:
                self._rotate(fd)
        except Exception:  # noqa: BLE001 - a log line that cannot be written must not fail the request
            self.handleError(record)

    def _rotate(self, fd: int) -> None:
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            held = os.fstat(fd)
            try:
                current = os.stat(self.baseFilename)
            except FileNotFoundError:
                current = None
            ours = current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev)
            if ours and held.st_size >= self.maxBytes:
                if self.backupCount > 0:
                    self.doRollover()  # renames <file>.N-1 to <file>.N ... and reopens
                    return
                os.remove(self.baseFilename)
            # Another process rotated it already (or nothing is kept): write to the new file.
            if self.stream is not None:
                self.stream.close()
            self.stream = self._open()


def _handlers(config: Config) -> list[logging.Handler]:
    settings = config.logging
    handlers: list[logging.Handler] = []
    for output in settings.output:
        if output in _STDOUT:
            handlers.append(LineHandler(sys.stdout.fileno()))
        elif output in _STDERR:
            handlers.append(LineHandler(sys.stderr.fileno()))
        else:
            path = os.path.expanduser(output)
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            max_bytes = settings.file_max_size_mb * _MB
            handlers.append(SharedRotatingFileHandler(path, max_bytes, settings.files_keep))
    return handlers


def configure_logging(config: Config) -> None:
    """Send this process's log to ``logging.output`` at ``logging.level``, formatted as
    ``logging.format`` says; replaces whatever handlers the root logger had."""
    formatter: logging.Formatter = JsonFormatter() if config.logging.format == "json" else TextFormatter()
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in _handlers(config):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    # The HTTP server writes an access line only where its access logger has a handler
    # (found through the root's): ours is limnos.server.access_log's.
    access = logging.getLogger("uvicorn.access")
    access.propagate = False
    access.handlers = []
    level = config.log_level()
    root.setLevel(LEVELS[level])
    if config.logging.level.strip().upper() == "NONE":
        logging.disable(logging.CRITICAL)


def audit_level(config: Config) -> int:
    """The level of the per-request line: ``logging.audit_log_level``; ``NONE`` means
    DEBUG, as lakeFS has it."""
    if config.logging.audit_log_level.strip().upper() == "NONE":
        return logging.DEBUG
    return LEVELS[config.audit_log_level()]
