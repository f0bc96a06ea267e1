"""Report figures computed in the database, so a month of 100,000 mentions answers in well under 2 s.

Every figure is a GROUP BY; percentiles use `percentile_cont` on PostgreSQL and the same linear
interpolation built from window functions on SQLite, so both backends give identical numbers.
Only aggregates leave the database. A mention belongs to a report when it was posted on the
platform (`created_at`) inside [since, until).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, Select, and_, case, cast, extract, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.models import CARD_SUMMARY, DISMISSED, OPEN, Mention, Storm
from storage.queue import chased, overdue_clause, sla_settings

TOP_RESPONDERS = 5
UNTRIAGED = "untriaged"


@dataclass(frozen=True)
class Timing:
    """Time to first response for one group, in seconds."""

    answered: int
    median: float | None
    p90: float | None


@dataclass
class Report:
    since: datetime
    until: datetime
    now: datetime
    total: int = 0
    answered: int = 0
    dismissed: int = 0
    still_open: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_platform: dict[str, int] = field(default_factory=dict)
    answered_by_category: dict[str, int] = field(default_factory=dict)
    timing: dict[str, Timing] = field(default_factory=dict)  # per category, plus "all"
    overdue_now: int = 0
    overdue_by_category: dict[str, int] = field(default_factory=dict)
    top_responders: list[tuple[str, int]] = field(default_factory=list)
    bucket: str = "day"  # "day" or "hour" (local time of the report's timezone)
    utc_offset_seconds: int = 0
    volume: list[tuple[str, str, int]] = field(default_factory=list)  # (bucket, category, count)
    bucket_median: list[tuple[str, float]] = field(default_factory=list)  # (bucket, seconds)
    storms: int = 0  # storms the period's mentions arrived in
    storm_mentions: int = 0  # mentions that arrived in a storm (all of them are in `total` too)
    gathered: int = 0  # of those, shown on a summary card instead of a card of their own
    gathered_open: int = 0
    gathered_dismissed: int = 0

    @property
    def response_rate(self) -> float | None:
        """Share of the period's mentions that got a public response."""
        return self.answered / self.total if self.total else None

    def buckets(self) -> list[str]:
        """Every day (or hour) label of the period, in order, including empty ones."""
        step = timedelta(hours=1) if self.bucket == "hour" else timedelta(days=1)
        pattern = "%Y-%m-%d %H:00" if self.bucket == "hour" else "%Y-%m-%d"
        shift = timedelta(seconds=self.utc_offset_seconds)
        first, last = self.since + shift, self.until + shift - timedelta(microseconds=1)
        if self.bucket == "hour":
            current = first.replace(minute=0, second=0, microsecond=0)
        else:
            current = first.replace(hour=0, minute=0, second=0, microsecond=0)
        labels = []
        while current <= last:
            labels.append(current.strftime(pattern))
            current += step
        return labels


def _seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", later - earlier)
    # SQLite keeps naive UTC text; julianday is exact to the millisecond.
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)


def _bucket(session: Session, column: Any, bucket: str, offset_seconds: int) -> ColumnElement[str]:
    """The local day or hour of a timestamp, as text, shifted by a fixed UTC offset."""
    if session.get_bind().dialect.name == "postgresql":
        pattern = "YYYY-MM-DD HH24:00" if bucket == "hour" else "YYYY-MM-DD"
        local = func.timezone("UTC", column) + func.make_interval(0, 0, 0, 0, 0, 0, offset_seconds)
        return func.to_char(local, pattern)
    pattern = "%Y-%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d"
    return func.strftime(pattern, column, f"{offset_seconds:+d} seconds")


def percentiles(
    session: Session, source: Select[Any, Any], quantiles: tuple[float, ...] = (0.5, 0.9)
) -> dict[Any, tuple[int, list[float | None]]]:
    """Per group: (count, [value at each quantile]) from a select of columns `key` and `d`.

    Linear interpolation between closest ranks, as PostgreSQL's `percentile_cont`.
    """
    sub = source.subquery()
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            select(
                sub.c.key,
                func.count(),
                *[func.percentile_cont(q).within_group(sub.c.d) for q in quantiles],
            ).group_by(sub.c.key)
        )
    else:
        ranked = select(
            sub.c.key,
            sub.c.d,
            func.row_number().over(partition_by=sub.c.key, order_by=sub.c.d).label("rn"),
            func.count().over(partition_by=sub.c.key).label("n"),
        ).subquery()
        columns = []
        for q in quantiles:
            position = literal(q, Float) * (ranked.c.n - 1)
            low = cast(position, Integer)
            fraction = position - low
            columns.append(
                func.sum(
                    case(
                        (ranked.c.rn - 1 == low, ranked.c.d * (1 - fraction)),
                        (ranked.c.rn - 1 == low + 1, ranked.c.d * fraction),
                        else_=0.0,
                    )
                )
            )
        rows = session.execute(select(ranked.c.key, func.max(ranked.c.n), *columns).group_by(ranked.c.key))
    result: dict[Any, tuple[int, list[float | None]]] = {}
    for row in rows:
        values = [None if v is None else round(float(v), 3) for v in row[2:]]
        result[row[0]] = (int(row[1]), values)
    return result


def _storms_around(since: datetime, until: datetime) -> Select[int]:
    """Storms that can hold mentions posted in [since, until) (a mention joins a storm at most
    20 minutes before it began, and never after it ended). Reading the period's mentions through
    these few storm ids uses `ix_mentions_storm`; filtering the whole period on `storm_id` scanned
    it (0.1 s of a 30-day report over 100,000 mentions)."""
    margin = timedelta(hours=1)
    return select(Storm.id).where(
        Storm.started_at < until + margin, or_(Storm.ended_at.is_(None), Storm.ended_at >= since - margin)
    )


def build_report(
    session: Session,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    slas: dict[str, int | None] | None = None,
    utc_offset_seconds: int = 0,
    bucket: str | None = None,
) -> Report:
    """Every figure of a digest or `/twoway report` for mentions posted in [since, until)."""
    report = Report(since=since, until=until, now=now, utc_offset_seconds=utc_offset_seconds)
    report.bucket = bucket or ("hour" if (until - since).total_seconds() <= 2 * 86400 else "day")
    in_period = and_(Mention.created_at >= since, Mention.created_at < until)
    category = func.coalesce(Mention.category, UNTRIAGED)
    answered = Mention.first_response_at.is_not(None)
    on_summary = Mention.card_status == CARD_SUMMARY

    # One pass over the period: counts per (day or hour, category, platform), summed up here.
    slot = _bucket(session, Mention.created_at, report.bucket, utc_offset_seconds)
    volume: dict[tuple[str, str], int] = {}
    for when, cat, platform, count, n_answered, n_dismissed, n_open in session.execute(
        select(
            slot,
            category,
            Mention.platform,
            func.count(),
            func.count(Mention.first_response_at),
            func.sum(case((and_(Mention.state == DISMISSED, ~answered), 1), else_=0)),
            func.sum(case((Mention.state == OPEN, 1), else_=0)),
        )
        .where(in_period)
        .group_by(slot, category, Mention.platform)
    ):
        report.total += count
        report.answered += n_answered
        report.dismissed += int(n_dismissed or 0)
        report.still_open += int(n_open or 0)
        report.by_category[cat] = report.by_category.get(cat, 0) + count
        report.by_platform[platform] = report.by_platform.get(platform, 0) + count
        report.answered_by_category[cat] = report.answered_by_category.get(cat, 0) + n_answered
        volume[(str(when), str(cat))] = volume.get((str(when), str(cat)), 0) + count
    report.volume = [(when, cat, n) for (when, cat), n in sorted(volume.items())]

    duration = _seconds_between(session, Mention.first_response_at, Mention.created_at)
    answered_in_period = and_(in_period, answered)
    per_category = percentiles(
        session, select(category.label("key"), duration.label("d")).where(answered_in_period)
    )
    overall = percentiles(
        session, select(literal("all").label("key"), duration.label("d")).where(answered_in_period)
    )
    for key, (n, (median, p90)) in {**per_category, **overall}.items():
        report.timing[str(key)] = Timing(answered=n, median=median, p90=p90)

    storms, storm_mentions, gathered, gathered_open, gathered_dismissed = session.execute(
        select(
            func.count(func.distinct(Mention.storm_id)),
            func.count(Mention.storm_id),
            func.sum(case((on_summary, 1), else_=0)),
            func.sum(case((and_(on_summary, Mention.state == OPEN), 1), else_=0)),
            func.sum(case((and_(on_summary, Mention.state == DISMISSED), 1), else_=0)),
        ).where(Mention.storm_id.in_(_storms_around(since, until)), in_period)
    ).one()
    report.storms, report.storm_mentions = int(storms or 0), int(storm_mentions or 0)
    report.gathered, report.gathered_open = int(gathered or 0), int(gathered_open or 0)
    report.gathered_dismissed = int(gathered_dismissed or 0)

    # Overdue as the SLA reminders see it (`chased`): posts gathered on a storm's summary card are
    # counted on the storm line, and items without a card or with a reply going out are not chased.
    slas = sla_settings(session) if slas is None else slas
    overdue = and_(chased(), overdue_clause(slas, now))
    for cat, count in session.execute(select(category, func.count()).where(overdue).group_by(category)):
        if count:
            report.overdue_by_category[cat] = count
            report.overdue_now += count

    report.top_responders = [
        (str(user), int(count))
        for user, count in session.execute(
            select(Mention.responded_by, func.count().label("n"))
            .where(answered_in_period, Mention.responded_by.is_not(None))
            .group_by(Mention.responded_by)
            .order_by(func.count().desc(), Mention.responded_by)
            .limit(TOP_RESPONDERS)
        )
    ]

    by_slot = percentiles(
        session, select(slot.label("key"), duration.label("d")).where(answered_in_period), (0.5,)
    )
    report.bucket_median = sorted(
        (str(key), values[0]) for key, (_, values) in by_slot.items() if values[0] is not None
    )
    return report
