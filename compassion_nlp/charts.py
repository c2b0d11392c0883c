"""The geometry of the report charts (drawn as inline SVG by ``templates/charts.html.j2``).

Plain SVG rather than images: sharp at any zoom and in print, a few kilobytes, readable by
screen readers, and its marks can be links (a cue on the timeline jumps to the quoted moment)
without any script. Colours are the Okabe–Ito palette, safe for the common colour-vision
deficiencies; missed opportunities also differ in shape, not only in colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Okabe–Ito colours by meaning
COLOURS: dict[str, str] = {
    "responding": "#0072B2",  # clinician / leader
    "expressing": "#E69F00",  # patient / staff
    "other": "#999999",
    "answered": "#009E73",
    "missed": "#D55E00",
    "band": "#D9D9D9",
    "ink": "#222222",
}


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


@dataclass
class Spread:
    """The cohort's distribution of one number (NaN-free), for the band behind a bar."""

    n: int
    low: float = math.nan
    q1: float = math.nan
    median: float = math.nan
    q3: float = math.nan
    high: float = math.nan

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """Quartiles and range of the finite values."""
        v = _finite(values)
        if not v:
            return cls(0)
        q = np.quantile(v, [0, 0.25, 0.5, 0.75, 1])
        return cls(len(v), *(round(float(x), 4) for x in q))


@dataclass
class BarRow:
    """One bar (0–1 scale) with the cohort band behind it, in SVG units."""

    label: str
    value: float
    spread: Spread
    y: float
    width: float = 0.0
    band: tuple[float, float] = (0.0, 0.0)
    whisker: tuple[float, float] = (0.0, 0.0)
    median: float = 0.0
    text: str = ""


@dataclass
class BarChart:
    """Horizontal bars against a 0–100 % axis."""

    rows: list[BarRow]
    left: float
    plot: float
    height: float
    width: float = 640
    row_height: float = 34
    ticks: list[tuple[float, str]] = field(default_factory=list)


def bar_chart(rows: Sequence[tuple[str, float, Spread]], *, width: float = 900,
              left: float = 300, top: float = 1.0, percent: bool = True) -> BarChart:
    """Bars of values in [0, ``top``] (NaN: no bar; longer ones stop at the edge) with each
    value's cohort spread behind it; values and ticks shown as percentages of 1 when
    ``percent``, else as numbers."""
    plot = width - left - 56
    chart = BarChart([], left=left, plot=plot, height=0, width=width)

    def x(v: float) -> float:
        return round(min(max(v, 0.0), top) / top * plot, 1)

    def shown(v: float) -> str:
        return f"{v * 100:.0f} %" if percent else f"{v:.2f}"

    for i, (label, value, spread) in enumerate(rows):
        row = BarRow(label, value, spread, y=10 + i * chart.row_height)
        if not math.isnan(value):
            row.width, row.text = x(value), shown(value)
        if spread.n:
            row.band = (x(spread.q1), round(x(spread.q3) - x(spread.q1), 1))
            row.whisker = (x(spread.low), x(spread.high))
            row.median = x(spread.median)
        chart.rows.append(row)
    chart.height = 10 + len(rows) * chart.row_height + 22
    chart.ticks = [(x(t * top), shown(t * top) if percent else f"{t * top:g}")
                   for t in (0, 0.25, 0.5, 0.75, 1)]
    return chart


@dataclass
class Histogram:
    """Counts of values in equal bins, in SVG units."""

    bars: list[dict[str, Any]]
    width: float
    height: float
    plot_height: float
    left: float
    ticks: list[tuple[float, str]]
    marker: float | None = None


def histogram(values: Sequence[float], *, lo: float = 0, hi: float = 100, bins: int = 20,
              mark: float | None = None, width: float = 900, height: float = 200,
              unit: str = "") -> Histogram:
    """A histogram of ``values`` on [lo, hi]; ``mark`` draws a line at one value."""
    v = _finite(values)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    left, plot_h = 36, height - 40
    plot_w = width - left - 10
    top = max(int(counts.max()) if len(v) else 0, 1)
    step = plot_w / bins
    bars = [{"x": round(left + i * step, 1), "w": round(step - 1, 1),
             "h": round(c / top * plot_h, 1), "y": round(10 + plot_h - c / top * plot_h, 1),
             "count": int(c), "lo": float(edges[i]), "hi": float(edges[i + 1])}
            for i, c in enumerate(counts)]
    ticks = [(round(left + (t - lo) / (hi - lo) * plot_w, 1), f"{t:g}{unit}")
             for t in np.linspace(lo, hi, 5)]
    marker = (None if mark is None or math.isnan(mark)
              else round(left + (min(max(mark, lo), hi) - lo) / (hi - lo) * plot_w, 1))
    return Histogram(bars, width, height, plot_h, left, ticks, marker)


@dataclass
class Timeline:
    """Who spoke when, one track per speaker, with cues and the responses joined to them."""

    width: float
    height: float
    left: float
    plot: float
    tracks: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    cues: list[dict[str, Any]]
    axis: str
    ticks: list[tuple[float, str]]


def timeline(utterances: Sequence[dict[str, Any]], speakers: Sequence[dict[str, Any]],
             cues: Sequence[dict[str, Any]], *, width: float = 900) -> Timeline:
    """The timeline of one encounter.

    Args:
        utterances: in order, each with ``utterance_id``, ``speaker`` (display name),
            ``group`` (responding, expressing or other), ``start`` and ``end`` (seconds or NaN).
        speakers: the tracks, top to bottom: ``name`` and ``group``.
        cues: each with ``utterance_id``, ``response_utterance_id`` (or ``None``),
            ``missed`` and ``anchor`` (the id of the quoted moment on the page).
    """
    left, track_h = 150, 26
    plot = width - left - 16
    timed = bool(utterances) and all(_finite([u["start"]]) for u in utterances)
    if timed:  # an utterance with no end lasts until the next one starts
        nexts = [u["start"] for u in utterances[1:]] + [utterances[-1]["start"] + 2.0]
        utterances = [{**u, "end": u["end"] if _finite([u["end"]]) else max(n, u["start"])}
                      for u, n in zip(utterances, nexts, strict=True)]
        t0 = min(u["start"] for u in utterances)
        t1 = max(u["end"] for u in utterances)
        span = max(t1 - t0, 1e-6)
        place = {u["utterance_id"]: ((u["start"] - t0) / span, max((u["end"] - u["start"])
                                                                    / span, 0.002))
                 for u in utterances}
        minutes = span / 60
        step = next(s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120) if minutes / s <= 8)
        ticks = [(round(m * 60 / span * plot, 1), f"{int(m)}:{int(m * 60 % 60):02d}")
                 for m in np.arange(0, minutes + 1e-9, step)]
        axis = "minutes from the start"
    else:
        n = max(len(utterances), 1)
        place = {u["utterance_id"]: (i / n, 1 / n) for i, u in enumerate(utterances)}
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10**9)
                    if n / s <= 8)
        ticks = [(round(i / n * plot, 1), str(i + 1)) for i in range(0, n, step)]
        axis = "utterance number (the transcript has no times)"
    row = {s["name"]: i for i, s in enumerate(speakers)}
    tracks = [{"name": s["name"], "group": s["group"], "y": 8 + i * track_h,
               "colour": COLOURS.get(s["group"], COLOURS["other"])}
              for i, s in enumerate(speakers)]
    spans = []
    for u in utterances:
        x, w = place[u["utterance_id"]]
        i = row[u["speaker"]]
        spans.append({"x": round(x * plot, 2), "w": round(max(w * plot, 1.0), 2),
                      "y": tracks[i]["y"] + 4, "colour": tracks[i]["colour"]})
    where = {u["utterance_id"]: u for u in utterances}
    marks = []
    for cue in cues:
        u = where.get(cue["utterance_id"])
        if u is None:
            continue
        x, w = place[u["utterance_id"]]
        mark = {"x": round((x + w / 2) * plot, 2),
                "y": tracks[row[u["speaker"]]]["y"] + 9, "missed": cue["missed"],
                "anchor": cue["anchor"], "title": cue.get("title", ""), "to": None}
        r = where.get(cue.get("response_utterance_id") or "")
        if r is not None:
            rx, rw = place[r["utterance_id"]]
            mark["to"] = (round((rx + rw / 2) * plot, 2), tracks[row[r["speaker"]]]["y"] + 9)
        marks.append(mark)
    height = 8 + len(tracks) * track_h + 34
    return Timeline(width, height, left, plot, tracks, spans, marks, axis, ticks)


@dataclass
class Series:
    """Scores over a person's encounters (dots joined in order), on a 0–100 axis."""

    width: float
    height: float
    left: float
    points: list[dict[str, Any]]
    band: tuple[float, float] | None
    median: float | None


def series(points: Sequence[tuple[str, str, float]], cohort: Spread, *,
           width: float = 900, height: float = 220) -> Series:
    """(label, link, score) in time order, with the cohort's middle half as a band."""
    left, plot_h = 36, height - 50
    plot_w = width - left - 20
    n = len(points)
    out = []
    for i, (label, link, value) in enumerate(points):
        x = left + (plot_w * (i + 0.5) / n if n else 0)
        y = None if math.isnan(value) else 10 + plot_h * (1 - value / 100)
        out.append({"x": round(x, 1), "y": None if y is None else round(y, 1), "label": label,
                    "link": link, "value": value})

    def ypos(v: float) -> float:
        return round(10 + plot_h * (1 - v / 100), 1)

    band = (ypos(cohort.q3), ypos(cohort.q1)) if cohort.n else None
    return Series(width, height, left, out, band, ypos(cohort.median) if cohort.n else None)
