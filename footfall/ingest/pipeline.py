"""The live ingest pipeline: an ordered list of named steps from request to stored rows.

Each step enriches the event or drops it with a reason that is counted (Plausible's
`Plausible.Ingestion.Event`). The HTTP handler only parses, calls `Pipeline.process` and answers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from footfall.clock import Clock
from footfall.ingest.caches import CacheFigures, lru_figures, module_cache_figures
from footfall.ingest.domains import root_domain
from footfall.ingest.geo import GeoLocator
from footfall.ingest.request import GOALS_WITH_PATH, MAX_PROPS, EventRequest
from footfall.ingest.salts import SaltRing
from footfall.ingest.sources import SourceClassifier, is_spam_referrer
from footfall.ingest.urls import PageUrl, parse_page_url_cached
from footfall.ingest.useragent import UserAgentInfo, UserAgentParser
from footfall.ingest.visitor import visitor_id
from footfall.sessions.store import Hit, Opening, SessionChange, SessionStore
from footfall.storage.schema import NO_SCROLL_DEPTH

# Most events have no custom properties: their rows share one pair of empty columns instead of
# two new lists each (every row lives until the apply thread stores it, about a second).
_NO_PROPS: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
# The visit attributes of a pending engagement event: it never opens a session.
_NO_VISIT = ("", "", "", "", "", "", "", "", "", "", "", 0, "", "", "", "", "")


class DropReason(StrEnum):
    """Why an event was answered 202 but not stored."""

    SPAM_REFERRER = "spam_referrer"
    NOT_FOUND = "not_found"
    DC_IP = "dc_ip"
    THREAT_IP = "threat_ip"
    BOT = "bot"
    NO_SESSION_FOR_ENGAGEMENT = "no_session_for_engagement"


@dataclass(frozen=True, slots=True)
class ClientContext:
    """What the request says about the sender, besides its body."""

    user_agent: str
    ip: str
    ip_type: str | None = None


@dataclass(slots=True)
class Outcome:
    """Rows to store for one request, and how many domain-events were dropped."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[SessionChange] = field(default_factory=list)
    dropped: int = 0


class Pipeline:
    """Turns validated event requests into event and session rows.

    Runs on the event loop thread only: its caches and the in-process session store are not
    locked. Without a session store (workers sharing their sessions) it leaves step 7 to the
    writer and returns pending rows (`footfall.ingest.deferred`).
    """

    def __init__(
        self,
        *,
        site_id_for: Callable[[str], int | None],
        salts: Callable[[], SaltRing],
        user_agents: UserAgentParser,
        geo: GeoLocator,
        sources: SourceClassifier,
        sessions: SessionStore | None,
        clock: Clock,
    ) -> None:
        self._site_id_for = site_id_for
        self._salts = salts
        self.user_agents = user_agents
        self.geo = geo
        self.sources = sources
        self._sessions = sessions
        self._clock = clock
        self.accepted = 0
        self.dropped: Counter[DropReason] = Counter()

    def process(self, request: EventRequest, client: ClientContext) -> Outcome:
        """Runs every step for each domain the event was sent to.

        Args:
            request: The validated body.
            client: User agent, IP and the optional IP classification header.

        Returns:
            The rows to commit and the number of dropped domain-events.
        """
        outcome = Outcome()
        reason = self._request_drop_reason(request, client)
        if reason is not None:
            self._drop(outcome, reason, len(request.domains))
            return outcome
        ua = self.user_agents.parse(client.user_agent)
        if ua.is_bot:
            self._drop(outcome, DropReason.BOT, len(request.domains))
            return outcome
        now = _naive_utc_second(self._clock.now())
        page = parse_page_url_cached(request.url, hash_mode=request.hash_mode)
        root = root_domain(page.hostname)
        salts = self._salts()
        props = _with_path(request, page.pathname)
        # Tuples, shared by the rows of every domain: immutable, and once the collector has
        # seen them it stops tracking them.
        props_keys, props_values = zip(*props, strict=True) if props else _NO_PROPS
        for domain in request.domains:
            site_id = self._site_id_for(domain)
            if site_id is None:
                self._drop(outcome, DropReason.NOT_FOUND)
                continue
            identity = (client.user_agent, client.ip, domain, root)
            visitors = _visitors(salts, identity)
            head = (site_id, now, request.name, page.hostname, page.pathname)
            tail = (
                props_keys,
                props_values,
                NO_SCROLL_DEPTH if request.scroll_depth is None else request.scroll_depth,
                request.engagement_time or 0,
                request.interactive,
            )
            if self._sessions is None:
                # Shared sessions are decided once the event is journalled.
                visit = (
                    _NO_VISIT
                    if request.name == "engagement"
                    else self._opening(request, page, props, client, ua).visit
                )
                previous = visitors[1] if len(visitors) > 1 else 0
                outcome.events.append((*head, visitors[0], 0, previous, *tail, *visit))
                self.accepted += 1
                continue
            tracked = self._sessions.track(
                site_id,
                visitors,
                Hit(now, request.name, page.hostname, page.pathname, request.interactive),
                lambda: self._opening(request, page, props, client, ua),
            )
            if tracked is None:
                self._drop(outcome, DropReason.NO_SESSION_FOR_ENGAGEMENT)
                continue
            session = tracked.session
            outcome.events.append(
                (
                    *head,
                    session.visitor_id,
                    session.visitor,
                    session.session_id,
                    *tail,
                    *session.visit,
                )
            )
            if tracked.change is not None:
                outcome.sessions.append(tracked.change)
            self.accepted += 1
        return outcome

    def cache_figures(self) -> dict[str, CacheFigures]:
        """Entries, bound and evictions of every bounded cache the pipeline reads."""
        return {
            "sessions": _session_figures(self._sessions),
            "user_agents": lru_figures(self.user_agents),
            "geo": lru_figures(self.geo),
            "sources": lru_figures(self.sources),
            **module_cache_figures(),
        }

    def _request_drop_reason(
        self, request: EventRequest, client: ClientContext
    ) -> DropReason | None:
        if is_spam_referrer(request.referrer):
            return DropReason.SPAM_REFERRER
        if client.ip_type == "dc_ip":
            return DropReason.DC_IP
        if client.ip_type == "threat_ip":
            return DropReason.THREAT_IP
        return None

    def _drop(self, outcome: Outcome, reason: DropReason, count: int = 1) -> None:
        outcome.dropped += count
        self.dropped[reason] += count

    def _opening(
        self,
        request: EventRequest,
        page: PageUrl,
        props: tuple[tuple[str, str], ...],
        client: ClientContext,
        ua: UserAgentInfo,
    ) -> Opening:
        """The visit attributes of a session this event opens: source, country, device."""
        source = self.sources.classify(
            referrer=request.referrer,
            page_hostname=page.hostname,
            query=page.query,
        )
        country = "A1" if client.ip_type == "anonymous_vpn_ip" else self.geo.country(client.ip)
        visit = (
            source.referrer,
            source.referrer_source,
            source.channel,
            source.utm_medium,
            source.utm_source,
            source.utm_campaign,
            source.utm_content,
            source.utm_term,
            source.click_id_param,
            country,
            "",
            0,
            ua.device,
            ua.browser,
            ua.browser_version,
            ua.os,
            ua.os_version,
        )
        return Opening(visit=visit, props=props)


def _session_figures(sessions: SessionStore | None) -> CacheFigures:
    if sessions is None:  # shared: none held here
        return CacheFigures(0, 0, 0)
    figures = sessions.figures()
    return CacheFigures(figures.entries, figures.capacity, figures.evictions)


def _naive_utc_second(now: dt.datetime) -> dt.datetime:
    """Event time as stored: UTC, whole seconds, without tzinfo (Plausible truncates too)."""
    if now.tzinfo is not dt.UTC:
        now = now.astimezone(dt.UTC)
    return now.replace(microsecond=0, tzinfo=None)


def _visitor(salt: bytes, identity: tuple[str, str, str, str]) -> int:
    user_agent, ip, domain, root = identity
    return visitor_id(salt, user_agent=user_agent, ip=ip, domain=domain, root_domain=root)


def _visitors(salts: SaltRing, identity: tuple[str, str, str, str]) -> tuple[int, ...]:
    """The visitor's hash under the current salt, then under the previous one if any."""
    current = _visitor(salts.current, identity)
    if salts.previous is None:
        return (current,)
    return current, _visitor(salts.previous, identity)


def _with_path(request: EventRequest, pathname: str) -> tuple[tuple[str, str], ...]:
    """Plausible fills `path` for 404 and form goals, first so that it survives the cap."""
    if request.name in GOALS_WITH_PATH and not any(k == "path" for k, _ in request.props):
        return (("path", pathname), *request.props)[:MAX_PROPS]
    return request.props
