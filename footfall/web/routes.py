"""Every route footfall serves, in one list (``POST /api/event`` is also served ahead of it)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from footfall.web.api import (
    admin,
    audit,
    debug,
    docs,
    event,
    imports,
    probes,
    site_goals,
    site_guests,
    site_props,
    sites,
    stats,
)
from footfall.web.api import alerts as alerts_api
from footfall.web.middleware import profiling
from footfall.web.pages import (
    account,
    accounts,
    admin_sites,
    admin_users,
    alerts,
    dashboard,
    favicon,
    ops,
    reports,
    site_data,
    site_settings,
    tracker,
)
from footfall.web.pages.templating import static_files


def routes() -> list[BaseRoute]:
    """The app's routes, JSON APIs first, then probes, assets and pages."""
    return [
        Route("/api/event", event.EventEndpoint(), methods=["POST", "OPTIONS"]),
        Route("/api/import", imports.import_events, methods=["POST"]),
        # The Sites API: literal paths before the ones that take a site's domain.
        Route("/api/v1/sites", sites.list_all_sites, methods=["GET"]),
        Route("/api/v1/sites", sites.create_site, methods=["POST"]),
        Route("/api/v1/sites/teams", sites.list_teams, methods=["GET"]),
        Route("/api/v1/sites/shared-links", sites.put_shared_link, methods=["PUT"]),
        Route("/api/v1/sites/goals", site_goals.put_goal, methods=["PUT"]),
        Route("/api/v1/sites/goals", site_goals.list_site_goals, methods=["GET"]),
        Route("/api/v1/sites/goals/{goal_id}", site_goals.delete_site_goal, methods=["DELETE"]),
        Route("/api/v1/sites/custom-props", site_props.list_props, methods=["GET"]),
        Route("/api/v1/sites/custom-props", site_props.put_prop, methods=["PUT"]),
        Route(
            "/api/v1/sites/custom-props/{property:path}",
            site_props.delete_prop,
            methods=["DELETE"],
        ),
        Route("/api/v1/sites/guests", site_guests.list_site_guests, methods=["GET"]),
        Route("/api/v1/sites/guests", site_guests.put_guest, methods=["PUT"]),
        Route("/api/v1/sites/guests/{email}", site_guests.delete_guest, methods=["DELETE"]),
        Route("/api/v1/sites/{site_id}", sites.get_one_site, methods=["GET"]),
        Route("/api/v1/sites/{site_id}", sites.update_site, methods=["PUT"]),
        Route("/api/v1/sites/{site_id}", sites.delete_one_site, methods=["DELETE"]),
        Route("/api/v1/audit", audit.audit_entries, methods=["GET"]),
        Route("/api/v1/admin/backup", admin.backup, methods=["POST"]),
        Route("/api/v1/admin/export", admin.export, methods=["GET"]),
        Route("/api/v1/admin/retention", admin.retention, methods=["POST"]),
        Route("/api/v1/admin/sites/{domain}/reset", admin.reset, methods=["POST"]),
        Route("/api/v1/alerts", alerts_api.list_alerts, methods=["GET"]),
        Route("/api/v1/alerts", alerts_api.create_alert, methods=["POST"]),
        Route("/api/v1/alerts/deliveries", alerts_api.list_deliveries, methods=["GET"]),
        Route("/api/v1/alerts/{name}", alerts_api.get_alert, methods=["GET"]),
        Route("/api/v1/alerts/{name}", alerts_api.delete_alert, methods=["DELETE"]),
        Route("/api/v1/alerts/{name}/test", alerts_api.test_alert, methods=["POST"]),
        Route("/api/v1/alerts/{name}/acknowledge", alerts_api.acknowledge_alert, methods=["POST"]),
        Route("/api/v1/alerts/{name}/silence", alerts_api.silence_alert, methods=["POST"]),
        Route("/api/v1/debug/memory", debug.memory, methods=["GET"]),
        Route("/api/v1/debug/profile", profiling.profile_loop, methods=["GET"]),
        Route("/api/v1/stats/realtime/visitors", stats.realtime_visitors, methods=["GET"]),
        Route("/api/v1/stats/aggregate", stats.aggregate, methods=["GET"]),
        Route("/api/v1/stats/timeseries", stats.timeseries, methods=["GET"]),
        Route("/api/v1/stats/breakdown", stats.breakdown, methods=["GET"]),
        Route("/api/v2/query", stats.query_v2, methods=["POST"]),
        Route("/api/docs", docs.api_docs, methods=["GET"]),
        Route("/api/docs/openapi.json", docs.openapi_json, methods=["GET"]),
        Route("/healthz", probes.healthz, methods=["GET"]),
        *tracker.ROUTES,
        Route("/readyz", probes.readyz, methods=["GET"]),
        Route("/metrics", probes.metrics_endpoint, methods=["GET"]),
        Mount("/static", app=static_files(), name="static"),
        *favicon.ROUTES,
        *accounts.ROUTES,
        *account.ROUTES,
        *admin_sites.ROUTES,
        *admin_users.ROUTES,
        *dashboard.ROUTES,
        *reports.ROUTES,
        *site_settings.ROUTES,
        *site_data.ROUTES,
        *ops.ROUTES,
        *alerts.ROUTES,
    ]
