"""Plausible's Sites API against a real `footfall serve` process, endpoint by endpoint.

Shapes, statuses and messages are Plausible's (its `external_sites_controller_test.exs` and
`external_sites_controller_sites_crud_api_test.exs`), on footfall's keys and roles: a key that
lacks the scope an operation needs gets 403, a site out of a key's reach is answered as one
that does not exist (404).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from footfall.meta.access import grant_site
from footfall.meta.audit import list_entries
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.settings import load_settings
from footfall.web.api.auth import MISSING_KEY
from footfall.web.api.sites_common import INVALID_SITES_KEY, NO_READ_SCOPE, NO_WRITE_SCOPE
from tests.conftest import CHROME_UA, ServerProcess, free_port

PASSWORD = "correct horse battery"


@dataclass
class Api:
    """The server, its metadata store, and a client per kind of key."""

    server: ServerProcess
    meta: Any
    keys: dict[str, str]

    def call(
        self, method: str, path: str, who: str | None = "writer", **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["authorization"] = f"Bearer {self.keys.get(who, who)}"
        return httpx.request(
            method, f"{self.server.url}{path}", headers=headers, timeout=30, **kwargs
        )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    data_dir = tmp_path_factory.mktemp("sites-api") / "data"
    settings = load_settings({"data_dir": data_dir}, environ={})
    meta = open_meta(settings)
    add_site(meta, domain="example.com")
    add_site(meta, domain="other.example")
    viewer = add_user(meta, email="viewer@example.com", role="viewer", password=PASSWORD)
    grant_site(meta, viewer.email, "example.com")
    keys = {
        "writer": create_key(meta, name="writer", scopes=("sites:write",))[1],
        "reader": create_key(meta, name="reader", scopes=("stats:read",))[1],
        "importer": create_key(meta, name="importer", scopes=("events:import",))[1],
        "viewer": create_key(meta, name="viewer", scopes=("stats:read",), user_email=viewer.email)[
            1
        ],
    }
    server = ServerProcess(data_dir=data_dir, port=free_port())
    server.start()
    try:
        yield Api(server, meta, keys)
    finally:
        server.stop()


# -- keys ------------------------------------------------------------------------------------


WRITES = [
    ("POST", "/api/v1/sites", {"domain": "new.example"}),
    ("PUT", "/api/v1/sites/example.com", {"domain": "renamed.example"}),
    ("DELETE", "/api/v1/sites/example.com", None),
    ("PUT", "/api/v1/sites/shared-links", {"site_id": "example.com", "name": "x"}),
    ("PUT", "/api/v1/sites/custom-props", {"site_id": "example.com", "property": "x"}),
    ("DELETE", "/api/v1/sites/custom-props/x?site_id=example.com", None),
    ("PUT", "/api/v1/sites/guests", {"site_id": "example.com", "email": "a@b.c", "role": "viewer"}),
    ("DELETE", "/api/v1/sites/guests/a@b.c?site_id=example.com", None),
    (
        "PUT",
        "/api/v1/sites/goals",
        {"site_id": "example.com", "goal_type": "event", "event_name": "X"},
    ),
    ("DELETE", "/api/v1/sites/goals/1?site_id=example.com", None),
]
READS = [
    "/api/v1/sites",
    "/api/v1/sites/teams",
    "/api/v1/sites/example.com",
    "/api/v1/sites/goals?site_id=example.com",
    "/api/v1/sites/custom-props?site_id=example.com",
    "/api/v1/sites/guests?site_id=example.com",
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_writes_need_a_key_with_sites_write(
    api: Api, method: str, path: str, body: dict[str, str] | None
) -> None:
    missing = api.call(method, path, who=None, json=body)
    assert (missing.status_code, missing.json()) == (401, {"error": MISSING_KEY})
    unknown = api.call(method, path, who="ff_not-a-key", json=body)
    assert (unknown.status_code, unknown.json()) == (401, {"error": INVALID_SITES_KEY})
    for who in ("reader", "viewer", "importer"):
        refused = api.call(method, path, who=who, json=body)
        assert (refused.status_code, refused.json()) == (403, {"error": NO_WRITE_SCOPE}), who


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_key_that_may_read(api: Api, path: str) -> None:
    missing = api.call("GET", path, who=None)
    assert (missing.status_code, missing.json()) == (401, {"error": MISSING_KEY})
    unknown = api.call("GET", path, who="ff_not-a-key")
    assert (unknown.status_code, unknown.json()) == (401, {"error": INVALID_SITES_KEY})
    refused = api.call("GET", path, who="importer")
    assert (refused.status_code, refused.json()) == (403, {"error": NO_READ_SCOPE})
    for who in ("reader", "writer", "viewer"):
        assert api.call("GET", path, who=who).status_code == 200, who


def test_a_site_out_of_reach_is_a_site_that_does_not_exist(api: Api) -> None:
    for path in (
        "/api/v1/sites/other.example",
        "/api/v1/sites/goals?site_id=other.example",
        "/api/v1/sites/custom-props?site_id=other.example",
        "/api/v1/sites/guests?site_id=other.example",
        "/api/v1/sites/nowhere.example",
    ):
        who = "reader" if "nowhere" in path else "viewer"
        answer = api.call("GET", path, who=who)
        assert (answer.status_code, answer.json()) == (404, {"error": "Site could not be found"})


# -- sites -----------------------------------------------------------------------------------


def test_create_list_get_and_paginate_sites(api: Api) -> None:
    created = api.call("POST", "/api/v1/sites", json={"domain": "a.example"})
    assert created.json() == {
        "domain": "a.example",
        "timezone": "Etc/UTC",
        "custom_properties": [],
        "retention_days": None,  # footfall's own
    }
    # Plausible's docs send a form.
    form = api.call(
        "POST", "/api/v1/sites", data={"domain": "b.example", "timezone": "Europe/Tallinn"}
    )
    assert form.json()["timezone"] == "Europe/Tallinn"
    assert api.call("GET", "/api/v1/sites/b.example", who="reader").json() == form.json()

    first = api.call("GET", "/api/v1/sites?limit=2", who="reader").json()
    assert [s["domain"] for s in first["sites"]] == ["b.example", "a.example"]
    assert first["sites"][0] == {"domain": "b.example", "timezone": "Europe/Tallinn"}
    assert first["meta"]["before"] is None and first["meta"]["limit"] == 2
    after = first["meta"]["after"]
    second = api.call("GET", f"/api/v1/sites?limit=2&after={after}", who="reader").json()
    domains = [s["domain"] for s in second["sites"]]
    assert domains[:2] == ["other.example", "example.com"][: len(domains[:2])]
    back = second["meta"]["before"]
    assert isinstance(back, str)
    again = api.call("GET", f"/api/v1/sites?limit=2&before={back}", who="reader").json()
    assert again["sites"] == first["sites"]
    # A viewer's key lists only the sites granted to the viewer.
    mine = api.call("GET", "/api/v1/sites", who="viewer").json()
    assert mine == {
        "sites": [{"domain": "example.com", "timezone": "UTC"}],
        "meta": {"after": None, "before": None, "limit": 100},
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "domain: can't be blank"),
        ({"domain": "c.example", "timezone": "d"}, "timezone: is invalid"),
        ({"domain": "example.com"}, "domain: This domain has already been taken"),
        ({"domain": 123}, "domain: is invalid"),
    ],
)
def test_create_refusals(api: Api, body: dict[str, Any], error: str) -> None:
    answer = api.call("POST", "/api/v1/sites", json=body)
    assert (answer.status_code, answer.json()) == (400, {"error": error})


def test_bad_limits_and_cursors(api: Api) -> None:
    for query in ("limit=0", "limit=1001", "after=x", "after=1&before=2"):
        assert api.call("GET", f"/api/v1/sites?{query}", who="reader").status_code == 400


def test_teams_lists_the_one_team(api: Api) -> None:
    answer = api.call("GET", "/api/v1/sites/teams", who="reader").json()
    (team,) = answer["teams"]
    assert team["api_available"] is True and team["name"]
    assert answer["meta"] == {"after": None, "before": None, "limit": 100}
    assert api.call("GET", "/api/v1/sites/teams", who="writer").json() == answer


def test_rename_keeps_the_old_domain_working(api: Api) -> None:
    api.call("POST", "/api/v1/sites", json={"domain": "old.example"})
    renamed = api.call("PUT", "/api/v1/sites/old.example", json={"domain": "new.example"})
    assert renamed.json() == {
        "domain": "new.example",
        "timezone": "Etc/UTC",
        "custom_properties": [],
        "retention_days": None,  # footfall's own
    }
    assert api.call("GET", "/api/v1/sites/old.example", who="reader").json() == renamed.json()
    # Events sent with the old domain still count for the site (Plausible's gate keeper).
    event = httpx.post(
        f"{api.server.url}/api/event",
        json={"n": "pageview", "u": "https://old.example/", "d": "old.example"},
        headers={"user-agent": CHROME_UA, "x-forwarded-for": "81.2.69.142"},
    )
    assert event.status_code == 202 and "x-plausible-dropped" not in event.headers
    same = api.call("PUT", "/api/v1/sites/new.example", json={"domain": "new.example"})
    assert same.json() == {"error": "domain: New domain must be different than the current one"}
    nothing = api.call("PUT", "/api/v1/sites/new.example", json={"foo": "bar"})
    assert nothing.json() == {
        "error": "Payload must contain at least one of the parameters 'domain', "
        "'tracker_script_configuration'"
    }
    taken = api.call("PUT", "/api/v1/sites/new.example", json={"domain": "example.com"})
    assert taken.json() == {"error": "domain: This domain has already been taken"}
    missing = api.call("PUT", "/api/v1/sites/nowhere.example", json={"domain": "x.example"})
    assert missing.status_code == 404


def test_delete_removes_the_site_and_its_events(api: Api) -> None:
    api.call("POST", "/api/v1/sites", json={"domain": "doomed.example"})
    sent = httpx.post(
        f"{api.server.url}/api/event",
        json={"n": "pageview", "u": "https://doomed.example/", "d": "doomed.example"},
        headers={"user-agent": CHROME_UA, "x-forwarded-for": "81.2.69.142"},
    )
    assert sent.status_code == 202 and "x-plausible-dropped" not in sent.headers
    deleted = api.call("DELETE", "/api/v1/sites/doomed.example")
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": True})
    assert api.call("GET", "/api/v1/sites/doomed.example", who="reader").status_code == 404
    again = api.call("DELETE", "/api/v1/sites/doomed.example")
    assert (again.status_code, again.json()) == (404, {"error": "Site could not be found"})
    # Registered again, the domain starts empty: the old events went with the site.
    api.call("POST", "/api/v1/sites", json={"domain": "doomed.example"})
    counted = api.call(
        "GET",
        "/api/v1/stats/aggregate?site_id=doomed.example&period=day",
        who="reader",
    ).json()
    assert counted == {"results": {"visitors": {"value": 0}}}
    actions = [(e.action, e.target, e.actor) for e in list_entries(api.meta, limit=100)]
    assert ("site.delete", "doomed.example", "key:writer") in actions


# -- shared links ----------------------------------------------------------------------------


def test_shared_links_are_found_or_created_by_name(api: Api) -> None:
    body = {"site_id": "example.com", "name": "WordPress"}
    first = api.call("PUT", "/api/v1/sites/shared-links", json=body).json()
    assert first["name"] == "WordPress"
    assert first["url"].startswith(f"{api.server.url}/share/")
    assert api.call("PUT", "/api/v1/sites/shared-links", data=body).json() == first
    page = httpx.get(first["url"])
    assert page.status_code == 200
    missing = api.call("PUT", "/api/v1/sites/shared-links", json={"name": "x"})
    assert missing.json() == {"error": "Parameter `site_id` is required to create a shared link"}
    unnamed = api.call("PUT", "/api/v1/sites/shared-links", json={"site_id": "example.com"})
    assert unnamed.json() == {"error": "Parameter `name` is required to create a shared link"}
    nowhere = api.call("PUT", "/api/v1/sites/shared-links", json={**body, "site_id": "bad"})
    assert (nowhere.status_code, nowhere.json()) == (404, {"error": "Site could not be found"})


# -- custom properties -----------------------------------------------------------------------


def test_custom_properties(api: Api) -> None:
    path = "/api/v1/sites/custom-props"
    for name in ("author", "prop1/key/with/slashes", "author"):
        answer = api.call("PUT", path, json={"site_id": "example.com", "property": name})
        assert (answer.status_code, answer.json()) == (200, {"created": True})
    listed = api.call("GET", f"{path}?site_id=example.com", who="reader").json()
    assert listed == {
        "custom_properties": [{"property": "author"}, {"property": "prop1/key/with/slashes"}]
    }
    site = api.call("GET", "/api/v1/sites/example.com", who="reader").json()
    assert site["custom_properties"] == ["author", "prop1/key/with/slashes"]
    gone = api.call("DELETE", f"{path}/prop1/key/with/slashes?site_id=example.com")
    assert gone.json() == {"deleted": True}
    assert api.call("DELETE", f"{path}/none", json={"site_id": "example.com"}).json() == {
        "deleted": True
    }
    listed = api.call("GET", f"{path}?site_id=example.com", who="reader").json()
    assert listed == {"custom_properties": [{"property": "author"}]}

    too_long = api.call("PUT", path, json={"site_id": "example.com", "property": "a" * 301})
    assert (too_long.status_code, too_long.json()) == (
        400,
        {"error": "Parameter `property` is too long"},
    )
    assert api.call("PUT", path, json={"property": "x"}).json() == {
        "error": "Parameter `site_id` is required to create a custom property"
    }
    assert api.call("PUT", path, json={"site_id": "example.com"}).json() == {
        "error": "Parameter `property` is required to create a custom property"
    }
    assert api.call("GET", path, who="reader").json() == {
        "error": "Parameter `site_id` is required to list custom properties"
    }


# -- guests ----------------------------------------------------------------------------------


def test_guests_are_viewer_grants_and_invitations(api: Api) -> None:
    path = "/api/v1/sites/guests"
    api.call("POST", "/api/v1/sites", json={"domain": "guests.example"})
    add_user(api.meta, email="known@example.com", role="viewer", password=PASSWORD)
    add_user(api.meta, email="boss@example.com", role="admin", password=PASSWORD)

    invited = api.call(
        "PUT",
        f"{path}?site_id=guests.example",
        json={"email": "new@example.com", "role": "viewer"},
    )
    assert invited.json() == {"email": "new@example.com", "role": "viewer", "status": "invited"}
    granted = api.call(
        "PUT",
        path,
        data={"site_id": "guests.example", "email": "Known@example.com", "role": "viewer"},
    )
    assert granted.json() == {
        "email": "known@example.com",
        "role": "viewer",
        "status": "accepted",
    }
    # Idempotent: the existing guest is answered as it is.
    again = api.call(
        "PUT",
        path,
        json={"site_id": "guests.example", "email": "new@example.com", "role": "viewer"},
    )
    assert again.json() == invited.json()

    listed = api.call("GET", f"{path}?site_id=guests.example", who="reader").json()
    assert [g["email"] for g in listed["guests"]] == ["known@example.com", "new@example.com"]
    assert listed["meta"] == {"after": None, "before": None, "limit": 100}
    first = api.call("GET", f"{path}?site_id=guests.example&limit=1", who="reader").json()
    assert [g["email"] for g in first["guests"]] == ["known@example.com"]
    after = first["meta"]["after"]
    second = api.call(
        "GET", f"{path}?site_id=guests.example&limit=1&after={after}", who="reader"
    ).json()
    assert [g["email"] for g in second["guests"]] == ["new@example.com"]
    assert second["meta"]["after"] is None and isinstance(second["meta"]["before"], str)

    # The invited address becomes a granted viewer when an account is made for it.
    add_user(api.meta, email="new@example.com", role="viewer", password=PASSWORD)
    listed = api.call("GET", f"{path}?site_id=guests.example", who="reader").json()
    assert {g["status"] for g in listed["guests"]} == {"accepted"}

    for body, error in [
        ({"email": "x@example.com", "role": "owner"}, "Parameter `role` is required"),
        ({"email": "x@example.com", "role": "editor"}, "footfall has no editor role"),
        ({"email": "boss@example.com", "role": "viewer"}, "is an admin"),
        ({"role": "viewer"}, "Parameter `email` is required to create guest"),
    ]:
        refused = api.call("PUT", path, json={"site_id": "guests.example", **body})
        assert refused.status_code == 400 and error in refused.json()["error"], body

    for email in ("new@example.com", "new@example.com", "boss@example.com"):
        gone = api.call("DELETE", f"{path}/{email}?site_id=guests.example")
        assert (gone.status_code, gone.json()) == (200, {"deleted": True})
    listed = api.call("GET", f"{path}?site_id=guests.example", who="reader").json()
    assert [g["email"] for g in listed["guests"]] == ["known@example.com"]
    assert api.call("DELETE", f"{path}/a@b.c").json() == {
        "error": "Parameter `site_id` is required to delete a guest"
    }


# -- goals -----------------------------------------------------------------------------------


def test_goals_through_the_server(api: Api) -> None:
    body = {"site_id": "example.com", "goal_type": "event", "event_name": "Signup"}
    made = api.call("PUT", "/api/v1/sites/goals", json=body).json()
    assert made["display_name"] == "Signup" and made["domain"] == "example.com"
    listed = api.call("GET", "/api/v1/sites/goals?site_id=example.com", who="viewer").json()
    assert [g["id"] for g in listed["goals"]] == [made["id"]]
    gone = api.call("DELETE", f"/api/v1/sites/goals/{made['id']}", json={"site_id": "example.com"})
    assert gone.json() == {"deleted": True}
    again = api.call("DELETE", f"/api/v1/sites/goals/{made['id']}?site_id=example.com")
    assert (again.status_code, again.json()) == (404, {"error": "Goal could not be found"})
