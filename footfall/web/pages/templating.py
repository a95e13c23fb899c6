"""Server-rendered HTML: one Jinja2 environment with autoescaping, and the static assets.

Every page extends ``base.html``. Templates never contain inline script or style (the
Content-Security-Policy forbids both), and every value is escaped unless a template says
otherwise, which none does.
"""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from footfall.web.pages.formatting import FILTERS

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("footfall.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(FILTERS)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Renders `template` with `context` (plus the request) into an HTML response.

    Pages are never cached by shared caches: most show data for one signed-in user.
    """
    body = _ENV.get_template(template).render({"request": request, **(context or {})})
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers.setdefault("cache-control", "no-store")
    return response


def static_files() -> StaticFiles:
    """The ASGI app serving ``footfall/web/static`` (mounted at ``/static``)."""
    return StaticFiles(packages=[("footfall.web", "static")])
