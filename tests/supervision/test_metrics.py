"""Report figures on a hand-built dataset whose medians and 90th percentiles are known."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from bot.core.context import Context
from storage.metrics import build_report, percentiles
from storage.queue import SLA_DEFAULTS, threshold
from tests.conftest import FakeClock
from tests.support.rows import add_account, add_mention

M = timedelta(minutes=1)


def _dataset(session: Session, clock: FakeClock) -> None:
    now = clock.now()  # 2026-11-20 15:00 UTC
    x = add_account(session, now, "x")
    fb = add_account(session, now, "facebook", "cityPDpage")
    day = now - timedelta(days=1)
    # Questions answered after 10, 20, 30 and 40 minutes: median 25 min, p90 37 min.
    for i, (minutes, who) in enumerate([(10, "U1"), (20, "U1"), (30, "U2"), (40, "U1")]):
        add_mention(
            session,
            x if i % 2 else fb,
            day + i * M,
            state="replied",
            response_after=minutes * M,
            responded_by=who,
        )
    add_mention(
        session, x, day, category="criticism", state="replied", response_after=60 * M, responded_by="U2"
    )
    add_mention(session, fb, day, category="compliment", state="dismissed", dismissed_reason="spam")
    # Still open: a question waiting 2 h (overdue), a compliment waiting 2 h (not), an urgent
    # criticism waiting 10 min (overdue at the 5 min urgent SLA), an "other" waiting 3 days (no SLA).
    add_mention(session, x, now - 120 * M)
    add_mention(session, x, now - 120 * M, category="compliment")
    add_mention(session, x, now - 10 * M, category="criticism", urgent=True)
    add_mention(session, x, now - timedelta(days=3), category="other")
    # Outside the 7-day window: not counted anywhere but "overdue now".
    add_mention(session, x, now - timedelta(days=9), state="replied", response_after=5 * M, responded_by="U3")
    add_mention(session, x, now - timedelta(days=10))


def test_report_figures_on_a_known_dataset(ctx: Context, clock: FakeClock) -> None:
    with ctx.transaction() as session:
        _dataset(session, clock)
    now = clock.now()
    with ctx.transaction() as session:
        report = build_report(session, now - timedelta(days=7), now, now)
    assert report.total == 10
    assert report.by_category == {"question": 5, "criticism": 2, "compliment": 2, "other": 1}
    assert report.by_platform == {"x": 7, "facebook": 3}
    assert report.answered == 5
    assert report.dismissed == 1
    assert report.still_open == 4
    assert report.response_rate == pytest.approx(0.5)
    question = report.timing["question"]
    assert (question.answered, question.median, question.p90) == (4, 25 * 60, 37 * 60)
    assert (report.timing["criticism"].median, report.timing["criticism"].p90) == (3600, 3600)
    overall = report.timing["all"]
    assert (overall.answered, overall.median, overall.p90) == (5, 30 * 60, 52 * 60)
    assert "compliment" not in report.timing
    # Overdue: the open question (2 h > 1 h), the urgent criticism (10 min > 5 min), and the
    # 10-day-old question outside the window.
    assert report.overdue_now == 3
    assert report.overdue_by_category == {"question": 2, "criticism": 1}
    assert report.top_responders == [("U1", 3), ("U2", 2)]
    assert report.bucket == "day"
    assert sum(n for _, _, n in report.volume) == 10
    assert ("2026-11-19", "question", 4) in report.volume
    assert report.bucket_median == [("2026-11-19", 30 * 60)]


def test_report_days_follow_the_utc_offset(ctx: Context, clock: FakeClock) -> None:
    """At UTC+10, 15:00 UTC on the 19th is 01:00 on the local 20th, and the 3-day-old mention
    falls on the local 18th; 14:50 UTC today is already tomorrow there."""
    with ctx.transaction() as session:
        _dataset(session, clock)
    now = clock.now()
    with ctx.transaction() as session:
        report = build_report(session, now - timedelta(days=7), now, now, utc_offset_seconds=10 * 3600)
    days = {b for b, _, _ in report.volume}
    assert days == {"2026-11-18", "2026-11-20", "2026-11-21"}


def test_hourly_buckets_for_a_one_day_report(ctx: Context, clock: FakeClock) -> None:
    with ctx.transaction() as session:
        _dataset(session, clock)
    now = clock.now()
    with ctx.transaction() as session:
        report = build_report(session, now - timedelta(days=1, minutes=1), now, now)
    assert report.bucket == "hour"
    assert report.total == 9
    assert ("2026-11-19 15:00", "question", 4) in report.volume


def test_empty_period_has_no_rate_and_no_timing(ctx: Context, clock: FakeClock) -> None:
    now = clock.now()
    with ctx.transaction() as session:
        report = build_report(session, now - timedelta(days=7), now, now)
    assert report.total == 0
    assert report.response_rate is None
    assert report.timing == {}
    assert report.volume == []


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        ([7], 7, 7),
        ([1, 2], 1.5, 1.9),
        ([5, 1, 3], 3, 4.6),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5.5, 9.1),
        ([0, 0, 0, 100], 0, 70),
    ],
)
def test_percentiles_match_linear_interpolation(
    ctx: Context, clock: FakeClock, values: list[int], median: float, p90: float
) -> None:
    """The SQL percentile equals percentile_cont: linear interpolation between closest ranks."""
    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        for v in values:
            add_mention(session, account, clock.now(), response_after=timedelta(seconds=v), responded_by="U1")
    from sqlalchemy import literal, select

    from storage.metrics import _seconds_between
    from storage.models import Mention

    with ctx.transaction() as session:
        d = _seconds_between(session, Mention.first_response_at, Mention.created_at)
        result = percentiles(session, select(literal("k").label("key"), d.label("d")))
    n, (got_median, got_p90) = result["k"]
    assert n == len(values)
    assert got_median == pytest.approx(median)
    assert got_p90 == pytest.approx(p90)


@pytest.mark.parametrize(
    ("category", "urgent", "expected"),
    [
        ("question", False, 3600),
        ("question", True, 300),
        ("compliment", False, 86400),
        ("other", False, None),
        ("other", True, 300),
        (None, False, None),
    ],
)
def test_threshold_takes_the_shorter_sla(category: str | None, urgent: bool, expected: int | None) -> None:
    assert threshold(dict(SLA_DEFAULTS), category, urgent) == expected


@pytest.mark.parametrize(
    ("since", "until", "offset_hours", "bucket", "expected"),
    [
        ("2026-11-18 15:00", "2026-11-20 15:00", 0, "day", ["2026-11-18", "2026-11-19", "2026-11-20"]),
        ("2026-11-18 15:00", "2026-11-20 15:00", -16, "day", ["2026-11-17", "2026-11-18", "2026-11-19"]),
        (
            "2026-11-20 12:00",
            "2026-11-20 15:00",
            0,
            "hour",
            ["2026-11-20 12:00", "2026-11-20 13:00", "2026-11-20 14:00"],
        ),
        ("2026-11-20 12:30", "2026-11-20 14:00", 1, "hour", ["2026-11-20 13:00", "2026-11-20 14:00"]),
    ],
)
def test_buckets_cover_the_whole_period_including_empty_ones(
    since: str, until: str, offset_hours: int, bucket: str, expected: list[str]
) -> None:
    from datetime import UTC, datetime

    from storage.metrics import Report

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    report = Report(at(since), at(until), at(until), bucket=bucket, utc_offset_seconds=offset_hours * 3600)
    assert report.buckets() == expected


# handlers.metrics: the classifier figures `twoway eval` prints.


def test_per_class_figures_are_none_where_undefined() -> None:
    """compliment: rows, never predicted; question: absent, predicted; criticism: absent, never
    predicted; other: rows, predicted, partly right."""
    from handlers import metrics as triage

    truth = ["compliment", "compliment", "other", "other"]
    predicted = ["other", "question", "other", "question"]
    table = triage.per_class(truth, predicted)
    assert table["compliment"] == {"precision": None, "recall": 0.0, "f1": 0.0, "support": 2.0}
    assert table["question"] == {"precision": 0.0, "recall": None, "f1": None, "support": 0.0}
    assert table["criticism"] == {"precision": None, "recall": None, "f1": None, "support": 0.0}
    assert table["other"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2.0}
    # Macro-F1 averages the classes with rows; compliment counts as 0.
    assert triage.macro_f1(truth, predicted) == pytest.approx(0.25)


def test_f1_is_zero_when_a_predicted_class_is_never_right() -> None:
    from handlers import metrics as triage

    table = triage.per_class(["question", "other"], ["other", "question"])
    assert table["question"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1.0}
    assert triage.macro_f1(["question", "other"], ["other", "question"]) == 0.0
