"""Traffic source attribution: referrer, source, UTM tags, click ids and channel.

Implements Plausible's rules (reference §2.3 and §2.4):

* the *source* comes from a ``utm_source`` / ``source`` / ``ref`` tag when present (even
  empty), otherwise from a valid referrer, looked up in the Snowplow referer-parser
  database bundled with the ``referer-parser`` package (``Google``, ``Facebook`` …) or
  else kept as the referrer host; it is then normalised case-insensitively against all
  known source names plus footfall's ``data/custom_sources.json``;
* the *channel* ("Organic Search", "Paid Social", "Direct" …) follows the rule order of
  the ClickHouse ``acquisition_channel`` SQL function, using the source categories in
  ``data/source_categories.csv``.

Also provides the referrer-spam check (``data/spam_referrers.txt``).
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Final

from footfall.ingest.urls import CLICK_ID_PARAMS, SplitUrl, split_url, strip_www

__all__ = [
    "CHANNELS",
    "SourceClassifier",
    "VisitSource",
    "acquisition_channel",
    "contains_email",
    "is_paid_medium",
    "is_paid_utm_source",
    "is_shopping_campaign",
    "is_spam_referrer",
    "source_category",
]

SEARCH: Final = "SEARCH"
SOCIAL: Final = "SOCIAL"
SHOPPING: Final = "SHOPPING"
VIDEO: Final = "VIDEO"
EMAIL: Final = "EMAIL"

#: Every channel ``acquisition_channel`` can return.
CHANNELS: Final[tuple[str, ...]] = (
    "Cross-network",
    "Display",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Referral",
    "Direct",
)

_REFERRAL_SCHEMES: Final = frozenset({"http", "https", "android-app"})
_ANDROID_APP: Final = "android-app"
_MAX_HOST_LENGTH: Final = 253
# Query parameters that influence classification; only these form the cache key.
_TAG_PARAMS: Final = ("utm_source", "source", "ref")
_UTM_PARAMS: Final = ("utm_medium", "utm_campaign", "utm_content", "utm_term")
#: Every query parameter `SourceClassifier.classify` reads; the rest of a query never matters.
SOURCE_PARAMS: Final = (*_TAG_PARAMS, *_UTM_PARAMS, *CLICK_ID_PARAMS)

_DISPLAY_MEDIUMS: Final = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIUMS: Final = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
_REFERRAL_MEDIUMS: Final = frozenset({"referral", "app", "link"})

# Mirrors the ClickHouse regexes; ClickHouse `match` treats '.' as matching newlines too.
_PAID_MEDIUM_RE: Final = re.compile(r".*cp.*|ppc|retargeting|paid.*", re.DOTALL)
_SHOPPING_CAMPAIGN_RE: Final = re.compile(r".*(?:(?:[^a-df-z]|^)shop|shopping).*", re.DOTALL)
_EMAIL_RE: Final = re.compile(r"e[-_ ]?mail|newsletter")


def _data_text(name: str) -> str:
    return (files("footfall.ingest") / "data" / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- data loading


@functools.cache
def _custom_sources() -> dict[str, str]:
    data: dict[str, str] = json.loads(_data_text("custom_sources.json"))
    return {key.lower(): value for key, value in data.items()}


@functools.cache
def _paid_sources() -> frozenset[str]:
    # Plausible: "adwords" plus every custom-source key ending in "ads" or "ad".
    keys = {key for key in _custom_sources() if key.endswith(("ads", "ad"))}
    return frozenset({"adwords", *keys})


@functools.cache
def _source_categories() -> dict[str, str]:
    reader = csv.DictReader(io.StringIO(_data_text("source_categories.csv")))
    return {row["source"].strip().lower(): row["category"].strip() for row in reader}


@functools.cache
def _spam_domains() -> frozenset[str]:
    lines = (line.strip().lower() for line in _data_text("spam_referrers.txt").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _referers_json_path() -> Path:
    # Locate the package's data without importing it: its __init__ parses the whole
    # JSON into its own structures at import time, which we would not use.
    spec = importlib.util.find_spec("referer_parser")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the referer-parser package (Snowplow referer database) is missing")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "referers.json"


@dataclass(frozen=True, slots=True)
class _RefererIndex:
    """Host → source name, plus host → [(path prefix, name)] for path-specific entries."""

    hosts: dict[str, str]
    paths: dict[str, list[tuple[str, str]]]
    names: frozenset[str]

    def lookup(self, host: str, path: str) -> str | None:
        # Like referer-parser: path-specific entries are tried first at every level
        # (www.google.com/imgres → "Google Images" via google.com/imgres), then the
        # most specific host entry (a.b.example.com, b.example.com, example.com, com).
        suffixes = _host_suffixes(host)
        for suffix in suffixes:
            for prefix, name in self.paths.get(suffix, ()):
                if path == prefix or path.startswith(prefix + "/"):
                    return name
        for suffix in suffixes:
            host_name = self.hosts.get(suffix)
            if host_name is not None:
                return host_name
        return None


def _host_suffixes(host: str) -> list[str]:
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


@functools.cache
def _referer_index() -> _RefererIndex:
    raw = json.loads(_referers_json_path().read_text(encoding="utf-8"))
    hosts: dict[str, str] = {}
    paths: dict[str, list[tuple[str, str]]] = {}
    names: set[str] = set()
    for entries in raw.values():  # keyed by medium: search, social, email, unknown
        for name, config in entries.items():
            names.add(name)
            for domain in config.get("domains", ()):
                host, slash, path = domain.lower().partition("/")
                if slash:
                    prefix = "/" + path.rstrip("/")
                    paths.setdefault(host, []).append((prefix, name))
                else:
                    hosts.setdefault(host, name)
    # Entries listed only as "www.example.com" should also match "example.com".
    for host, name in list(hosts.items()):
        if host.startswith("www."):
            hosts.setdefault(host[4:], name)
    for prefixes in paths.values():
        prefixes.sort(key=lambda item: len(item[0]), reverse=True)
    # footfall's own domain entries (e.g. chatgpt.com, t.me, wikipedia.org) take precedence
    # over the Snowplow ones for the same host, and also match subdomains.
    for key, name in _custom_sources().items():
        if "." in key and "://" not in key and " " not in key:
            hosts[key] = name
    return _RefererIndex(hosts=hosts, paths=paths, names=frozenset(names))


@functools.cache
def _source_names() -> dict[str, str]:
    """Lower-cased alias → canonical source name (Plausible's ``Source.find_mapping``)."""
    table = {name.lower(): name for name in sorted(_referer_index().names)}
    for key, name in _custom_sources().items():
        table[key] = name
        table[name.lower()] = name
    return table


# ----------------------------------------------------------------------- channel helpers


def source_category(source: str) -> str:
    """Returns the category of a (normalised) source name.

    Args:
        source: A source such as ``Google`` or ``news.example.com`` (any case).

    Returns:
        One of ``SEARCH``, ``SOCIAL``, ``SHOPPING``, ``VIDEO``, ``EMAIL``, or ``""``.
    """
    return _source_categories().get(source.lower(), "")


def is_paid_medium(medium: str) -> bool:
    """Whether a lower-cased ``utm_medium`` denotes paid traffic (``cpc``, ``ppc``, ``paid…``)."""
    return _PAID_MEDIUM_RE.fullmatch(medium) is not None


def is_shopping_campaign(campaign: str) -> bool:
    """Whether a lower-cased ``utm_campaign`` names a shopping campaign."""
    return _SHOPPING_CAMPAIGN_RE.fullmatch(campaign) is not None


def contains_email(value: str) -> bool:
    """Whether a lower-cased tag mentions e-mail (``email``, ``e-mail``, ``newsletter`` …)."""
    return _EMAIL_RE.search(value) is not None


def is_paid_utm_source(utm_source: str) -> bool:
    """Whether a lower-cased ``utm_source`` is a known ad-platform tag (``adwords``, ``fb-ads``)."""
    return utm_source in _paid_sources()


def acquisition_channel(
    *,
    referrer_source: str,
    utm_medium: str,
    utm_campaign: str,
    utm_source: str,
    click_id_param: str,
) -> str:
    """Classifies a session into an acquisition channel.

    Follows the rule order of Plausible's ClickHouse ``acquisition_channel`` function
    (reference §2.4): the first matching rule wins. Inputs are lower-cased here.

    Args:
        referrer_source: The normalised source (``Google``, ``example.com``, or ``""``).
        utm_medium: Stored medium, including an inferred ``(gclid)``/``(msclkid)``.
        utm_campaign: Raw ``utm_campaign``.
        utm_source: Raw tagged source (``utm_source``/``source``/``ref``).
        click_id_param: Name of the click-id parameter present, or ``""``.

    Returns:
        One of :data:`CHANNELS`.
    """
    source = referrer_source.lower()
    medium = utm_medium.lower()
    campaign = utm_campaign.lower()
    tag = utm_source.lower()
    category = source_category(source)
    paid_medium = is_paid_medium(medium)
    paid_tag = is_paid_utm_source(tag)
    shopping_campaign = is_shopping_campaign(campaign)

    if "cross-network" in campaign:
        return "Cross-network"
    if medium in _DISPLAY_MEDIUMS:
        return "Display"
    if paid_medium and (category == SHOPPING or shopping_campaign):
        return "Paid Shopping"
    if (
        (category == SEARCH and (paid_medium or paid_tag))
        or (source == "google" and click_id_param == "gclid")
        or (source == "bing" and click_id_param == "msclkid")
    ):
        return "Paid Search"
    if category == SOCIAL and (paid_medium or paid_tag):
        return "Paid Social"
    if category == VIDEO and (paid_medium or paid_tag):
        return "Paid Video"
    if paid_medium:
        return "Paid Other"
    if category == SHOPPING or shopping_campaign:
        return "Organic Shopping"
    if category == SOCIAL or medium in _SOCIAL_MEDIUMS:
        return "Organic Social"
    if category == VIDEO or "video" in medium:
        return "Organic Video"
    if category == SEARCH:
        return "Organic Search"
    if category == EMAIL or contains_email(tag) or contains_email(medium):
        return "Email"
    if medium == "affiliate":
        return "Affiliates"
    if medium == "audio":
        return "Audio"
    if tag == "sms" or medium == "sms":
        return "SMS"
    if (
        medium.endswith("push")
        or "mobile" in medium
        or "notification" in medium
        or source == "firebase"
    ):
        return "Mobile Push Notifications"
    if medium in _REFERRAL_MEDIUMS or source:
        return "Referral"
    return "Direct"


# ------------------------------------------------------------------------------ sources


def _referrer_host(parts: SplitUrl) -> str:
    host = strip_www(parts.host or "")
    return f"android-app://{host}" if parts.scheme == _ANDROID_APP else host


def _is_valid_referral(parts: SplitUrl | None, page_hostname: str) -> bool:
    if parts is None or parts.scheme not in _REFERRAL_SCHEMES or not parts.host:
        return False
    host = strip_www(parts.host)
    return bool(host) and host != strip_www(page_hostname) and host != "localhost"


def _click_id_param(query: Mapping[str, str]) -> str:
    return next((param for param in CLICK_ID_PARAMS if param in query), "")


@functools.lru_cache(maxsize=16_384)
def is_spam_referrer(referrer: str | None) -> bool:
    """Whether the referrer's host (or a parent domain of it) is a known referrer spammer.

    Args:
        referrer: The raw referrer URL, or ``None``.

    Returns:
        True if the event should be dropped as referrer spam. Never raises.
    """
    if not referrer:
        return False
    host = strip_www(split_url(referrer).host or "")
    if len(host) > _MAX_HOST_LENGTH:
        return False
    spam = _spam_domains()
    while "." in host:  # stop before the bare TLD
        if host in spam:
            return True
        host = host.partition(".")[2]
    return False


@dataclass(frozen=True, slots=True)
class VisitSource:
    """Session acquisition attributes, as stored by Plausible. Absent values are ``""``.

    Attributes:
        referrer: ``host/path`` of a valid referrer (``facebook.com/page``).
        referrer_source: Normalised source (``visit:source``), e.g. ``Google``.
        utm_medium: ``utm_medium``, or ``(gclid)``/``(msclkid)`` when inferred.
        utm_source: Raw tagged source (``utm_source``, else ``source``, else ``ref``).
        utm_campaign: Raw ``utm_campaign``.
        utm_content: Raw ``utm_content``.
        utm_term: Raw ``utm_term``.
        click_id_param: First click-id parameter present (``gclid``, ``msclkid`` …).
        channel: Acquisition channel (``visit:channel``), e.g. ``Organic Search``.
    """

    referrer: str
    referrer_source: str
    utm_medium: str
    utm_source: str
    utm_campaign: str
    utm_content: str
    utm_term: str
    click_id_param: str
    channel: str


class SourceClassifier:
    """Derives a :class:`VisitSource` from referrer, page host and query parameters.

    Results are cached (bounded LRU) on the inputs that matter, since the same few
    referrer/tag combinations make up most traffic. Safe to share between threads.
    """

    def __init__(self, *, cache_size: int = 50_000) -> None:
        """Loads the referer database and source tables (shared process-wide).

        Args:
            cache_size: Maximum number of distinct input combinations whose results are kept.
        """
        self._index = _referer_index()
        self._names = _source_names()
        _source_categories()
        _paid_sources()
        self._classify_cached = functools.lru_cache(maxsize=cache_size)(self._classify)

    def classify(
        self, *, referrer: str | None, page_hostname: str, query: Mapping[str, str]
    ) -> VisitSource:
        """Classifies the traffic source of a session's first event.

        Args:
            referrer: The raw referrer URL sent by the tracker, or ``None``.
            page_hostname: Hostname of the page (self-referrals are ignored).
            query: Decoded query parameters of the page URL.

        Returns:
            The source attributes. Never raises.
        """
        return self._classify_cached(
            referrer or "",
            page_hostname,
            *(query.get(param) for param in _TAG_PARAMS),
            *(query.get(param) for param in _UTM_PARAMS),
            _click_id_param(query),
        )

    def cache_info(self) -> functools._CacheInfo:
        """Hits, misses, size and bound of the result cache."""
        return self._classify_cached.cache_info()

    def normalise_source(self, source: str) -> str:
        """Maps a source name or alias to its canonical spelling (``ig`` → ``Instagram``).

        Args:
            source: A tagged source or referrer-derived source.

        Returns:
            The canonical name when known (case-insensitive), else ``source`` unchanged.
        """
        return self._names.get(source.lower(), source)

    def _source_from_referrer(self, parts: SplitUrl) -> str:
        host = (parts.host or "").strip().lower()
        # Real host names are at most 253 characters; longer ones cannot be in the index.
        if parts.scheme != _ANDROID_APP and len(host) <= _MAX_HOST_LENGTH:
            name = self._index.lookup(host, parts.path)
            if name is not None:
                return name
        return _referrer_host(parts)

    def _classify(
        self,
        referrer: str,
        page_hostname: str,
        utm_source: str | None,
        source: str | None,
        ref: str | None,
        utm_medium: str | None,
        utm_campaign: str | None,
        utm_content: str | None,
        utm_term: str | None,
        click_id_param: str,
    ) -> VisitSource:
        parts = split_url(referrer) if referrer else None
        valid_referral = _is_valid_referral(parts, page_hostname)

        # "First present wins": an empty utm_source= still beats the referrer.
        tagged = next((tag for tag in (utm_source, source, ref) if tag is not None), None)
        if tagged is not None:
            raw_source = tagged
        elif valid_referral and parts is not None:
            raw_source = self._source_from_referrer(parts)
        else:
            raw_source = ""
        referrer_source = self.normalise_source(raw_source) if raw_source else ""

        referrer_text = ""
        if valid_referral and parts is not None:
            referrer_text = _referrer_host(parts) + parts.path.rstrip("/")

        medium = utm_medium
        if medium is None:
            # Plausible infers a medium only when utm_medium is absent (not merely empty).
            if referrer_source == "Google" and click_id_param == "gclid":
                medium = "(gclid)"
            elif referrer_source == "Bing" and click_id_param == "msclkid":
                medium = "(msclkid)"
            else:
                medium = ""

        campaign = utm_campaign or ""
        tag = tagged or ""
        return VisitSource(
            referrer=referrer_text,
            referrer_source=referrer_source,
            utm_medium=medium,
            utm_source=tag,
            utm_campaign=campaign,
            utm_content=utm_content or "",
            utm_term=utm_term or "",
            click_id_param=click_id_param,
            channel=acquisition_channel(
                referrer_source=referrer_source,
                utm_medium=medium,
                utm_campaign=campaign,
                utm_source=tag,
                click_id_param=click_id_param,
            ),
        )
