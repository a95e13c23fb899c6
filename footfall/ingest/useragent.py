"""User-Agent parsing into Plausible's browser / OS / device vocabulary, plus bot detection.

Plausible parses UAs with device-detector (UAInspector); footfall uses uap-core regexes
through ``ua-parser`` (compiled Rust matcher) and maps the names to the ones Plausible
shows, so dashboards and Stats API filters (``visit:browser==Chrome``) behave the same.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

import ua_parser
from crawlerdetect import CrawlerDetect
from ua_parser import OS, Device, Domain, UserAgent, load_builtins, load_lazy_builtins

__all__ = ["UserAgentInfo", "UserAgentParser"]

MOBILE: Final = "Mobile"
TABLET: Final = "Tablet"
DESKTOP: Final = "Desktop"
MOBILE_APP: Final = "Mobile App"

# uap-core browser family → Plausible (device-detector) name. Families not listed keep
# their uap name, which is identical for the common cases (Chrome, Firefox, Safari, Opera…).
_BROWSER_NAMES: Final[dict[str, str]] = {
    "Mobile Safari": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Frame": "Chrome",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Firefox Beta": "Firefox",
    "Firefox Alpha": "Firefox",
    "Opera Mobile": "Opera",
    "Opera Mini": "Opera",
    "Opera Tablet": "Opera",
    "Opera Touch": "Opera",
    "Edge": "Microsoft Edge",
    "Edge Mobile": "Microsoft Edge",
    "IE": "Internet Explorer",
    "Samsung Internet": "Samsung Browser",
    "Yandex Browser Lite": "Yandex Browser",
    "Amazon Silk": "Mobile Silk",
    "DuckDuckGo Mobile": "DuckDuckGo Privacy Browser",
    "MiuiBrowser": "MIUI Browser",
    "HeadlessChrome": "Headless Chrome",
}

# Embedded web views and in-app browsers: device-detector reports these as "mobile app"
# clients, which Plausible stores as "Mobile App" without a version.
_MOBILE_APP_FAMILIES: Final[frozenset[str]] = frozenset(
    {
        "Chrome Mobile WebView",
        "Mobile Safari UI/WKWebView",
        "Android",  # the pre-Chrome stock WebView
        "Facebook",
        "Instagram",
        "Pinterest",
        "LinkedIn",
        "Snapchat",
        "LINE",
        "WeChat",
        "Twitter",
        "TikTok",
        "Threads",
    }
)

_LINUX_DISTROS: Final[frozenset[str]] = frozenset(
    {
        "Linux",
        "Ubuntu",
        "Kubuntu",
        "Xubuntu",
        "Lubuntu",
        "Fedora",
        "Debian",
        "Linux Mint",
        "Mint",
        "Arch Linux",
        "Gentoo",
        "Red Hat",
        "CentOS",
        "SUSE",
        "openSUSE",
        "Slackware",
        "Mandriva",
        "Mageia",
        "PCLinuxOS",
        "Manjaro",
        "elementary OS",
        "Pop!_OS",
        "Zorin OS",
    }
)

_OS_NAMES: Final[dict[str, str]] = {
    "Mac OS X": "Mac",
    "macOS": "Mac",
    "Mac OS": "Mac",
    "Windows NT": "Windows",
    "Windows 95": "Windows",
    "Windows 98": "Windows",
    "Windows XP": "Windows",
    "Windows Vista": "Windows",
    "Windows 7": "Windows",
    "Windows 8": "Windows",
    "Windows 8.1": "Windows",
    "Windows 10": "Windows",
    "Chrome OS": "Chrome OS",
    "ChromeOS": "Chrome OS",
}

_DESKTOP_OSES: Final[frozenset[str]] = frozenset(
    {"Mac", "Windows", "GNU/Linux", "Chrome OS", "FreeBSD", "OpenBSD", "NetBSD", "Solaris"}
)

# Token checks on the raw UA complement uap's device families, which only name models.
_TV_OR_CONSOLE_RE: Final = re.compile(
    r"smart-?tv|googletv|android tv|\bcrkey\b|appletv|hbbtv|\bbravia\b|web0s|netcast|"
    r"\btizen\b.*\btv\b|\baft[a-z]|playstation|xbox|nintendo",
    re.IGNORECASE,
)
_TABLET_RE: Final = re.compile(r"ipad|tablet|\bkindle|\bsilk/|playbook|\bnexus (?:7|9|10)\b", re.I)
_PHONE_RE: Final = re.compile(
    r"iphone|ipod|mobile|\bmobi\b|phone|opera mini|midp|kaios|blackberry|\bbb10\b|symbian",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """Browser, OS and device of a visitor, in Plausible's vocabulary.

    Attributes:
        browser: e.g. ``Chrome``, ``Safari``, ``Microsoft Edge``; ``""`` if unknown.
        browser_version: ``major.minor``; ``""`` if unknown or for in-app browsers.
        os: e.g. ``Windows``, ``Mac``, ``iOS``, ``Android``, ``GNU/Linux``; ``""`` if unknown.
        os_version: ``major.minor``; ``""`` if unknown.
        device: ``Mobile``, ``Tablet``, ``Desktop``, or ``""`` if unknown.
        is_bot: Whether the UA belongs to a crawler, script or headless browser.
    """

    browser: str
    browser_version: str
    os: str
    os_version: str
    device: str
    is_bot: bool


_EMPTY = UserAgentInfo("", "", "", "", "", is_bot=False)


def _version(major: str | None, minor: str | None) -> str:
    if not major:
        return ""
    if minor:
        return f"{major}.{minor}"
    # Like Plausible: the first two components, so a lone major stays as it is ("14").
    return major


def _browser(ua: UserAgent | None) -> tuple[str, str]:
    if ua is None or ua.family == "Other":
        return "", ""
    if ua.family in _MOBILE_APP_FAMILIES:
        return MOBILE_APP, ""
    return _BROWSER_NAMES.get(ua.family, ua.family), _version(ua.major, ua.minor)


def _os(os: OS | None) -> tuple[str, str]:
    if os is None or os.family == "Other":
        return "", ""
    family = os.family
    name = "GNU/Linux" if family in _LINUX_DISTROS else _OS_NAMES.get(family, family)
    return name, _version(os.major, os.minor)


def _device(user_agent: str, device: Device | None, os_name: str) -> str:
    family = device.family if device is not None else "Other"
    brand = (device.brand or "") if device is not None else ""
    if family == "Spider":
        return ""
    # Order matters: TVs may say "Android" or "Silk" (Fire TV); iPad and Kindle UAs also
    # contain "Mobile". device-detector files TVs and consoles under Desktop.
    if _TV_OR_CONSOLE_RE.search(user_agent):
        return DESKTOP
    if family == "iPad" or brand == "Generic_Android_Tablet" or _TABLET_RE.search(user_agent):
        return TABLET
    if family in {"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone"}:
        return MOBILE
    if os_name in {"iOS", "Windows Phone", "KaiOS", "BlackBerry OS"}:
        return MOBILE
    if _PHONE_RE.search(user_agent):
        return MOBILE
    if os_name == "Android" or "android" in user_agent.lower():
        # Android browsers without the "Mobile" token are tablets (Google's UA convention).
        return TABLET
    if os_name in _DESKTOP_OSES:
        return DESKTOP
    return ""


def _build_resolver() -> ua_parser.Resolver:
    # BestAvailableResolver is ua-parser's own pick of the fastest installed engine: the
    # Rust matcher from ua-parser-rs (the "regex" extra, ~15 µs per UA) when present, else
    # re2, else pure Python (~50x slower). No caching layer is added here: the parser keeps
    # its own LRU of final results.
    compiled = ua_parser.RegexResolver is not None or ua_parser.Re2Resolver is not None
    # Compiled engines build their own regexes, so lazy matchers skip compiling them in `re`.
    matchers = load_lazy_builtins() if compiled else load_builtins()
    return ua_parser.BestAvailableResolver(matchers)


class UserAgentParser:
    """Parses User-Agent headers, with a bounded LRU cache of results.

    UA strings repeat heavily across visitors, so the cache absorbs almost all traffic;
    the uncached path runs uap-core's regexes and crawlerdetect (the slow part). Safe to
    share between threads.
    """

    #: Longer headers are truncated before parsing to bound regex time on hostile input.
    MAX_LENGTH: Final = 1024

    def __init__(self, *, cache_size: int = 50_000) -> None:
        """Builds the matchers (about 0.1 s with the Rust backend).

        Args:
            cache_size: Maximum number of distinct UA strings whose results are kept.
        """
        self._resolver = _build_resolver()
        self._crawlers = CrawlerDetect()
        self._parse_cached = functools.lru_cache(maxsize=cache_size)(self._parse_uncached)

    def parse(self, user_agent: str) -> UserAgentInfo:
        """Parses one User-Agent header.

        Args:
            user_agent: The raw header value; ``""`` when the request had none.

        Returns:
            The parsed attributes; all empty (and ``is_bot`` False) for an empty UA.
        """
        user_agent = user_agent.strip()[: self.MAX_LENGTH]
        if not user_agent:
            return _EMPTY
        return self._parse_cached(user_agent)

    def cache_clear(self) -> None:
        """Drops all cached results (for tests and benchmarks)."""
        self._parse_cached.cache_clear()

    def cache_info(self) -> functools._CacheInfo:
        """Hits, misses, size and bound of the result cache."""
        return self._parse_cached.cache_info()

    def _parse_uncached(self, user_agent: str) -> UserAgentInfo:
        result = self._resolver(user_agent, Domain.ALL)
        browser, browser_version = _browser(result.user_agent)
        os_name, os_version = _os(result.os)
        device = _device(user_agent, result.device, os_name)
        is_bot = (
            browser == "Headless Chrome"
            or "HeadlessChrome" in user_agent
            or (result.device is not None and result.device.family == "Spider")
            or self._crawlers.is_crawler(user_agent)
        )
        return UserAgentInfo(
            browser=browser,
            browser_version=browser_version,
            os=os_name,
            os_version=os_version,
            device=device,
            is_bot=is_bot,
        )
