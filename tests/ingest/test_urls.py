from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from footfall.ingest.urls import (
    CLICK_ID_PARAMS,
    PageUrl,
    SplitUrl,
    parse_page_url,
    split_url,
    strip_www,
)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("www.example.com", "example.com"),
        ("  WWW.Example.COM ", "example.com"),
        ("www.www.example.com", "www.example.com"),  # only one prefix is removed
        ("wwwexample.com", "wwwexample.com"),
        ("example.com", "example.com"),
        ("", ""),
    ],
)
def test_strip_www(host: str, expected: str) -> None:
    assert strip_www(host) == expected


@pytest.mark.parametrize(
    ("url", "hostname", "pathname"),
    [
        ("https://www.example.com/", "example.com", "/"),
        ("https://example.com", "example.com", "/"),
        ("https://example.com?a=1", "example.com", "/"),
        ("https://Example.COM/Path", "example.com", "/Path"),
        ("https://example.com/a/", "example.com", "/a/"),  # trailing slash is kept
        ("https://example.com/a", "example.com", "/a"),
        ("https://example.com/a//", "example.com", "/a//"),
        ("https://example.com/caf%C3%A9/%20x", "example.com", "/café/ x"),
        ("https://example.com/a%20%20", "example.com", "/a"),  # trailing whitespace trimmed
        ("https://example.com/100%", "example.com", "/100%"),  # malformed escape kept
        ("https://example.com/%zz", "example.com", "/%zz"),
        ("https://example.com/%FF", "example.com", "/\ufffd"),  # invalid UTF-8 replaced
        ("https://user:pw@example.com:8443/x", "example.com", "/x"),
        ("http://[2001:db8::1]:8080/x", "2001:db8::1", "/x"),
        ("http://127.0.0.1:8000/x", "127.0.0.1", "/x"),
        ("https://example.com/page#section", "example.com", "/page"),
        ("/relative/path", "(none)", "/relative/path"),
        ("", "(none)", "/"),
        ("https:///path", "(none)", "/path"),
        ("https://www./x", "(none)", "/x"),
        ("not a url", "(none)", "not a url"),
        ("  https://example.com/x  ", "example.com", "/x"),
        ("file:///etc/passwd", "(none)", "/etc/passwd"),
    ],
)
def test_parse_page_url_host_and_path(url: str, hostname: str, pathname: str) -> None:
    page = parse_page_url(url)
    assert (page.hostname, page.pathname) == (hostname, pathname)


@pytest.mark.parametrize(
    ("url", "pathname"),
    [
        ("http://x/#page-a", "/#page-a"),
        ("http://x/app#/users/1", "/app#/users/1"),
        ("http://x/#caf%C3%A9", "/#café"),
        ("http://x/a?q=1#frag", "/a#frag"),
        ("http://x/a", "/a"),  # no fragment: nothing appended
        ("http://x/#", "/#"),  # empty fragment is still a fragment
    ],
)
def test_hash_mode(url: str, pathname: str) -> None:
    assert parse_page_url(url, hash_mode=True).pathname == pathname


def test_fragment_dropped_without_hash_mode() -> None:
    assert parse_page_url("http://x/#page-a").pathname == "/"


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("https://x/", {}),
        ("https://x/?", {}),
        ("https://x/?utm_source=news+letter", {"utm_source": "news letter"}),
        ("https://x/?a=1&a=2", {"a": "2"}),  # last duplicate wins
        ("https://x/?utm_source=", {"utm_source": ""}),
        ("https://x/?flag", {"flag": ""}),
        ("https://x/?q=caf%C3%A9&x=a%26b", {"q": "café", "x": "a&b"}),
        ("https://x/?a=1=2", {"a": "1=2"}),
        ("https://x/?a=1;b=2", {"a": "1;b=2"}),  # only '&' separates
        ("https://x/?a=1#b=2", {"a": "1"}),
    ],
)
def test_query_params(url: str, query: dict[str, str]) -> None:
    assert parse_page_url(url).query == query


def test_page_url_is_frozen() -> None:
    page = parse_page_url("https://example.com/")
    assert page == PageUrl("example.com", "/", {})
    with pytest.raises(AttributeError):
        page.hostname = "other"  # type: ignore[misc]


def test_click_id_params_order() -> None:
    assert CLICK_ID_PARAMS == ("gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.com/p?q#f", SplitUrl("https", "a.com", "/p", "q", "f")),
        ("HTTP://a.com", SplitUrl("http", "a.com", "", None, None)),
        ("android-app://com.app/x", SplitUrl("android-app", "com.app", "/x", None, None)),
        ("a.com/p", SplitUrl(None, None, "a.com/p", None, None)),
        ("//a.com/p", SplitUrl(None, "a.com", "/p", None, None)),
        ("http://[::1", SplitUrl("http", "::1", "", None, None)),
        ("", SplitUrl(None, None, "", None, None)),
    ],
)
def test_split_url(url: str, expected: SplitUrl) -> None:
    assert split_url(url) == expected


url_like = st.one_of(
    st.text(),
    st.builds(
        lambda scheme, host, path, query, frag: f"{scheme}://{host}{path}?{query}#{frag}",
        st.sampled_from(["http", "https", "", "android-app", "x y"]),
        st.text(),
        st.text(),
        st.text(),
        st.text(),
    ),
    st.text(alphabet="%:/?#[]@&=+ wW.0123456789abcdefABCDEF\x00\ud800\u00e9"),
)


@given(url_like, st.booleans())
def test_parse_page_url_never_raises(url: str, hash_mode: bool) -> None:
    page = parse_page_url(url, hash_mode=hash_mode)
    assert page.hostname
    assert page.pathname
    assert not page.hostname.startswith("www.")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in page.query.items())
