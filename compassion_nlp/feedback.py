"""Feedback reports: one Markdown page per encounter that a trainer can go through with a
clinician or leader — the score and what it is made of, the best moments, and each missed
opportunity with what followed and what could have been said.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from .highlights import Highlight, Moment
from .measures import component_words
from .scoring import ScoredEncounter
from .tables import write_text


def _pct(x: float) -> str:
    return "not applicable" if math.isnan(x) else f"{100 * x:.0f} %"


def _where(m: Moment) -> str:
    parts = [f"`{m.utterance_id}`"]
    if m.start is not None:
        minutes, seconds = divmod(int(m.start), 60)
        parts.append(f"at {minutes}:{seconds:02d}")
    if m.source_line:
        parts.append(f"line {m.source_line}")
    return ", ".join(parts)


def _quote(m: Moment) -> str:
    return f"> **{m.speaker}** ({m.role}): {m.text}"


def render(scored: ScoredEncounter) -> str:
    """The Markdown feedback report of one scored encounter."""
    row = scored.encounter_row()
    score = scored.compassion
    lines = [f"# Feedback: {scored.id}", ""]
    total = "not applicable" if math.isnan(score.value) else f"**{score.value:.0f} / 100**"
    if score.unscorable:
        total += f" (not scored: {score.unscorable})"
    lines += [f"Compassion score: {total}", "", "| component | |", "|---|---|"]
    words = component_words(score.config)
    for name, value in score.components.items():
        lines.append(f"| {words[name]} | {_pct(value)} |")
    lines += [
        "",
        f"{row['cue_episodes']} emotional moment(s) raised, {row['cues_responded']} answered, "
        f"{row['missed_opportunities']} missed. The responding role asked "
        f"{row['questions_responding']} question(s).",
        "",
        "## What went well",
        "",
    ]
    exemplary: list[Highlight] = scored.exemplary
    if not exemplary:
        lines.append("No empathic, confirming, pursuing or inclusive statement was found.")
    for h in exemplary:
        lines += [f"**{' + '.join(h.labels).title()}** ({_where(h.moment)})", "",
                  _quote(h.moment)]
        if h.cue is not None:
            lines += ["", f"answering ({_where(h.cue)}):", "", _quote(h.cue)]
        lines.append("")
    lines += ["## Missed opportunities", ""]
    missed = scored.missed_opportunities
    if not missed:
        lines.append("None: every emotional moment found got a response.")
    for h in missed:
        lines += [f"**{h.rank}. {h.cue_kind.replace('_', ' ') if h.cue_kind else 'cue'}** "
                  f"({_where(h.moment)})", "", _quote(h.moment), ""]
        if h.followed_by is not None:
            lines += [f"What followed ({_where(h.followed_by)}):", "", _quote(h.followed_by), ""]
        lines += [f"Could have said: *\"{h.suggestion}\"*", ""]
    lines += [
        "",
        "---",
        "Produced by compassion-nlp from an automatic analysis of the transcript. It is a prompt "
        "for reflection, not a clinical judgement: read each moment in the transcript.",
        "",
    ]
    return "\n".join(lines)


def report_filename(encounter_id: str) -> str:
    """A safe file name for an encounter's report (``a/b.vtt#3`` → ``a__b.vtt_3.md``)."""
    return re.sub(r"[^\w.-]+", "_", encounter_id.replace("/", "__")) + ".md"


def write_report(scored: ScoredEncounter, folder: Path) -> Path:
    """Write the report into ``folder`` and return its path."""
    return write_text(folder / report_filename(scored.id), render(scored))
