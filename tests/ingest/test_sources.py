from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.ingest.sources import (
    CHANNELS,
    SourceClassifier,
    VisitSource,
    acquisition_channel,
    contains_email,
    is_paid_medium,
    is_paid_utm_source,
    is_shopping_campaign,
    is_spam_referrer,
    source_category,
)

PAGE_HOST = "mysite.com"


@pytest.fixture(scope="module")
def classifier() -> SourceClassifier:
    return SourceClassifier()


def classify(
    classifier: SourceClassifier, referrer: str | None, query: Mapping[str, str] | None = None
) -> VisitSource:
    return classifier.classify(referrer=referrer, page_hostname=PAGE_HOST, query=query or {})


# ------------------------------------------------------------------ source and referrer


@pytest.mark.parametrize(
    ("referrer", "referrer_text", "source"),
    [
        ("https://www.facebook.com/page/", "facebook.com/page", "Facebook"),
        ("https://l.facebook.com/l.php?u=x", "l.facebook.com/l.php", "Facebook"),
        ("https://www.google.com/", "google.com", "Google"),
        ("https://www.google.co.uk/search?q=x#frag", "google.co.uk/search", "Google"),
        ("https://news.ycombinator.com/item?id=1", "news.ycombinator.com/item", "Hacker News"),
        ("https://t.co/abc", "t.co/abc", "Twitter"),
        ("https://x.com/someone", "x.com/someone", "Twitter"),
        ("https://duckduckgo.com/", "duckduckgo.com", "DuckDuckGo"),
        ("https://www.bing.com/search", "bing.com/search", "Bing"),
        ("https://ntp.msn.com/edge/ntp", "ntp.msn.com/edge/ntp", "Bing"),
        ("https://www.ecosia.org/search", "ecosia.org/search", "Ecosia"),
        ("https://lnkd.in/abc", "lnkd.in/abc", "LinkedIn"),
        ("https://www.reddit.com/r/python/", "reddit.com/r/python", "Reddit"),
        ("https://github.com/org/repo", "github.com/org/repo", "GitHub"),
        ("https://bsky.app/profile/x", "bsky.app/profile/x", "Bluesky"),
        ("https://t.me/channel", "t.me/channel", "Telegram"),
        ("https://www.perplexity.ai/", "perplexity.ai", "Perplexity"),
        ("https://chatgpt.com/", "chatgpt.com", "ChatGPT"),
        ("https://en.m.wikipedia.org/wiki/X", "en.m.wikipedia.org/wiki/X", "Wikipedia"),
        ("https://mail.google.com/mail/u/0/", "mail.google.com/mail/u/0", "Gmail"),
        ("https://www.youtube.com/watch?v=1", "youtube.com/watch", "Youtube"),
        ("https://m.youtube.com/", "m.youtube.com", "Youtube"),
        ("https://www.markosaric.com/", "markosaric.com", "markosaric.com"),
        ("https://Blog.Example.COM/a//", "blog.example.com/a", "blog.example.com"),
        ("http://example.com:8080/x", "example.com/x", "example.com"),
        (
            "android-app://com.reddit.frontpage/",
            "android-app://com.reddit.frontpage",
            "Reddit",
        ),
        (
            "android-app://com.example.app",
            "android-app://com.example.app",
            "android-app://com.example.app",
        ),
    ],
)
def test_referrer_sources(
    classifier: SourceClassifier, referrer: str, referrer_text: str, source: str
) -> None:
    result = classify(classifier, referrer)
    assert (result.referrer, result.referrer_source) == (referrer_text, source)


def test_path_specific_referer_entries(classifier: SourceClassifier) -> None:
    # The Snowplow data lists "google.com/imgres" separately from "google.com".
    assert (
        classify(classifier, "https://www.google.com/imgres?x").referrer_source == "Google Images"
    )
    assert classify(classifier, "https://www.google.com/imgresx").referrer_source == "Google"


@pytest.mark.parametrize(
    "referrer",
    [
        None,
        "",
        "https://mysite.com/other",  # self-referral
        "https://www.mysite.com/other",  # self-referral, www-stripped
        "https://WWW.MYSITE.COM/",
        "http://localhost:3000/",
        "ftp://example.com/",
        "javascript:alert(1)",
        "https:///nohost",
        "not a url",
        "example.com/no-scheme",
    ],
)
def test_invalid_referrals_are_ignored(classifier: SourceClassifier, referrer: str | None) -> None:
    result = classify(classifier, referrer)
    assert (result.referrer, result.referrer_source, result.channel) == ("", "", "Direct")


@pytest.mark.parametrize(
    ("query", "source", "utm_source"),
    [
        ({"utm_source": "newsletter"}, "newsletter", "newsletter"),
        ({"utm_source": "ig"}, "Instagram", "ig"),
        ({"utm_source": "FB"}, "Facebook", "FB"),
        ({"utm_source": "yt"}, "Youtube", "yt"),
        ({"utm_source": "google-ads"}, "Google", "google-ads"),
        ({"utm_source": "GOOGLE"}, "Google", "GOOGLE"),
        ({"utm_source": "wikipedia"}, "Wikipedia", "wikipedia"),
        ({"utm_source": "t.me"}, "Telegram", "t.me"),
        ({"source": "Hacker News"}, "Hacker News", "Hacker News"),
        ({"ref": "producthunt"}, "producthunt", "producthunt"),
        ({"utm_source": "a", "source": "b", "ref": "c"}, "a", "a"),
        ({"source": "b", "ref": "c"}, "b", "b"),
        # An empty tag is still "present": it beats the referrer and yields no source.
        ({"utm_source": ""}, "", ""),
        ({"utm_source": "", "source": "b"}, "", ""),
    ],
)
def test_tagged_source_beats_referrer(
    classifier: SourceClassifier, query: dict[str, str], source: str, utm_source: str
) -> None:
    result = classify(classifier, "https://www.google.com/", query)
    assert (result.referrer_source, result.utm_source) == (source, utm_source)
    # The referrer itself is still recorded.
    assert result.referrer == "google.com"


def test_utm_fields_are_raw(classifier: SourceClassifier) -> None:
    query = {
        "utm_source": "News Letter",
        "utm_medium": "E-Mail",
        "utm_campaign": "Spring Sale",
        "utm_content": "Button",
        "utm_term": "shoes",
    }
    result = classify(classifier, None, query)
    assert result == VisitSource(
        referrer="",
        referrer_source="News Letter",
        utm_medium="E-Mail",
        utm_source="News Letter",
        utm_campaign="Spring Sale",
        utm_content="Button",
        utm_term="shoes",
        click_id_param="",
        channel="Email",
    )


@pytest.mark.parametrize(
    ("query", "click_id"),
    [
        ({}, ""),
        ({"gclid": "x"}, "gclid"),
        ({"fbclid": "x", "gclid": "y"}, "gclid"),  # list order, not query order
        ({"twclid": "x", "msclkid": "y"}, "msclkid"),
        ({"wbraid": "", "gbraid": ""}, "gbraid"),  # presence is enough
        ({"fbclid": "x"}, "fbclid"),
    ],
)
def test_click_id_param(classifier: SourceClassifier, query: dict[str, str], click_id: str) -> None:
    assert classify(classifier, None, query).click_id_param == click_id


@pytest.mark.parametrize(
    ("referrer", "query", "medium"),
    [
        ("https://www.google.com/", {"gclid": "x"}, "(gclid)"),
        (None, {"utm_source": "google", "gclid": "x"}, "(gclid)"),
        ("https://www.bing.com/", {"msclkid": "x"}, "(msclkid)"),
        ("https://www.google.com/", {"gclid": "x", "utm_medium": "cpc"}, "cpc"),
        ("https://www.google.com/", {"gclid": "x", "utm_medium": ""}, ""),  # present, empty
        ("https://www.google.com/", {"msclkid": "x"}, ""),
        ("https://www.bing.com/", {"gclid": "x"}, ""),
        ("https://example.com/", {"gclid": "x"}, ""),
    ],
)
def test_inferred_medium(
    classifier: SourceClassifier, referrer: str | None, query: dict[str, str], medium: str
) -> None:
    assert classify(classifier, referrer, query).utm_medium == medium


# -------------------------------------------------------------------- channels end-to-end


@pytest.mark.parametrize(
    ("referrer", "query", "channel"),
    [
        (None, {}, "Direct"),
        ("https://mysite.com/", {}, "Direct"),
        ("https://www.google.com/", {}, "Organic Search"),
        ("https://duckduckgo.com/", {}, "Organic Search"),
        ("https://chatgpt.com/", {}, "Organic Search"),
        ("https://news.ycombinator.com/", {}, "Organic Social"),
        ("https://www.facebook.com/", {}, "Organic Social"),
        ("https://www.youtube.com/", {}, "Organic Video"),
        ("https://www.amazon.com/", {}, "Organic Shopping"),
        ("https://mail.google.com/", {}, "Email"),
        ("https://example.com/", {}, "Referral"),
        ("https://www.google.com/", {"gclid": "x"}, "Paid Search"),
        ("https://www.bing.com/", {"msclkid": "x"}, "Paid Search"),
        (None, {"utm_source": "google", "utm_medium": "display", "gclid": "x"}, "Display"),
        (None, {"utm_source": "google", "utm_medium": "cpc"}, "Paid Search"),
        (None, {"utm_source": "adwords"}, "Paid Search"),
        (None, {"utm_source": "fb-ads"}, "Paid Social"),
        (None, {"utm_source": "facebook", "utm_medium": "paid_social"}, "Paid Social"),
        (None, {"utm_source": "yt-ads"}, "Paid Video"),
        (None, {"utm_source": "partner", "utm_medium": "ppc"}, "Paid Other"),
        (
            None,
            {"utm_source": "x", "utm_medium": "cpc", "utm_campaign": "shopping"},
            "Paid Shopping",
        ),
        (None, {"utm_campaign": "summer-cross-network"}, "Cross-network"),
        (None, {"utm_medium": "newsletter"}, "Email"),
        (None, {"utm_source": "newsletter"}, "Email"),
        (None, {"utm_medium": "sms"}, "SMS"),
        (None, {"utm_medium": "affiliate"}, "Affiliates"),
        (None, {"utm_medium": "web-push"}, "Mobile Push Notifications"),
        (None, {"utm_medium": "social"}, "Organic Social"),
        (None, {"utm_medium": "referral"}, "Referral"),
        (None, {"utm_source": ""}, "Direct"),
    ],
)
def test_channels(
    classifier: SourceClassifier, referrer: str | None, query: dict[str, str], channel: str
) -> None:
    assert classify(classifier, referrer, query).channel == channel


# ------------------------------------------------------------------ channel rules (pure)


@pytest.mark.parametrize(
    ("args", "channel"),
    [
        # (referrer_source, utm_medium, utm_campaign, utm_source, click_id_param)
        (("", "", "", "", ""), "Direct"),
        (("Anything", "display", "x-cross-network", "", ""), "Cross-network"),
        # SQL order: Display is checked before the paid rules (Elixir mirror differs).
        (("Google", "display", "", "google", "gclid"), "Display"),
        (("Google", "CPM", "", "", ""), "Display"),
        (("Google", "banner", "", "", ""), "Display"),
        (("Amazon", "cpc", "", "", ""), "Paid Shopping"),
        (("example.com", "paid", "black-shop", "", ""), "Paid Shopping"),
        (("Google", "cpc", "", "", ""), "Paid Search"),
        (("Bing", "", "", "bingads", ""), "Paid Search"),
        (("Google", "", "", "", "gclid"), "Paid Search"),
        (("Bing", "", "", "", "msclkid"), "Paid Search"),
        (("Google", "", "", "", "msclkid"), "Organic Search"),
        (("Facebook", "paid-social", "", "", ""), "Paid Social"),
        (("Instagram", "", "", "facebook_ad", ""), "Paid Social"),
        (("Youtube", "cpv", "", "", ""), "Paid Video"),
        (("example.com", "retargeting", "", "", ""), "Paid Other"),
        (("eBay", "", "", "", ""), "Organic Shopping"),
        (("example.com", "", "shop-now", "", ""), "Organic Shopping"),
        (("Reddit", "", "", "", ""), "Organic Social"),
        (("example.com", "social media", "", "", ""), "Organic Social"),
        (("Vimeo", "", "", "", ""), "Organic Video"),
        (("example.com", "video-ad", "", "", ""), "Organic Video"),
        (("Yahoo!", "", "", "", ""), "Organic Search"),
        (("Gmail", "", "", "", ""), "Email"),
        (("example.com", "e_mail", "", "", ""), "Email"),
        (("example.com", "", "", "weekly-newsletter", ""), "Email"),
        (("", "affiliate", "", "", ""), "Affiliates"),
        (("", "audio", "", "", ""), "Audio"),
        (("", "", "", "SMS", ""), "SMS"),
        (("", "sms", "", "", ""), "SMS"),
        (("", "push", "", "", ""), "Mobile Push Notifications"),
        (("", "in-app-notification", "", "", ""), "Mobile Push Notifications"),
        (("", "mobile", "", "", ""), "Mobile Push Notifications"),
        (("firebase", "", "", "", ""), "Mobile Push Notifications"),
        (("", "link", "", "", ""), "Referral"),
        (("", "app", "", "", ""), "Referral"),
        (("example.com", "", "", "", ""), "Referral"),
        (("", "unknown-medium", "", "", ""), "Direct"),
    ],
)
def test_acquisition_channel(args: tuple[str, str, str, str, str], channel: str) -> None:
    source, medium, campaign, tag, click_id = args
    result = acquisition_channel(
        referrer_source=source,
        utm_medium=medium,
        utm_campaign=campaign,
        utm_source=tag,
        click_id_param=click_id,
    )
    assert result == channel
    assert result in CHANNELS


@pytest.mark.parametrize(
    ("medium", "expected"),
    [
        ("cpc", True),
        ("cpm", True),
        ("cpv", True),
        ("ppc", True),
        ("paid", True),
        ("paid_social", True),
        ("retargeting", True),
        ("ppcx", False),
        ("unpaid", False),
        ("email", False),
        ("", False),
    ],
)
def test_is_paid_medium(medium: str, expected: bool) -> None:
    assert is_paid_medium(medium) is expected


@pytest.mark.parametrize(
    ("campaign", "expected"),
    [
        ("shop", True),
        ("shopping", True),
        ("summer-shop", True),
        ("2024shop", True),
        ("eshop", True),  # 'e' is excluded from [^a-df-z] in the upstream pattern
        ("workshop", False),
        ("bishop", False),
        ("", False),
    ],
)
def test_is_shopping_campaign(campaign: str, expected: bool) -> None:
    assert is_shopping_campaign(campaign) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("email", True),
        ("e-mail", True),
        ("e_mail", True),
        ("e mail", True),
        ("my-newsletter", True),
        ("gmail", False),
        ("mail", False),
        ("", False),
    ],
)
def test_contains_email(value: str, expected: bool) -> None:
    assert contains_email(value) is expected


def test_paid_utm_sources() -> None:
    for tag in ["adwords", "google-ads", "fb-ads", "fbad", "facebook_feed_ad", "tiktokads"]:
        assert is_paid_utm_source(tag), tag
    for tag in ["google", "facebook", "threads", "ads", ""]:
        assert not is_paid_utm_source(tag), tag


@pytest.mark.parametrize(
    ("source", "category"),
    [
        ("Google", "SEARCH"),
        ("google", "SEARCH"),
        ("Yahoo!", "SEARCH"),
        ("Ecosia", "SEARCH"),
        ("Perplexity", "SEARCH"),
        ("chatgpt.com", "SEARCH"),
        ("Brave", "SEARCH"),
        ("Sogou", "SEARCH"),
        ("Hacker News", "SOCIAL"),
        ("GitHub", "SOCIAL"),
        ("Slack", "SOCIAL"),
        ("Telegram", "SOCIAL"),
        ("Discord", "SOCIAL"),
        ("producthunt", "SOCIAL"),
        ("Vkontakte", "SOCIAL"),
        ("Threads", "SOCIAL"),
        ("steamcommunity.com", "SOCIAL"),
        ("statics.teams.cdn.office.net", "SOCIAL"),
        ("Microsoft Teams", "SOCIAL"),
        ("Youtube", "VIDEO"),
        ("Gmail", "EMAIL"),
        ("temu.com", "SHOPPING"),
        ("example.com", ""),
        ("", ""),
    ],
)
def test_source_category(source: str, category: str) -> None:
    assert source_category(source) == category


# -------------------------------------------------------------------------- spam check


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("https://semalt.com/", True),
        ("http://www.semalt.com/x", True),
        ("https://semalt.semalt.com/crawler.php", True),  # parent domain listed
        ("https://BUTTONS-FOR-WEBSITE.COM", True),
        ("https://darodar.com/", True),
        ("https://best-seo-offer.com/", True),
        ("https://notsemalt.com/", False),
        ("https://www.google.com/", False),
        ("https://com/", False),
        (None, False),
        ("", False),
        ("garbage", False),
    ],
)
def test_is_spam_referrer(referrer: str | None, expected: bool) -> None:
    assert is_spam_referrer(referrer) is expected


# ------------------------------------------------------------------------ misc behaviour


def test_normalise_source(classifier: SourceClassifier) -> None:
    assert classifier.normalise_source("INSTAGRAM") == "Instagram"
    assert classifier.normalise_source("lnkd.in") == "lnkd.in"  # exact aliases only
    assert classifier.normalise_source("Unknown Thing") == "Unknown Thing"


def test_results_are_cached_on_relevant_inputs() -> None:
    classifier = SourceClassifier(cache_size=8)
    first = classifier.classify(
        referrer="https://www.google.com/", page_hostname=PAGE_HOST, query={"page": "1"}
    )
    # Unrelated query parameters do not split the cache.
    second = classifier.classify(
        referrer="https://www.google.com/", page_hostname=PAGE_HOST, query={"page": "2"}
    )
    assert second is first


_query_keys = st.sampled_from(
    [
        "utm_source",
        "source",
        "ref",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
        "gclid",
        "msclkid",
        "fbclid",
        "other",
    ]
)


@settings(max_examples=200)
@given(
    referrer=st.one_of(
        st.none(),
        st.text(),
        st.builds(
            lambda scheme, host, path: f"{scheme}://{host}{path}",
            st.sampled_from(["http", "https", "android-app", "ftp", "HTTPS"]),
            st.text(),
            st.text(),
        ),
    ),
    page_hostname=st.text(),
    query=st.dictionaries(_query_keys, st.text(), max_size=6),
)
def test_classify_never_raises(
    classifier: SourceClassifier, referrer: str | None, page_hostname: str, query: dict[str, str]
) -> None:
    result = classifier.classify(referrer=referrer, page_hostname=page_hostname, query=query)
    assert result.channel in CHANNELS
    assert isinstance(is_spam_referrer(referrer), bool)


def test_overlong_hosts_are_not_looked_up(classifier: SourceClassifier) -> None:
    host = "a." * 200 + "google.com"
    assert classify(classifier, f"https://{host}/").referrer_source == host
    assert not is_spam_referrer(f"https://{'a.' * 200}semalt.com/")


def test_bundled_tables_are_well_formed() -> None:
    from footfall.ingest.sources import _custom_sources, _source_categories, _spam_domains

    assert set(_source_categories().values()) == {"SEARCH", "SOCIAL", "SHOPPING", "VIDEO", "EMAIL"}
    assert all(key == key.lower() for key in _source_categories())
    assert all(name for name in _custom_sources().values())
    assert all(" " not in domain and "." in domain for domain in _spam_domains())
