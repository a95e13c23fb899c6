"""`create_app(settings)`: the ASGI application. No app, engine or settings exist at import time."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from footfall.clock import Clock
from footfall.ingest.salts import next_rotation
from footfall.jobs.warming import run_cache_warmer
from footfall.monitoring.history import History
from footfall.monitoring.metrics import Metrics
from footfall.monitoring.sampler import HISTORY_FILE, run_sampler
from footfall.security.ratelimit import open_rate_limits
from footfall.security.signing import resolve_secret_key, signer_for
from footfall.services import Services
from footfall.settings import Settings
from footfall.stats.cache import open_cache
from footfall.stats.engine import StatsEngine
from footfall.storage.writer import GroupCommitWriter
from footfall.web.api import audit as audit_api
from footfall.web.api import debug as debug_api
from footfall.web.api import docs as api_docs
from footfall.web.api import event
from footfall.web.api import imports as importing
from footfall.web.api import sites as sites_api
from footfall.web.api import stats as stats_api
from footfall.web.api.probes import healthz, metrics_endpoint, readyz
from footfall.web.errors import EXCEPTION_HANDLERS, InternalErrorMiddleware, internal_error
from footfall.web.middleware import profiling
from footfall.web.middleware.metrics import MetricsMiddleware
from footfall.web.middleware.requestlog import RequestLogMiddleware
from footfall.web.middleware.security import ApiCorsMiddleware, SecurityHeadersMiddleware
from footfall.web.pages import accounts, dashboard, ops, site_settings, tracker
from footfall.web.pages.templating import static_files
from footfall.web.state import AppState

log = logging.getLogger(__name__)


async def _housekeeping(services: Services) -> None:
    """Rotates salts at 00:00 UTC and forgets sessions that can no longer continue."""
    clock = services.clock
    while True:
        now = clock.now()
        wait = min(60.0, (next_rotation(now) - now).total_seconds() + 0.5)
        await asyncio.sleep(max(wait, 0.5))
        now = clock.now()
        services.salts.ring(now)
        services.visitor_numbers.rotate(services.salts.ring(now).current_created)
        services.sessions.expire(
            now.astimezone(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=31)
        )


class FootfallApp(Starlette):
    """The Starlette app, with the ingest endpoint served ahead of routing and middleware.

    `POST /api/event` is the hot path: it answers its own CORS, sets no security headers and
    maps its own errors, so the router and the middleware layers would only cost time (a few
    per cent of its throughput, measured with bench/ingest_http.py).
    """

    def __init__(self, *args: Any, metrics: Metrics | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self._ingest = event.EventEndpoint()
        # One dict increment per ingest request (tens of ns, against tens of microseconds for
        # the request): no timing on the hot path.
        self._ingest_counts = metrics.ingest_requests if metrics else {"POST": 0, "OPTIONS": 0}

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
    """Builds the ASGI app; stores are opened in its lifespan and closed (flushed) after it.

    Raises:
        ConfigError: No secret key outside development (see footfall.security.signing).
    """
    settings = resolve_secret_key(settings)
    signer = signer_for(settings)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = Services.open(settings, clock=clock)
        writer = GroupCommitWriter(
            services.store,
            services.journal,
            loop=asyncio.get_running_loop(),
            max_batch=settings.commit_max_batch,
            max_wait_seconds=settings.commit_max_wait_ms / 1000,
            queue_limit=settings.ingest_queue_size,
            session_flush_seconds=settings.session_flush_ms / 1000,
            apply_interval_seconds=settings.apply_interval_ms / 1000,
        )
        stats = StatsEngine(
            services.store.cursor,
            cache=open_cache(settings),
            data_version=services.store.data_version,
            now=services.clock.now,
            timeout_seconds=settings.query_timeout_ms / 1000,
            live_ttl=settings.query_cache_live_ttl_s,
            past_ttl=settings.query_cache_past_ttl_s,
            on_query=metrics.on_query,
            generation=writer.generation,
        )
        rate_limits = open_rate_limits(settings)
        state = app.state.footfall = AppState(
            settings=settings,
            services=services,
            writer=writer,
            stats=stats,
            rate_limits=rate_limits,
            signer=signer,
            metrics=metrics,
            history=History(interval=settings.ops_sample_seconds),
        )
        history_file = settings.data_dir / HISTORY_FILE
        state.history.load(history_file, now=time.time())
        metrics.bind(
            settings=settings,
            writer=writer,
            pipeline=services.pipeline,
            cache=stats.cache,
            leaks=state.leaks,
            stats=stats,
            gc_stats=state.gc_stats,
            pools={
                "duckdb_cursors": services.store.cursor_pool.stats,
                "metadata": services.meta_pool_stats,
            },
            buffers={"writer_batch": writer.buffers},
        )
        keeper = asyncio.create_task(_housekeeping(services))
        sampler = asyncio.create_task(run_sampler(state, settings.ops_sample_seconds))
        warmer = (
            asyncio.create_task(
                run_cache_warmer(
                    stats,
                    writer.generation,
                    live_ttl=settings.query_cache_live_ttl_s,
                    budget_seconds=settings.cache_warming_budget_ms / 1000,
                )
            )
            if settings.cache_warming
            else None
        )
        # Start-up objects (parsers, tables, caches) live for the whole process: keep them out
        # of every collection, and collect the young generation less often on the hot path.
        # (The thresholds are explained in docs/adr/0010-memory-management.md.)
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        state.gc_stats.install()
        try:
            yield
        finally:
            state.gc_stats.uninstall()
            keeper.cancel()
            sampler.cancel()
            if warmer is not None:
                warmer.cancel()
            with contextlib.suppress(OSError):
                state.history.dump(history_file)
            state.tracer.close()
            writer.close()
            services.close()
            rate_limits.limiter.close()
            log.info("event store flushed and closed")

    routes = [
        Route("/api/event", event.EventEndpoint(), methods=["POST", "OPTIONS"]),
        Route("/api/import", importing.import_events, methods=["POST"]),
        Route("/api/v1/sites/goals", sites_api.put_goal, methods=["PUT"]),
        Route("/api/v1/sites/goals", sites_api.list_site_goals, methods=["GET"]),
        Route("/api/v1/sites/goals/{goal_id}", sites_api.delete_site_goal, methods=["DELETE"]),
        Route("/api/v1/audit", audit_api.audit_entries, methods=["GET"]),
        Route("/api/v1/debug/memory", debug_api.memory, methods=["GET"]),
        Route("/api/v1/debug/profile", profiling.profile_loop, methods=["GET"]),
        Route("/api/v1/stats/realtime/visitors", stats_api.realtime_visitors, methods=["GET"]),
        Route("/api/v1/stats/aggregate", stats_api.aggregate, methods=["GET"]),
        Route("/api/v1/stats/timeseries", stats_api.timeseries, methods=["GET"]),
        Route("/api/v1/stats/breakdown", stats_api.breakdown, methods=["GET"]),
        Route("/api/v2/query", stats_api.query_v2, methods=["POST"]),
        Route("/api/docs", api_docs.api_docs, methods=["GET"]),
        Route("/api/docs/openapi.json", api_docs.openapi_json, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        *tracker.ROUTES,
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Mount("/static", app=static_files(), name="static"),
        *accounts.ROUTES,
        *dashboard.ROUTES,
        *site_settings.ROUTES,
        *ops.ROUTES,
    ]
    # Outermost first: every response, a 500 included, gets a request id
    # (footfall.web.middleware.requestlog; not POST /api/event, served above) and the security and
    # CORS headers.
    middleware = [
        Middleware(
            RequestLogMiddleware,
            access_log=settings.access_log,
            trusted_proxies=settings.trusted_proxy_networks,
        ),
        Middleware(SecurityHeadersMiddleware, trusted_proxies=settings.trusted_proxy_networks),
    ]
    if settings.cors_origin_list:
        middleware.append(Middleware(ApiCorsMiddleware, origins=settings.cors_origin_list))
    middleware.append(Middleware(profiling.ProfileMiddleware))  # admins' ?profile=1
    middleware.append(Middleware(InternalErrorMiddleware))
    middleware.insert(0, Middleware(MetricsMiddleware, metrics=metrics))  # times everything
    return FootfallApp(
        metrics=metrics,
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
