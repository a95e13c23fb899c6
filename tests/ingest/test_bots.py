"""Bot detection: crawlerdetect's decision, in linear time, over a corpus of real agents."""

from __future__ import annotations

import random
import re
import string
import sys
from pathlib import Path

import pytest
import ua_parser
from crawlerdetect import CrawlerDetect
from crawlerdetect.providers.crawlers import data as CRAWLERS
from crawlerdetect.providers.exclusions import data as EXCLUSIONS
from device_detector import DeviceDetector
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.ingest.bots import (
    CrawlerPatterns,
    crawler_patterns,
    fold,
    http_library,
    is_bot,
    required_literal,
    simplify,
)
from footfall.ingest.useragent import MAX_LENGTH, Engine, UserAgentParser, engines

DATA = Path(__file__).parent / "data"


def _agents(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


# Real agents: browsers, apps and devices from uap-core's test corpus, crawlers from
# Crawler-Detect's (see data/README.md).
BROWSERS = _agents("uap-core-agents.txt")
CRAWLER_AGENTS = _agents("crawler-detect-agents.txt")
CORPUS = BROWSERS + CRAWLER_AGENTS


@pytest.fixture(scope="module")
def library_says() -> dict[str, bool]:
    """crawlerdetect's own answer for every agent of the corpus."""
    library = CrawlerDetect()
    return {agent: library.is_crawler(agent) for agent in CORPUS}


def test_the_corpus_holds_both_kinds(library_says: dict[str, bool]) -> None:
    # uap-core's agents include apps, libraries and some crawlers as well as browsers.
    assert sum(library_says[a] for a in CRAWLER_AGENTS) > 3000
    assert sum(not library_says[a] for a in BROWSERS) > 2000


def test_the_crawler_decision_is_the_librarys_for_every_real_agent(
    library_says: dict[str, bool],
) -> None:
    patterns = crawler_patterns()
    differ = [agent for agent in CORPUS if patterns.is_crawler(agent) != library_says[agent]]
    assert differ == []


@pytest.fixture(scope="module")
def exempted(library_says: dict[str, bool]) -> set[str]:
    """The corpus's crawler-looking agents that Matomo's lists name HTTP libraries."""
    return {agent for agent in CORPUS if library_says[agent] and http_library(agent) is not None}


@pytest.mark.parametrize("engine", engines())
def test_the_bot_decision_for_every_real_agent(
    engine: Engine, library_says: dict[str, bool], exempted: set[str]
) -> None:
    # Headless Chrome, uap-core's spiders and crawlerdetect on the whole agent, except the HTTP
    # libraries Matomo's database names (Plausible counts those, `ingestion/event.ex`). The
    # pure-Python engine is slow, so it reads a sample.
    parser = UserAgentParser(engine=engine)
    sample = CORPUS if engine == "rust" else random.Random(7).sample(CORPUS, 400)
    differ = []
    for agent in sample:
        device = ua_parser.parse_device(agent)
        info = parser.parse(agent)
        headless = info.browser == "Headless Chrome" or "HeadlessChrome" in agent
        spider = device is not None and device.family == "Spider"
        crawler = (spider and http_library(agent) is None) or library_says[agent]
        expected = headless or (crawler and agent not in exempted)
        if info.is_bot != expected:
            differ.append(agent)
    assert differ == []


def test_no_agent_matomo_calls_a_bot_is_exempted(exempted: set[str]) -> None:
    # Some crawlerdetect crawlers are HTTP libraries to Matomo; none of those is one of its bots.
    assert len(exempted) > 20
    assert [a for a in exempted if DeviceDetector(a, check_cache=False).parse().is_bot()] == []


def test_real_agents_fit_under_the_cap() -> None:
    # The cap never changes what a real agent is parsed as.
    assert max(map(len, CORPUS)) < MAX_LENGTH


LITERALS = st.sampled_from([required_literal(a) or "x" for p in CRAWLERS for a in simplify(p)])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            LITERALS,
            LITERALS.map(str.upper),
            st.sampled_from(
                [
                    "Mozilla/5.0 ",
                    "AppleWebKit/537.36",
                    "(KHTML, like Gecko)",
                    "Safari/604.1",
                    "Chrome/124.0.0.0",
                    "Windows NT 10.0",
                    "; M bot",
                    "Android 14",
                    "Build/",
                ]
            ),
            st.text(alphabet=string.printable, max_size=12),
        ),
        max_size=12,
    ).map("".join)
)
def test_the_decision_is_the_librarys_for_made_up_agents(agent: str) -> None:
    # Pieces of crawler literals and browser tokens, glued with noise: the hard cases for an
    # index of literals (tokens removed first, literals that span what was removed).
    assert crawler_patterns().is_crawler(agent) == CrawlerDetect().is_crawler(agent)


def test_hostile_agents_search_a_handful_of_patterns() -> None:
    # Without spaces, crawlerdetect's "[a-z0-9\-_]*(bot|...)" backtracks over the whole run at
    # every position: the work grew with the square of the length. Here it is searched as its
    # literals, and only patterns whose literal occurs run at all.
    patterns = crawler_patterns()
    rng = random.Random(3)
    for alphabet in (string.ascii_lowercase + string.digits, string.printable):
        agent = "".join(rng.choices(alphabet, k=MAX_LENGTH))
        assert patterns.searched(agent) <= 5 < len(patterns.crawlers.patterns) // 100
        assert patterns.is_crawler(agent) == CrawlerDetect().is_crawler(agent)


def test_the_quadratic_pattern_is_searched_as_its_words() -> None:
    quadratic = next(p for p in CRAWLERS if p.startswith("[a-z0-9"))
    words = simplify(quadratic)
    assert "bot" in words and "crawl" in words and not any("[" in w for w in words)


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        ("Googlebot", "googlebot"),
        (r"^Java\/", "java/"),
        (r"xpymep([0-9]?)\.exe", "xpymep"),
        (r"Daum(oa)?[ \/][0-9]", "daum"),
        ("Yandex(?!Search)", "yandex"),
        (r"super\/\d+\/Android\/\d+", "/android/"),
        ("ab+cd", "ab"),  # "abbcd" holds "ab", not "abcd"
        ("ab*?cd", "cd"),
        ("abc{2}de", "ab"),
        ("a{x}bcd", "x}bcd"),  # a literal brace, read as a repetition: shorter, still required
        (r"Zend\\Http", "zend\\http"),
        (r"Java.*outbrain", "outbrain"),
        (r"\x41bcdef", ""),  # escapes it does not know: no literal at all
        ("(?i)abcdef", ""),
        ("abc|def", ""),
        ("ab(cd", ""),
        ("abc)d", ""),
        ("café", ""),  # only ASCII literals are folded exactly
    ],
)
def test_required_literal(pattern: str, literal: str) -> None:
    assert required_literal(pattern) == literal


@pytest.mark.parametrize(
    ("pattern", "alternatives"),
    [
        (r"[a-z0-9\-_]*(bot|crawl)", ["bot", "crawl"]),
        (".*foo", ["foo"]),
        (".*+foo", [".*+foo"]),  # possessive: it may not give back what "foo" needs
        ("[ab]*+a", ["[ab]*+a"]),
        (r"^Ruby|Ruby\/[0-9]", ["^Ruby", r"Ruby\/[0-9]"]),
        ("(a|b)c", ["(a|b)c"]),
        ("(?:a|b)", ["(?:a|b)"]),
    ],
)
def test_simplify(pattern: str, alternatives: list[str]) -> None:
    assert simplify(pattern) == alternatives


def test_folding_covers_every_character_that_ignorecase_equates_with_ascii() -> None:
    # A literal is looked for in fold(agent); every character that re.IGNORECASE matches to an
    # ASCII letter or digit must fold to it, or a match could be missed.
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    for ascii_char in string.ascii_lowercase + string.digits:
        equal = re.findall(re.escape(ascii_char), everything, re.IGNORECASE)
        assert all(fold(char) == ascii_char for char in equal), ascii_char


def test_a_pattern_that_matches_nothing_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="empty string"):
        CrawlerPatterns(["bot", "x*"], EXCLUSIONS)


@pytest.mark.parametrize(
    ("agent", "browser", "family", "expected"),
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1)", "", "Spider", True),
        ("Mozilla/5.0 HeadlessChrome/124.0", "Headless Chrome", None, True),
        ("curl/8.5.0", "", "Other", False),
        ("python-requests/2.31.0", "", "Other", False),
        ("Python-urllib/3.11", "", "Spider", False),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "", "Spider", True),
        # A library's name in a crawler's agent: Matomo checks its bots first.
        ("python-requests/2.31 (compatible; ExampleCrawler/1.0)", "", "Other", True),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "Firefox",
            "Other",
            False,
        ),
    ],
)
def test_is_bot(agent: str, browser: str, family: str | None, expected: bool) -> None:
    assert is_bot(agent, browser=browser, device_family=family) is expected
