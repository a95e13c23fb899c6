"""Functions over the goals table: the conversions configured per site, as Plausible has them.

A goal counts either a custom event by its name or page views of a path (which may hold
wildcards). Its display name is what reports show; it is unique within a site.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import utcnow
from footfall.meta.tables import goals, sites

MAX_EVENT_NAME_CHARS = 120
MAX_PAGE_PATH_CHARS = 2000
MAX_DISPLAY_NAME_CHARS = 255
# Plausible's limit; it also bounds what one listing holds in memory.
MAX_GOALS_PER_SITE = 1000
# Plausible's bounds on a goal's custom properties.
MAX_CUSTOM_PROPS = 3
MAX_PROP_KEY_CHARS = 300
MAX_PROP_VALUE_CHARS = 2000
# Engagement events carry scroll depth and time on page; they are never conversions.
RESERVED_EVENT_NAMES = frozenset({"engagement"})


@dataclass(frozen=True, slots=True)
class Goal:
    """A configured conversion: a custom event name, or a pageview of a path (may hold `*`)."""

    id: int
    display_name: str
    event_name: str | None = None
    page_path: str | None = None
    custom_props: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> Literal["event", "page"]:
        """Whether the goal counts custom events or pageviews."""
        return "event" if self.event_name is not None else "page"


def _checked_length(what: str, value: str, limit: int) -> str:
    if not value:
        raise InvalidInputError(f"a goal's {what} cannot be blank")
    if "\x00" in value:
        # PostgreSQL cannot store one; refused on every backend alike.
        raise InvalidInputError(f"a goal's {what} cannot contain a NUL character")
    if len(value) > limit:
        raise InvalidInputError(
            f"a goal's {what} is {len(value)} characters long; the limit is {limit}"
        )
    return value


def _checked_target(event_name: str | None, page_path: str | None) -> tuple[str | None, str | None]:
    if event_name is not None and page_path is not None:
        raise InvalidInputError("a goal takes an event name or a page path, not both")
    if event_name is not None:
        name = _checked_length("event name", event_name.strip(), MAX_EVENT_NAME_CHARS)
        if name in RESERVED_EVENT_NAMES:
            raise InvalidInputError(f"the event name {name!r} is reserved and cannot be a goal")
        return name, None
    if page_path is not None:
        path = _checked_length("page path", page_path.strip(), MAX_PAGE_PATH_CHARS)
        if not path.startswith("/"):
            raise InvalidInputError(f"page path {path!r} must start with /, as in /{path}")
        return None, path
    raise InvalidInputError("a goal needs an event name or a page path")


def _checked_props(custom_props: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    if len(custom_props) > MAX_CUSTOM_PROPS:
        raise InvalidInputError(f"a goal can have at most {MAX_CUSTOM_PROPS} custom properties")
    for key, value in custom_props.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidInputError("a goal's custom properties must map strings to strings")
        if not 1 <= len(key) <= MAX_PROP_KEY_CHARS:
            raise InvalidInputError(
                f"custom property names must have 1 to {MAX_PROP_KEY_CHARS} characters"
            )
        if not 1 <= len(value) <= MAX_PROP_VALUE_CHARS:
            raise InvalidInputError(
                f"custom property {key!r} needs a value of 1 to {MAX_PROP_VALUE_CHARS} characters"
            )
    # One canonical order, so that equal sets of properties compare and store equal.
    return tuple(sorted(custom_props.items()))


def _props_text(props: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(props), ensure_ascii=False, sort_keys=True)


def _props_from_text(text: str) -> tuple[tuple[str, str], ...]:
    loaded = json.loads(text or "{}")
    return tuple(sorted((str(k), str(v)) for k, v in loaded.items()))


def _row_to_goal(row: sa.Row[tuple[object, ...]]) -> Goal:
    m = row._mapping
    return Goal(
        id=int(m["id"]),
        display_name=str(m["display_name"]),
        event_name=m["event_name"],
        page_path=m["page_path"],
        custom_props=_props_from_text(str(m["custom_props"])),
    )


def add_goal(
    engine: sa.Engine,
    site_id: int,
    *,
    event_name: str | None = None,
    page_path: str | None = None,
    display_name: str | None = None,
    custom_props: Mapping[str, str] | None = None,
    actor: Actor | None = None,
) -> Goal:
    """Creates a goal, or returns the existing one when an identical goal is already there.

    Args:
        engine: The metadata store.
        site_id: Id of the site the goal belongs to.
        event_name: Name of the custom event the goal counts (exclusive with `page_path`).
        page_path: Path of the page views the goal counts, starting with ``/``; it may hold
            Plausible's ``*`` and ``**`` wildcards.
        display_name: What reports call the goal; by default the event name, or
            ``"Visit " + page_path``.
        custom_props: Properties (at most 3) a conversion must also carry; none by default.
        actor: Who adds the goal; given, a new goal is recorded as ``goal.add`` in the same
            transaction (an existing one that is returned records nothing).

    Returns:
        The goal as stored. A goal with the same event name or page path and the same custom
        properties is returned as it is, unless a different display name is asked for.

    Raises:
        InvalidInputError: Neither or both of event and page, or a malformed value.
        NotFoundError: No site has `site_id`.
        ConflictError: The same goal exists under another display name, or another goal has
            the display name.
    """
    event_name, page_path = _checked_target(event_name, page_path)
    requested = None
    if display_name is not None:
        requested = _checked_length("display name", display_name.strip(), MAX_DISPLAY_NAME_CHARS)
    props = () if custom_props is None else _checked_props(custom_props)
    try:
        return _find_or_insert(engine, site_id, event_name, page_path, requested, props, actor)
    except sa.exc.IntegrityError:
        # Another writer added a goal between the checks and the insert: check against it.
        return _find_or_insert(engine, site_id, event_name, page_path, requested, props, actor)


def _describe(goal: Goal) -> str:
    target = f"event {goal.event_name!r}" if goal.kind == "event" else f"page {goal.page_path!r}"
    if goal.custom_props:
        target += " with " + ", ".join(f"{k}={v}" for k, v in goal.custom_props)
    return target


def _audit_target(domain: str, goal: Goal) -> str:
    return f"goal {goal.id} on {domain}"


def _snapshot(domain: str, goal: Goal) -> dict[str, object]:
    return {
        "site": domain,
        "display_name": goal.display_name,
        "event_name": goal.event_name,
        "page_path": goal.page_path,
        "custom_props": dict(goal.custom_props),
    }


def _find_or_insert(
    engine: sa.Engine,
    site_id: int,
    event_name: str | None,
    page_path: str | None,
    requested: str | None,
    props: tuple[tuple[str, str], ...],
    actor: Actor | None,
) -> Goal:
    if event_name is not None:
        target = goals.c.event_name == event_name
        display_name = requested or event_name
    else:
        target = goals.c.page_path == page_path
        display_name = requested or f"Visit {page_path}"
    props_text = _props_text(props)
    with engine.begin() as conn:
        domain = conn.execute(sa.select(sites.c.domain).where(sites.c.id == site_id)).scalar()
        if domain is None:
            raise NotFoundError(f"no site with id {site_id}")
        row = conn.execute(
            sa.select(goals).where(
                goals.c.site_id == site_id, target, goals.c.custom_props == props_text
            )
        ).first()
        if row is not None:
            found = _row_to_goal(row)
            if requested is not None and requested != found.display_name:
                raise ConflictError(
                    f"goal {found.id} already counts {_describe(found)}, with the display name "
                    f"{found.display_name!r}: delete it first to rename it"
                )
            return found
        if len(display_name) > MAX_DISPLAY_NAME_CHARS:
            # Only a default gets here: "Visit " and a long path, although the path is valid.
            raise InvalidInputError(
                f"the default display name would be {len(display_name)} characters long; the "
                f"limit is {MAX_DISPLAY_NAME_CHARS}: give the goal a display name"
            )
        taken = conn.execute(
            sa.select(goals.c.id).where(
                goals.c.site_id == site_id, goals.c.display_name == display_name
            )
        ).first()
        if taken is not None:
            raise ConflictError(
                f"goal {taken.id} already has the display name {display_name!r}: "
                "choose another display name"
            )
        count = conn.execute(
            sa.select(sa.func.count()).select_from(goals).where(goals.c.site_id == site_id)
        ).scalar_one()
        if count >= MAX_GOALS_PER_SITE:
            raise InvalidInputError(
                f"a site can have at most {MAX_GOALS_PER_SITE} goals: delete one first"
            )
        goal_id = conn.execute(
            goals.insert()
            .values(
                site_id=site_id,
                event_name=event_name,
                page_path=page_path,
                display_name=display_name,
                custom_props=props_text,
                created_at=utcnow(),
            )
            .returning(goals.c.id)
        ).scalar_one()
        goal = Goal(
            id=int(goal_id),
            display_name=display_name,
            event_name=event_name,
            page_path=page_path,
            custom_props=props,
        )
        record_change(
            conn, actor, "goal.add", _audit_target(domain, goal), after=_snapshot(domain, goal)
        )
    return goal


def list_goals(engine: sa.Engine, site_id: int) -> list[Goal]:
    """The goals of a site, oldest first (by id); empty for an unknown site."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(goals).where(goals.c.site_id == site_id).order_by(goals.c.id)
        ).all()
    return [_row_to_goal(row) for row in rows]


def get_goal(engine: sa.Engine, site_id: int, goal_id: int) -> Goal:
    """The goal `goal_id` of the site `site_id`.

    Raises:
        NotFoundError: The site has no such goal.
    """
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(goals).where(goals.c.site_id == site_id, goals.c.id == goal_id)
        ).first()
    if row is None:
        raise NotFoundError(f"no goal with id {goal_id} on this site")
    return _row_to_goal(row)


def delete_goal(
    engine: sa.Engine, site_id: int, goal_id: int, *, actor: Actor | None = None
) -> Goal:
    """Removes the goal `goal_id` of the site `site_id` and returns what was removed.

    With an `actor`, records ``goal.delete`` in the same transaction.

    Raises:
        NotFoundError: The site has no such goal (a goal of another site counts as none).
    """
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(goals).where(goals.c.site_id == site_id, goals.c.id == goal_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no goal with id {goal_id} on this site")
        conn.execute(goals.delete().where(goals.c.id == goal_id))
        goal = _row_to_goal(row)
        if actor is not None:
            domain = conn.execute(
                sa.select(sites.c.domain).where(sites.c.id == site_id)
            ).scalar_one()
            record_change(
                conn,
                actor,
                "goal.delete",
                _audit_target(domain, goal),
                before=_snapshot(domain, goal),
            )
    return goal
