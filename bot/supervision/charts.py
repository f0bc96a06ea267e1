"""The digest's chart: mentions per day (or hour) by category, and the median time to respond.

Drawn with matplotlib's object API on the Agg canvas, never pyplot: pyplot keeps global state
that is unsafe from the scheduler's and the Slack listener's threads.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on a server, whatever the environment says

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from storage.metrics import Report

COLOURS = {
    "question": "#1f77b4",
    "criticism": "#d62728",
    "compliment": "#2ca02c",
    "other": "#7f7f7f",
    "untriaged": "#c7c7c7",
}
MAX_TICKS = 12


def report_chart(report: Report, title: str) -> bytes:
    """A PNG of the report's volume and median response time per bucket."""
    labels = report.buckets()
    index = {label: i for i, label in enumerate(labels)}
    figure = Figure(figsize=(9, 6), dpi=100)
    FigureCanvasAgg(figure)
    volume_axes, time_axes = figure.subplots(2, 1, sharex=True)
    positions = list(range(len(labels)))

    bottom = [0] * len(labels)
    present = {c for _, c, _ in report.volume}
    categories = [c for c in COLOURS if c in present] + sorted(present - set(COLOURS))
    for category in categories:
        counts = [0] * len(labels)
        for bucket, cat, n in report.volume:
            if cat == category and bucket in index:
                counts[index[bucket]] += n
        volume_axes.bar(
            positions, counts, bottom=bottom, label=category, color=COLOURS.get(category, "#9467bd")
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    volume_axes.set_ylabel("mentions")
    figure.suptitle(title)
    if categories:
        volume_axes.legend(
            loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(categories), fontsize="small", frameon=False
        )

    medians = [(index[b], seconds / 60) for b, seconds in report.bucket_median if b in index]
    if medians:
        xs, ys = zip(*medians, strict=True)
        time_axes.plot(xs, ys, marker="o", color="#ff7f0e")
    else:
        time_axes.text(
            0.5, 0.5, "no responses in this period", ha="center", va="center", transform=time_axes.transAxes
        )
    time_axes.set_ylabel("median minutes to respond")
    time_axes.set_ylim(bottom=0)

    step = max(1, -(-len(labels) // MAX_TICKS))
    ticks = positions[::step]
    short = [label[5:] if report.bucket == "day" else label[11:] for label in labels]
    time_axes.set_xticks(ticks, [short[t] for t in ticks], rotation=45, ha="right", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
