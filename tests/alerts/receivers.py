"""Local receivers that record what footfall delivered: an HTTP webhook endpoint and SMTP.

Both listen on loopback ports the system picks (port 0) and keep every request or message.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Hook:
    """One request the webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers `statuses` in turn."""

    def __init__(self) -> None:
        self.received: list[Hook] = []
        self.statuses: list[int] = []  # answered first, one per request; then 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                receiver.received.append(
                    Hook(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Hook]:
        """Waits until `count` requests arrived; returns them."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"only {len(self.received)} of {count} arrived"
        return list(self.received)


@dataclass
class Mail:
    """One message the SMTP receiver accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None = None

    @property
    def subject(self) -> str:
        return str(self.message["subject"])

    def part(self, subtype: str) -> str:
        found = self.message.get_body(preferencelist=(subtype,))
        assert found is not None, f"no text/{subtype} part"
        return str(found.get_content())


@dataclass
class _Handler:
    mails: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        login = session.auth_data.login.decode() if session.auth_data else None
        self.mails.append(
            Mail(
                sender=str(envelope.mail_from),
                recipients=list(envelope.rcpt_tos),
                message=message,  # type: ignore[arg-type]
                login=login,
            )
        )
        return "250 OK"


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, optionally with STARTTLS and a login.

    Args:
        tls: An SSL context offering STARTTLS.
        credentials: (user, password) it accepts; with them, it requires a login.
    """

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.handler = _Handler()
        self._tls = tls
        self._credentials = credentials
        self._loop = asyncio.new_event_loop()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails

    def _authenticate(self) -> Callable[..., AuthResult]:
        expected = self._credentials

        def check(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and expected is not None
                and (data.login.decode(), data.password.decode()) == expected
            )
            return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

        return check

    def _protocol(self) -> SMTP:
        return SMTP(
            self.handler,
            hostname="localhost",
            tls_context=self._tls,
            require_starttls=self._tls is not None,
            authenticator=self._authenticate() if self._credentials else None,
            auth_required=self._credentials is not None,
            auth_require_tls=self._tls is not None,
            loop=self._loop,
        )

    def start(self) -> SmtpReceiver:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(self._protocol, sock=self._sock), self._loop
        )
        self._server = future.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._server is not None:
            # Python 3.11's Server wakes its waiters twice (TypeError in `_wakeup`) when a
            # connection, such as one whose TLS handshake failed, ends after `close`: let the
            # connections end first.
            deadline = time.monotonic() + 5
            while getattr(self._server, "_active_count", 0) and time.monotonic() < deadline:
                time.sleep(0.01)
            self._server.close()
            asyncio.run_coroutine_threadsafe(self._server.wait_closed(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while len(self.mails) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.mails) >= count, f"only {len(self.mails)} of {count} mails arrived"
        return list(self.mails)
