"""Counts and times every request that goes through the middleware stack, per route template."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footfall.monitoring.metrics import REQUEST_SCOPE, Metrics, route_of


class MetricsMiddleware:
    """Counts and times every request that goes through the middleware stack (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Passes the request on, then records its route template, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees when the app raises before answering

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        token = REQUEST_SCOPE.set(scope)
        try:
            await self.app(scope, receive, send_recording)
        finally:
            REQUEST_SCOPE.reset(token)
            # The app's metrics belong to its services, bound when the lifespan opened them.
            metrics: Metrics | None = getattr(scope.get("app"), "metrics", None)
            if metrics is not None:
                metrics.observe(
                    scope["method"], route_of(scope), status, time.perf_counter() - started
                )
