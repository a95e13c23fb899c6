r"""Bot detection: the one decision `is_bot`, and crawlerdetect's patterns in linear time.

crawlerdetect joins about 1,500 crawler patterns into one alternation, which Python's `re`
tries at every position of the agent, and one of them (``[a-z0-9\\-_]*(bot|crawl|...)``)
backtracks over every run of word characters: about 100 ms for a 1 KB agent without spaces.
`CrawlerPatterns` asks the same question of the same patterns but first finds, in one pass over
the agent, the few patterns whose required literal text occurs in it, and runs only those.
The decision is the library's own, for every agent (tests hold it to that over a corpus).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Final

from crawlerdetect.providers.crawlers import data as _CRAWLERS
from crawlerdetect.providers.exclusions import data as _EXCLUSIONS
from device_detector.parser import Bot as MatomoBot
from device_detector.parser import Library as MatomoLibrary
from device_detector.utils import clean_ua

__all__ = [
    "CrawlerPatterns",
    "LiteralIndex",
    "crawler_patterns",
    "fold",
    "grams",
    "http_library",
    "is_bot",
    "required_literal",
    "simplify",
]

#: Literals shorter than this are not indexed: their patterns always run (there are a few).
GRAM: Final = 3

# Characters that `re.IGNORECASE` matches to an ASCII letter but that `str.lower` does not turn
# into it (re's own extra cases, and U+0130, whose full lower case is two characters).
_FOLD: Final = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})

# Escapes that stand for one character class or a zero-width assertion; any other escape of a
# letter or digit (\x41, \u0041, \1...) makes the extractor give up on the pattern.
_CLASS_ESCAPES: Final = frozenset("dDwWsSbBAZ")
_REPEAT: Final = re.compile(r"\{\d*,?\d*\}")


def fold(text: str) -> str:
    """Lower-cases so that a pattern matching under `re.IGNORECASE` has its literal in the result.

    Args:
        text: Any text.

    Returns:
        The text with every character that case-insensitively equals an ASCII letter replaced by
        that letter in lower case.
    """
    return text.translate(_FOLD).lower()


def _skip_class(pattern: str, i: int) -> int:
    """The index just past the character class that starts at ``pattern[i] == "["``."""
    i += 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        i += 1  # a leading "]" is a member, not the end
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    if i >= len(pattern):
        raise ValueError("unterminated character class")
    return i + 1


def _atoms(pattern: str, i: int = 0) -> Iterator[tuple[int, int]]:
    """Start and end of each atom from ``i`` to the end of its level (a closing parenthesis).

    An atom is an escape, a class, a whole group, a repetition in braces, or one character.
    """
    while i < len(pattern) and pattern[i] != ")":
        char = pattern[i]
        if char == "\\":
            end = i + 2
        elif char == "[":
            end = _skip_class(pattern, i)
        elif char == "(":
            end = _group_end(pattern, i)
        elif repeat := _REPEAT.match(pattern, i):
            end = repeat.end()
        else:
            end = i + 1
        if end > len(pattern):
            raise ValueError("trailing backslash")
        yield i, end
        i = end


def _group_end(pattern: str, i: int) -> int:
    """The index just past the group that starts at ``pattern[i] == "("``."""
    end = max((end for _, end in _atoms(pattern, i + 1)), default=i + 1)
    if pattern[end : end + 1] != ")":
        raise ValueError("unbalanced parenthesis")
    return end + 1


def split_alternatives(pattern: str) -> list[str]:
    """Splits a pattern at its top-level ``|`` (searching for any part = searching for it)."""
    parts, start = [], 0
    for begin, end in _atoms(pattern):
        if pattern[begin] == "|":
            parts.append(pattern[start:begin])
            start = end
    parts.append(pattern[start:])
    return parts


def simplify(pattern: str) -> list[str]:
    """Rewrites one pattern as alternatives that a search finds exactly when it finds the pattern.

    A leading ``[...]*`` or ``.*`` (not possessive) may match nothing, so a search for ``X*R``
    succeeds exactly when one for ``R`` does; a group around the whole pattern is unwrapped;
    top-level alternatives are split. This removes crawlerdetect's one quadratic pattern.

    Args:
        pattern: One crawler pattern.

    Returns:
        Alternatives, each to be searched on its own.
    """
    alternatives = []
    for part in split_alternatives(pattern):
        end = _skip_class(part, 0) if part.startswith("[") else 1 if part.startswith(".") else 0
        if end and part[end : end + 1] == "*" and part[end + 1 : end + 2] != "+":
            part = part[end + 1 :].removeprefix("?")
        if part.startswith("(") and not part.startswith("(?") and _group_end(part, 0) == len(part):
            alternatives.extend(simplify(part[1:-1]))
        else:
            alternatives.append(part)
    return alternatives


def _is_quantifier(piece: str) -> bool:
    # A literal "{" counts too: taking it for a quantifier only makes the literal shorter.
    return piece in ("?", "*", "+") or piece.startswith("{")


def _character(piece: str) -> str | None:
    """The one character an atom matches, or None if it matches a class, a group or nothing.

    Raises:
        ValueError: For an escape this reader does not know (a hexadecimal or Unicode escape,
            a back-reference...), inline flags, named groups, look-behinds and alternation.
    """
    if piece.startswith("\\"):
        escaped = piece[1]
        if not escaped.isalnum():
            return escaped
        if escaped in _CLASS_ESCAPES:
            return None
        raise ValueError(f"unknown escape {piece}")
    if piece.startswith("(?") and piece[2:3] not in (":", "!", "="):
        raise ValueError("inline flags, named groups and look-behinds are not read")
    if piece == "|":
        raise ValueError("alternation")
    return None if piece[0] in "[(.^$" else piece


def required_literal(pattern: str) -> str:
    """The longest text that every match of ``pattern`` contains, folded; ``""`` if unsure.

    Conservative: it reads only characters outside groups and classes, and gives up on
    alternation, inline flags and escapes it does not know.

    Args:
        pattern: One alternative (no top-level ``|``).

    Returns:
        An ASCII literal in lower case, or ``""``.
    """
    best = run = ""
    try:
        pieces = [pattern[begin:end] for begin, end in _atoms(pattern)]
        if sum(map(len, pieces)) != len(pattern):
            return ""  # a stray ")"
        for k, piece in enumerate(pieces):
            if _is_quantifier(piece):
                continue  # read with the atom before it
            atom = _character(piece)
            following = pieces[k + 1] if k + 1 < len(pieces) else ""
            if _is_quantifier(following):
                if atom is not None and following == "+":
                    run += atom  # there at least once, but what follows need not be adjacent
                best, run = max(best, run, key=len), ""
            elif atom is None:
                best, run = max(best, run, key=len), ""
            else:
                run += atom
    except ValueError:
        return ""
    best = max(best, run, key=len)
    return best.lower() if best.isascii() else ""


class LiteralIndex:
    """Regular expressions keyed by their required literal: which ones could match a text."""

    def __init__(self, patterns: Iterable[str]) -> None:
        """Reads the required literal of every pattern (each one without top-level ``|``).

        Args:
            patterns: Regular expressions, matched case-insensitively.
        """
        self.patterns: tuple[str, ...] = tuple(patterns)
        self._by_gram: dict[str, list[tuple[str, int]]] = {}
        always = []
        for number, pattern in enumerate(self.patterns):
            literal = required_literal(pattern)
            if len(literal) >= GRAM:
                self._by_gram.setdefault(literal[:GRAM], []).append((literal, number))
            else:
                always.append(number)
        self._always: tuple[int, ...] = tuple(always)

    @property
    def always(self) -> tuple[int, ...]:
        """Numbers of the patterns without a literal of `GRAM` characters: always candidates."""
        return self._always

    def candidates(self, folded: str, grams: set[str]) -> list[int]:
        """Numbers of the patterns that may match, in their order; no other one can.

        Args:
            folded: The text, through `fold`.
            grams: `grams` of ``folded``.

        Returns:
            Sorted pattern numbers.
        """
        found = [
            number
            for gram in grams.intersection(self._by_gram)
            for literal, number in self._by_gram[gram]
            if literal in folded
        ]
        return sorted((*found, *self._always))


def grams(folded: str) -> set[str]:
    """Every run of `GRAM` characters in a text: one pass, whatever the number of patterns."""
    return {folded[i : i + GRAM] for i in range(len(folded) - GRAM + 1)}


class CrawlerPatterns:
    """crawlerdetect's decision (`CrawlerDetect().is_crawler`) in time linear in the agent.

    crawlerdetect removes browser tokens (its exclusions, one alternation) from the agent, then
    searches the rest for any crawler pattern. Both steps here run only the patterns whose
    literal text occurs in the agent: a pattern whose literal is absent cannot match anywhere,
    so leaving it out of an alternation changes neither what is removed nor what is found.
    """

    def __init__(self, crawlers: Iterable[str], exclusions: Iterable[str]) -> None:
        """Compiles the patterns.

        Args:
            crawlers: Regular expressions, any of which marks a crawler (case-insensitive).
            exclusions: Regular expressions removed from the agent first (case-insensitive).

        Raises:
            ValueError: If a crawler pattern matches the empty string (crawlerdetect would
                ignore such a match; this class would not).
        """
        self.exclusions = LiteralIndex(exclusions)
        self.crawlers = LiteralIndex(a for p in crawlers for a in simplify(p))
        self._crawler_regexes = [re.compile(p, re.IGNORECASE) for p in self.crawlers.patterns]
        for regex in self._crawler_regexes:
            if regex.search("") is not None:
                raise ValueError(f"crawler pattern matches the empty string: {regex.pattern!r}")
        self._exclusion_regex = functools.lru_cache(maxsize=256)(self._compile_exclusions)

    def _compile_exclusions(self, numbers: tuple[int, ...]) -> re.Pattern[str]:
        # Real agents bring a few combinations of browser tokens; each is compiled once.
        patterns = self.exclusions.patterns
        return re.compile("|".join(patterns[n] for n in numbers), re.IGNORECASE)

    def is_crawler(self, user_agent: str) -> bool:
        """Whether crawlerdetect would call ``user_agent`` a crawler.

        Args:
            user_agent: The header value (already bounded in length by the caller).
        """
        agent, numbers = self._search_plan(user_agent)
        return any(self._crawler_regexes[number].search(agent) for number in numbers)

    def searched(self, user_agent: str) -> int:
        """How many crawler patterns `is_crawler` runs on ``user_agent`` (of thousands)."""
        return len(self._search_plan(user_agent)[1])

    def _search_plan(self, user_agent: str) -> tuple[str, list[int]]:
        """The agent without crawlerdetect's browser tokens, and the crawler patterns to run."""
        agent = user_agent.strip()
        folded = fold(agent)
        seen = grams(folded)
        removed = self.exclusions.candidates(folded, seen)
        if removed:
            agent = self._exclusion_regex(tuple(removed)).sub("", agent)
            folded = fold(agent)
            seen = grams(folded)
        if not agent:
            return agent, []
        return agent, self.crawlers.candidates(folded, seen)


@functools.cache
def crawler_patterns() -> CrawlerPatterns:
    """The patterns of crawlerdetect, compiled once per process (about 0.2 s)."""
    return CrawlerPatterns(_CRAWLERS, _EXCLUSIONS)


def http_library(user_agent: str) -> str | None:
    """The HTTP library that sent this agent, as Matomo's device-detector names it; else None.

    Server-side senders (a backend posting events, an app's HTTP client) keep their library's
    default User-Agent: ``python-requests/2.31``, ``curl/8.5``, ``Go-http-client/1.1``.
    crawlerdetect calls every such agent a crawler; Plausible does not, because the database
    it asks (UAInspector, a port of Matomo's device-detector, `lib/plausible/ingestion/event.ex`)
    files them as *library* clients, not bots. This asks the same database: the agent must
    match one of its library clients and none of its bots (bots are checked first there too).

    Args:
        user_agent: The header value, already bounded in length.

    Returns:
        The library's name (``"Python Requests"``), or None for anything else.
    """
    return _matomo().library(user_agent)


def is_bot(user_agent: str, *, browser: str, device_family: str | None) -> bool:
    """Whether an event with this User-Agent comes from a bot and is not counted.

    The single place where footfall decides what a bot is.

    Args:
        user_agent: The header value, already bounded in length.
        browser: The browser name in Plausible's vocabulary (``"Headless Chrome"``...).
        device_family: uap-core's device family (``"Spider"`` for known crawlers), if any.

    Returns:
        True for headless browsers, and for uap-core's spiders and crawlerdetect's crawlers
        unless Matomo's device-detector names the agent an HTTP library (`http_library`).
    """
    if browser == "Headless Chrome" or "HeadlessChrome" in user_agent:
        return True
    if device_family != "Spider" and not crawler_patterns().is_crawler(user_agent):
        return False
    # Only agents already taken for crawlers pay for the second opinion (a few ms, once per
    # agent: the parser caches results), so browsers never do.
    return http_library(user_agent) is None


class _Matomo:
    """Matomo's bot and library lists, through the device-detector package."""

    def __init__(self) -> None:
        # The package compiles each of its ~1,000 regexes on first use, which can cost a
        # request half a second; compiling them all now takes about 0.4 s, once per process.
        for parser in (MatomoBot, MatomoLibrary):
            for entry in parser("", None).regex_list:
                entry["regex"].search("")

    def library(self, user_agent: str) -> str | None:
        cleaned = clean_ua(user_agent, user_agent.lower())
        if MatomoBot(cleaned, None).parse().is_bot():
            return None
        found = MatomoLibrary(cleaned, None, os_details={}).parse()
        name = found.ua_data.get("name") if found.ua_data else None
        return str(name) if name else None


@functools.cache
def _matomo() -> _Matomo:
    return _Matomo()
