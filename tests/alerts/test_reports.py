"""Email reports: the numbers of the Stats API, as HTML and plain text, through real SMTP."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from footfall.alerts.reports import last_complete
from footfall.meta.reports import list_subscriptions, set_subscription
from tests.alerts.harness import alert_harness, alert_settings
from tests.alerts.receivers import SmtpReceiver

# A Wednesday; the last complete week is Monday 26 October to Sunday 1 November.
NOW = dt.datetime(2026, 11, 4, 9, 0, tzinfo=dt.UTC)


def test_periods_end_at_the_sites_midnight() -> None:
    week = last_complete("weekly", "UTC", NOW)
    assert (week.first, week.last, week.key) == (
        dt.date(2026, 10, 26),
        dt.date(2026, 11, 1),
        "2026-W44",
    )
    month = last_complete("monthly", "UTC", NOW)
    assert (month.first, month.last, month.key) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 31),
        "2026-10",
    )
    # Monday 00:30 in Berlin is still Sunday in UTC: Berlin's week has ended, UTC's has not.
    early = dt.datetime(2026, 11, 1, 23, 30, tzinfo=dt.UTC)
    assert last_complete("weekly", "Europe/Berlin", early).key == "2026-W44"
    assert last_complete("weekly", "UTC", early).key == "2026-W43"


def test_a_weekly_report_has_the_stats_apis_numbers(tmp_path: Path, smtp: SmtpReceiver) -> None:
    settings = alert_settings(
        tmp_path / "data", smtp_port=smtp.port, public_url="https://stats.example.org"
    )
    start = dt.datetime(2026, 10, 20, 12, 0)  # the week before the report's week
    with alert_harness(settings, now=start) as (harness, services):
        harness.send(start, "/", ip="81.2.69.1", referrer="https://news.ycombinator.com/")
        harness.send(start, "/about", ip="81.2.69.1")
        harness.send(start, "/", ip="81.2.69.2")
        days = [
            dt.datetime(2026, 10, 26, 9),
            dt.datetime(2026, 10, 28, 15),
            dt.datetime(2026, 11, 1, 20),
        ]
        for n, day in enumerate(days):
            for visitor in range(n + 2):
                ip = f"81.2.70.{n * 10 + visitor}"
                harness.send(day, "/", ip=ip, referrer="https://www.google.com/search?q=x")
                harness.send(day + dt.timedelta(minutes=2), f"/post/{visitor}", ip=ip)
        harness.send(days[0], "/pricing", ip="81.2.71.1", referrer="https://news.ycombinator.com/")
        harness.flush(NOW)
        period = last_complete("weekly", "UTC", NOW)
        set_subscription(
            services.meta,
            "example.com",
            "weekly",
            ["a@example.org", "b@example.org"],
            last_sent="2026-W43",
        )
        alerting = services.alerting()
        report = alerting.run_round()
        assert report.reports == 2 and report.sent.sent == 2
        mails = smtp.wait_for(2)
        assert sorted(m.recipients[0] for m in mails) == ["a@example.org", "b@example.org"]
        assert mails[0].subject == "Weekly report for example.com: week of 26 Oct 2026"
        assert list_subscriptions(services.meta)[0].last_sent == period.key
        # Sent once per period.
        assert alerting.run_round().reports == 0

        date = f"{period.first},{period.last}"
        status, aggregate = harness.get(
            "aggregate",
            period="custom",
            date=date,
            metrics="visitors,pageviews,bounce_rate,visit_duration",
            compare="previous_period",
        )
        assert status == 200
        html = mails[0].part("html")
        text = mails[0].part("plain")
        results = aggregate["results"]
        assert f'data-metric="visitors">{results["visitors"]["value"]}<' in html
        assert f'data-metric="pageviews">{results["pageviews"]["value"]}<' in html
        assert f'data-metric="bounce_rate">{results["bounce_rate"]["value"]}%<' in html
        assert results["visitors"]["value"] == 10
        change = results["visitors"]["change"]
        assert f"+{change}%" in text and f"+{change}%" in html
        _, sources = harness.get(
            "breakdown", period="custom", date=date, property="visit:source", limit="5"
        )
        _, pages = harness.get(
            "breakdown", period="custom", date=date, property="event:page", limit="5"
        )
        for row in sources["results"]:
            assert f"{row['source']:<40} {row['visitors']}" in text
        for row in pages["results"]:
            assert f"{row['page']:<40} {row['visitors']}" in text
        assert "https://stats.example.org/sites/example.com" in text
