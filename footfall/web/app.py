"""`create_app(settings)`: the ASGI application. No app, engine or settings exist at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import Receive, Scope, Send

from footfall.clock import Clock
from footfall.monitoring.metrics import Metrics
from footfall.security.signing import resolve_secret_key
from footfall.services import Services
from footfall.settings import Settings
from footfall.web.api import event
from footfall.web.errors import (
    EXCEPTION_HANDLERS,
    InternalErrorMiddleware,
    QuietLog,
    internal_error,
)
from footfall.web.middleware import profiling
from footfall.web.middleware.metrics import MetricsMiddleware
from footfall.web.middleware.requestlog import RequestLogMiddleware
from footfall.web.middleware.security import ApiCorsMiddleware, SecurityHeadersMiddleware
from footfall.web.routes import routes

log = logging.getLogger(__name__)


class FootfallApp(Starlette):
    """The Starlette app, with the ingest endpoint served ahead of routing and middleware.

    `POST /api/event` is the hot path: it answers its own CORS, sets no security headers and
    maps its own errors, so the router and the middleware layers would only cost time (a few
    per cent of its throughput, measured with bench/ingest_http.py).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics: Metrics | None = None
        self.quiet_log = QuietLog()
        self._ingest = event.EventEndpoint()
        # One dict increment per ingest request (tens of ns, against tens of microseconds for
        # the request): no timing on the hot path.
        self._ingest_counts = {"POST": 0, "OPTIONS": 0}

    def bind_metrics(self, metrics: Metrics) -> None:
        """Records requests in `metrics` from now on (the lifespan's services own them)."""
        metrics.ingest_requests.update(self._ingest_counts)
        self._ingest_counts = metrics.ingest_requests
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatches one ASGI connection."""
        if (
            scope["type"] == "http"
            and scope["path"] == "/api/event"
            and scope["method"] in ("POST", "OPTIONS")
        ):
            scope["app"] = self
            self._ingest_counts[scope["method"]] += 1
            try:
                await self._ingest(scope, receive, send)
            except Exception as exc:
                try:
                    await internal_error(scope, exc)(scope, receive, send)
                except Exception:
                    raise exc from None  # the answer had already started
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FootfallApp:
    """Builds the ASGI app; its lifespan opens the services (`footfall.services`) and closes them.

    Raises:
        ConfigError: No secret key outside development (see footfall.security.signing).
    """
    settings = resolve_secret_key(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = Services.open(settings, clock=clock)
        services.start(asyncio.get_running_loop())
        app.state.footfall = services
        if isinstance(app, FootfallApp):
            app.bind_metrics(services.metrics)
        try:
            yield
        finally:
            await services.stop()
            services.close()
            log.info("event store flushed and closed")

    # Outermost first: every response, a 500 included, gets a request id (not POST /api/event,
    # served above; footfall.web.middleware.requestlog) and the security and CORS headers.
    middleware = [
        Middleware(MetricsMiddleware),  # times everything
        Middleware(
            RequestLogMiddleware,
            access_log=settings.access_log,
            trusted_proxies=settings.trusted_proxy_networks,
            client_ip_header=settings.client_ip_header,
        ),
        Middleware(SecurityHeadersMiddleware, trusted_proxies=settings.trusted_proxy_networks),
    ]
    if settings.cors_origin_list:
        middleware.append(Middleware(ApiCorsMiddleware, origins=settings.cors_origin_list))
    middleware.append(Middleware(profiling.ProfileMiddleware))  # admins' ?profile=1
    middleware.append(Middleware(InternalErrorMiddleware))
    return FootfallApp(
        routes=routes(),
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
