"""User-Agent parsing into Plausible's browser / OS / device vocabulary, plus bot detection.

Plausible parses UAs with device-detector (UAInspector); footfall uses uap-core regexes
through ``ua-parser`` (compiled Rust matcher) and maps the names to the ones Plausible
shows, so dashboards and Stats API filters (``visit:browser==Chrome``) behave the same.

Only the first `MAX_LENGTH` characters of an agent are ever examined, so a novel agent costs
bounded work (see docs/adr/0013-bounded-user-agents.md).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, Literal

import ua_parser
from ua_parser import OS, Device, Domain, UserAgent, load_builtins, load_lazy_builtins

from footfall.ingest.bots import crawler_patterns, http_library, is_bot

__all__ = ["MAX_LENGTH", "Engine", "UserAgentInfo", "UserAgentParser", "bounded", "engines"]

#: Characters of a User-Agent that parsing examines; the rest is never read. Real agents are
#: far shorter (uap-core's and Crawler-Detect's test corpora, 34,000 agents: 99th percentile
#: 200 characters, longest 492), and every step's cost grows with the length.
MAX_LENGTH: Final = 512

#: ``"rust"``: ua-parser-rs (a compiled matcher); ``"python"``: ua-parser's pure-Python resolver.
Engine = Literal["rust", "python"]

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


def engines() -> tuple[Engine, ...]:
    """The resolvers installed here, fastest first."""
    return ("rust", "python") if ua_parser.RegexResolver is not None else ("python",)


@functools.cache
def _build_resolver(engine: Engine) -> ua_parser.Resolver:
    # One per engine and process: a resolver holds only its compiled matchers, which every
    # parser (and thread) can share, and building one costs about 0.13 s. No caching layer is
    # added here: the parser keeps its own LRU of final results.
    if engine == "rust":
        if ua_parser.RegexResolver is None:
            raise ValueError("the rust engine needs ua-parser-rs (the ua-parser[regex] extra)")
        # The compiled matcher builds its own regexes: lazy matchers skip compiling them in `re`.
        return ua_parser.RegexResolver(load_lazy_builtins())
    # Pure Python, about 40x slower per new agent: compiling every regex up front keeps the
    # first requests from paying for it.
    return ua_parser.BasicResolver(load_builtins())


def bounded(user_agent: str) -> str:
    """The part of a User-Agent header that parsing examines: at most `MAX_LENGTH` characters.

    The cut comes before anything else reads the text (even ``strip``), so a header of any
    length costs the same. An over-long agent is parsed from its prefix, where browsers and
    crawlers put their names.

    Args:
        user_agent: The raw header value.
    """
    return user_agent[:MAX_LENGTH].strip()


class UserAgentParser:
    """Parses User-Agent headers, with a bounded LRU cache of results.

    UA strings repeat heavily across visitors, so the cache absorbs almost all traffic; a new
    agent costs about 0.3 ms (uap-core's regexes in the Rust matcher, then crawler patterns
    through a literal index), on at most `MAX_LENGTH` characters. Safe to share between threads.
    """

    def __init__(self, *, cache_size: int = 50_000, engine: Engine | None = None) -> None:
        """Builds the matchers (about 0.3 s with the Rust engine, once per process).

        Args:
            cache_size: Maximum number of distinct UA strings whose results are kept.
            engine: The uap-core resolver; by default the fastest one installed.
        """
        self.engine: Engine = engine or engines()[0]
        self._resolver = _build_resolver(self.engine)
        crawler_patterns()  # compiled now rather than on the first request
        http_library("")  # likewise the library and bot lists it consults
        self._parse_cached = functools.lru_cache(maxsize=cache_size)(self._parse_uncached)

    def parse(self, user_agent: str) -> UserAgentInfo:
        """Parses one User-Agent header.

        Args:
            user_agent: The raw header value; ``""`` when the request had none.

        Returns:
            The parsed attributes of its first `MAX_LENGTH` characters; all empty (and
            ``is_bot`` False) for an empty UA.
        """
        user_agent = bounded(user_agent)
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
        family = result.device.family if result.device is not None else None
        return UserAgentInfo(
            browser=browser,
            browser_version=browser_version,
            os=os_name,
            os_version=os_version,
            device=device,
            is_bot=is_bot(user_agent, browser=browser, device_family=family),
        )
