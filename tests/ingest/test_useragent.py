from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.ingest.bots import crawler_patterns
from footfall.ingest.useragent import (
    MAX_LENGTH,
    UserAgentInfo,
    UserAgentParser,
    bounded,
    engines,
)

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
ANDROID_CHROME_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
IPAD_SAFARI = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.6312.118 Safari/537.36"
)
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0"
KINDLE_SILK = (
    "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 "
    "(KHTML, like Gecko) Silk/3.4 Mobile Safari/535.19 Silk-Accelerated=true"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
WINDOWS_EDGE = WINDOWS_CHROME + " Edg/124.0.2478.67"
ANDROID_EDGE = (
    "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36 EdgA/124.0.2478.62"
)
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0"
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15"
)
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
UBUNTU_FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"
CHROME_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"
)
FIREFOX_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15"
)
FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
SAMSUNG_INTERNET = (
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"
)
OPERA_DESKTOP = WINDOWS_CHROME.replace("124.0.0.0", "122.0.0.0") + " OPR/108.0.0.0"
OPERA_MINI = (
    "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16"
)
ANDROID_WEBVIEW = (
    "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.210 Mobile Safari/537.36"
)
FACEBOOK_IOS_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0.0.38.108;FBBV/564431005;"
    "FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.3.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]"
)
CHROME_OS = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IE11 = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
SMART_TV = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36"
)
XBOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041"
)

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
CURL = "curl/8.5.0"
PYTHON_REQUESTS = "python-requests/2.31.0"
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36"
)
AHREFS = "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"
GPTBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.0; "
    "+https://openai.com/gptbot"
)


@pytest.fixture(scope="module", params=engines())
def parser(request: pytest.FixtureRequest) -> UserAgentParser:
    # Every test runs on the Rust engine and on the pure-Python fallback.
    return UserAgentParser(engine=request.param)


def test_the_rust_engine_is_installed_and_the_default() -> None:
    # ua-parser-rs comes with the ua-parser[regex] dependency; without it every new agent
    # would cost tens of times more.
    assert engines() == ("rust", "python")
    assert UserAgentParser().engine == "rust"


@pytest.mark.parametrize(
    ("ua", "browser", "browser_version", "os", "os_version", "device"),
    [
        (IPHONE_SAFARI, "Safari", "17.4", "iOS", "17.4", "Mobile"),
        (ANDROID_CHROME_PHONE, "Chrome", "124.0", "Android", "14", "Mobile"),
        (ANDROID_CHROME_REDUCED, "Chrome", "124.0", "Android", "10", "Mobile"),
        (IPAD_SAFARI, "Safari", "16.6", "iOS", "16.6", "Tablet"),
        (ANDROID_TABLET, "Chrome", "123.0", "Android", "13", "Tablet"),
        (FIREFOX_ANDROID_TABLET, "Firefox", "125.0", "Android", "14", "Tablet"),
        (KINDLE_SILK, "Mobile Silk", "3.4", "Android", "4.0", "Tablet"),
        (WINDOWS_CHROME, "Chrome", "124.0", "Windows", "10", "Desktop"),
        (WINDOWS_EDGE, "Microsoft Edge", "124.0", "Windows", "10", "Desktop"),
        (ANDROID_EDGE, "Microsoft Edge", "124.0", "Android", "10", "Mobile"),
        (MAC_FIREFOX, "Firefox", "125.0", "Mac", "10.15", "Desktop"),
        (MAC_SAFARI, "Safari", "17.4", "Mac", "10.15", "Desktop"),
        (LINUX_FIREFOX, "Firefox", "125.0", "GNU/Linux", "", "Desktop"),
        (UBUNTU_FIREFOX, "Firefox", "115.0", "GNU/Linux", "", "Desktop"),
        (CHROME_IOS, "Chrome", "124.0", "iOS", "17.4", "Mobile"),
        (FIREFOX_IOS, "Firefox", "125.0", "iOS", "17.4", "Mobile"),
        (FIREFOX_ANDROID, "Firefox", "125.0", "Android", "14", "Mobile"),
        (SAMSUNG_INTERNET, "Samsung Browser", "24.0", "Android", "14", "Mobile"),
        (OPERA_DESKTOP, "Opera", "108.0", "Windows", "10", "Desktop"),
        (OPERA_MINI, "Opera", "36.2", "Android", "", "Mobile"),
        (ANDROID_WEBVIEW, "Mobile App", "", "Android", "12", "Mobile"),
        (FACEBOOK_IOS_APP, "Mobile App", "", "iOS", "17.3", "Mobile"),
        (CHROME_OS, "Chrome", "124.0", "Chrome OS", "14541.0", "Desktop"),
        (IE11, "Internet Explorer", "11.0", "Windows", "7", "Desktop"),
        (SMART_TV, "Samsung Browser", "4.0", "Tizen", "6.0", "Desktop"),
        (XBOX, "Microsoft Edge", "18.19041", "Windows", "10", "Desktop"),
        ("Mozilla/5.0", "", "", "", "", ""),
    ],
)
def test_browsers(
    parser: UserAgentParser,
    ua: str,
    browser: str,
    browser_version: str,
    os: str,
    os_version: str,
    device: str,
) -> None:
    assert parser.parse(ua) == UserAgentInfo(
        browser=browser,
        browser_version=browser_version,
        os=os,
        os_version=os_version,
        device=device,
        is_bot=False,
    )


@pytest.mark.parametrize(
    "ua",
    [
        GOOGLEBOT,
        GOOGLEBOT_SMARTPHONE,
        BINGBOT,
        HEADLESS_CHROME,
        AHREFS,
        GPTBOT,
    ],
)
def test_bots(parser: UserAgentParser, ua: str) -> None:
    assert parser.parse(ua).is_bot


@pytest.mark.parametrize(
    "ua",
    [
        CURL,
        PYTHON_REQUESTS,
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "node",
        "Go-http-client/1.1",
        "axios/1.6.0",
    ],
)
def test_http_libraries_are_not_bots(parser: UserAgentParser, ua: str) -> None:
    # Server-side senders keep their library's agent; Plausible counts them.
    assert not parser.parse(ua).is_bot


def test_headless_chrome_is_named(parser: UserAgentParser) -> None:
    info = parser.parse(HEADLESS_CHROME)
    assert (info.browser, info.is_bot) == ("Headless Chrome", True)


@pytest.mark.parametrize("ua", ["", "   "])
def test_empty_user_agent(parser: UserAgentParser, ua: str) -> None:
    assert parser.parse(ua) == UserAgentInfo("", "", "", "", "", is_bot=False)


def test_results_are_cached() -> None:
    parser = UserAgentParser(cache_size=2)
    first = parser.parse(WINDOWS_CHROME)
    assert parser.parse(WINDOWS_CHROME) is first
    parser.parse(MAC_FIREFOX)
    parser.parse(IPHONE_SAFARI)  # evicts WINDOWS_CHROME (bounded cache)
    assert parser.parse(WINDOWS_CHROME) == first
    parser.cache_clear()
    assert parser.parse(WINDOWS_CHROME) is not first


def test_overlong_user_agent_is_truncated(parser: UserAgentParser) -> None:
    info = parser.parse(WINDOWS_CHROME + " " + "x" * 100_000)
    assert info.browser == "Chrome"


def test_a_100_kb_agent_is_read_only_up_to_the_cap(parser: UserAgentParser) -> None:
    # A crawler's name just past the cap is never read: parsing examines MAX_LENGTH characters
    # of a header of any length, and the result is that of the prefix.
    head = WINDOWS_CHROME + " " + "q7" * ((MAX_LENGTH - len(WINDOWS_CHROME)) // 2)
    agent = head + " Googlebot/2.1 " + "z9" * 50_000
    assert len(agent) > 100_000
    examined = bounded(agent)
    assert len(examined) == MAX_LENGTH
    assert "Googlebot" not in examined
    info = parser.parse(agent)
    assert info == parser.parse(examined)
    assert (info.browser, info.os, info.device, info.is_bot) == (
        "Chrome",
        "Windows",
        "Desktop",
        False,
    )


def test_a_100_kb_agent_without_spaces_searches_a_handful_of_crawler_patterns() -> None:
    # The shape that made crawlerdetect backtrack quadratically: one run of word characters.
    agent = "a1b2c3d4e5f6g7h8i9" * 6000
    examined = bounded(agent)
    assert len(examined) == MAX_LENGTH
    patterns = crawler_patterns()
    assert patterns.searched(examined) <= 5 < len(patterns.crawlers.patterns)


def test_leading_whitespace_counts_towards_the_cap() -> None:
    # The cut comes before strip(), which would otherwise read the whole header.
    assert bounded(" " * 100_000 + WINDOWS_CHROME) == ""
    assert bounded("  " + WINDOWS_CHROME + "  ") == WINDOWS_CHROME


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises(parser: UserAgentParser, ua: str) -> None:
    info = parser.parse(ua)
    assert info.device in {"", "Mobile", "Tablet", "Desktop"}
