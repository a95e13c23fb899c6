"""How an output writes the parts of an event, and the events the visit loop strings together.

Generation is built for speed: every part an event is made of (the name, the URL, the
referrer, the visitor, the props) is written once, in the output's notation, when the
vocabulary is built. The visit loop then only picks ready-made parts, and an output joins the
parts of each event with a single f-string.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

Visitor_co = TypeVar("Visitor_co", covariant=True)
Visitor = TypeVar("Visitor")

#: One event as the visit loop produces it: (epoch second, opening, URL, referrer, visitor,
#: props). The opening is `Notation.name`'s part, the URL is JSON-escaped without quotes, the
#: referrer is `Notation.referrer`'s part or `Notation.no_referrer`, the props are
#: `Notation.props`'s part or ``""``.
Hit = tuple[int, str, str, str, Visitor, str]


class Notation(Protocol[Visitor_co]):
    """The parts of an event in one output's notation (JSON-escaped where it is JSON).

    Attributes:
        no_referrer: What an event without a referrer has in the referrer's place.
    """

    no_referrer: str

    def name(self, name: str) -> str:
        """The opening of an event named `name`, up to the opening quote of its URL."""
        ...

    def referrer(self, url: str) -> str:
        """The part that gives an event the referrer `url`."""
        ...

    def props(self, key: str, value: str) -> str:
        """The part that gives an event the single prop `key` = `value`."""
        ...

    def user_agent(self, user_agent: str) -> str:
        """`user_agent` as `visitor` takes it (written once per user agent)."""
        ...

    def visitor(self, user_agent: str, ip: str) -> Visitor_co:
        """A visitor: `user_agent` as `Notation.user_agent` wrote it and an IP address."""
        ...
