"""ClickHouse's HTTP interface served from chdb, so tests reach a store over a real socket.

No current ClickHouse server installs on the development machine, but `clickhouse-connect`'s
HTTP client is what a deployment uses. This small server speaks the part of the interface that
client needs — the statement in the ``query`` parameter or the body, ``param_*`` values, settings
as parameters, data after an INSERT, errors with ``X-ClickHouse-Exception-Code`` — over one
`chdb.session.Session` behind a lock, and checks the user and password it was started with.
"""

from __future__ import annotations

import base64
import gzip
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

# Parameters of the HTTP interface that are not settings.
_TRANSPORT = {
    "query",
    "database",
    "default_format",
    "session_id",
    "session_timeout",
    "session_check",
    "query_id",
    "compress",
    "decompress",
    "enable_http_compression",
    "wait_end_of_query",
    "user",
    "password",
    "quota_key",
    "client_protocol_version",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
    "buffer_size",
    "role",
}
_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*$", re.IGNORECASE)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)
_CODE = re.compile(r"Code: (\d+)")


def _form_fields(body: bytes, boundary: str) -> dict[str, str]:
    """The named fields of a multipart/form-data body."""
    fields: dict[str, str] = {}
    for part in body.split(b"--" + boundary.encode()):
        head, sep, value = part.partition(b"\r\n\r\n")
        found = re.search(rb'name="([^"]+)"', head)
        if sep and found:
            fields[found.group(1).decode()] = value.removesuffix(b"\r\n").decode()
    return fields


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(parts)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "lz4":
            import lz4.frame

            body = lz4.frame.decompress(body)
        elif encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "zstd":
            import zstandard

            body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
        self._handle(body)

    def _authorised(self, params: dict[str, str]) -> bool:
        user = self.headers.get("X-ClickHouse-User") or params.get("user")
        key = self.headers.get("X-ClickHouse-Key") or params.get("password")
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            user, _, key = base64.b64decode(basic[6:]).decode().partition(":")
        return (user or "default", key or "") == (self.server.user, self.server.password)

    def _handle(self, body: bytes) -> None:
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        if urlsplit(self.path).path == "/ping":
            self._answer(200, b"Ok.\n", "text/plain")
            return
        if not self._authorised(params):
            self._error("Code: 516. DB::Exception: default: Authentication failed. (AUTH_FAILED)")
            return
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("multipart/form-data"):
            # Large parameters come as form fields in the body, the statement among them.
            params.update(_form_fields(body, kind.split("boundary=", 1)[1].strip('"')))
            body = b""
        query = params.get("query")
        data = b""
        if query is None:
            # An INSERT's statement is the body's first line, its data the rest.
            head, _, rest = body.partition(b"\n")
            if _INSERT.match(head.decode(errors="replace")):
                query, data = head.decode(), rest
            else:
                query = body.decode()
        else:
            data = body
        values = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
        settings = {
            k: v for k, v in params.items() if k not in _TRANSPORT and not k.startswith("param_")
        }
        try:
            payload, fmt = self.server.run(query, data, values, settings, params)
        except Exception as exc:
            self._error(str(exc))
            return
        if self.server.lose_answers and _INSERT.match(query):
            # The insert is stored, but the client never hears back (a dropped connection).
            self.server.lose_answers -= 1
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._answer(200, payload, "application/octet-stream", fmt)

    def _answer(self, status: int, payload: bytes, kind: str, fmt: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-ClickHouse-Summary", '{"read_rows":"0","written_rows":"0"}')
        if fmt:
            self.send_header("X-ClickHouse-Format", fmt)
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, message: str) -> None:
        found = _CODE.search(message)
        code = found.group(1) if found else "1"
        payload = (message if message.startswith("Code:") else f"Code: {code}. {message}").encode()
        self.send_response(500)
        self.send_header("X-ClickHouse-Exception-Code", code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, path: Path, user: str, password: str) -> None:
        from chdb import session

        super().__init__(("127.0.0.1", 0), _Handler)
        self.session = session.Session(str(path))
        self.lock = threading.Lock()
        self.user = user
        self.password = password
        self.spool = Path(tempfile.mkdtemp(prefix="chdb-http-"))
        # How many of the next inserts are stored without an answer.
        self.lose_answers = 0

    def run(
        self,
        query: str,
        data: bytes,
        values: dict[str, str],
        settings: dict[str, str],
        params: dict[str, str],
    ) -> tuple[bytes, str]:
        """Runs one statement with its settings; returns the answer and its format."""
        with self.lock:
            database = params.get("database")
            if database:
                self.session.query(f"USE `{database}`", "CSV")
            for key, value in settings.items():
                self.session.query(f"SET {key} = '{value}'", "CSV")
            try:
                insert = _INSERT.match(query)
                if insert is not None:
                    table, fmt = insert.groups()
                    spooled = self.spool / "insert.bin"
                    spooled.write_bytes(data)
                    self.session.query(
                        f"INSERT INTO {table} SELECT * FROM file('{spooled}', '{fmt}')", "CSV"
                    )
                    return b"", fmt
                found = _FORMAT.search(query)
                fmt = found.group(1) if found else params.get("default_format", "TabSeparated")
                text = query[: found.start()] if found else query
                result = self.session.query(text, fmt, params=values or None)
                return result.bytes() if result is not None else b"", fmt
            finally:
                for key in settings:
                    self.session.query(f"SET {key} = DEFAULT", "CSV")
                if database:
                    self.session.query("USE default", "CSV")


@contextmanager
def clickhouse_http(path: Path, *, user: str = "footfall", password: str = "") -> Iterator[str]:
    """Serves ClickHouse's HTTP interface from chdb on `path`; yields the store URL."""
    with clickhouse_http_server(path, user=user, password=password) as (url, _):
        yield url


@contextmanager
def clickhouse_http_server(
    path: Path, *, user: str = "footfall", password: str = ""
) -> Iterator[tuple[str, Any]]:
    """Like `clickhouse_http`, also yielding the server (to make it lose answers)."""
    server = _Server(path, user, password)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
        yield f"clickhouse://{credentials}@127.0.0.1:{port}/footfall", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        server.session.close()
