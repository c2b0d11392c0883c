"""Write the known-groups transcripts from their source, ``known_groups/pairs.src``.

Each block of the source is one matched pair: the turns both versions share are written once,
and a responding turn written ``skilled || weaker`` differs between the two. So the patient's,
relative's or staff member's turns are the same, word for word, in both files of a pair by
construction (``tests/test_validity_known_groups.py`` checks it again on the files as read).

Writes, in ``evaluation/validity/known_groups/``: ``<nn>_<setting>_skilled.txt``,
``<nn>_<setting>_weaker.txt`` (one ``Label: text`` line per turn) and ``pairs.csv``. Checks that
every pair has 12-30 turns, that only responding turns differ, and that the two versions differ.

Usage::

    python evaluation/validity/build_known_groups.py
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent / "known_groups"
SOURCE = HERE / "pairs.src"
KINDS = ("consultation", "meeting")
GAPS = ("large", "subtle")
#: labels whose turns may differ between the two versions (the responding roles)
RESPONDING_LABELS = frozenset({
    "Doctor", "Nurse", "Therapist", "Counsellor", "Pharmacist", "Surgeon", "Midwife",
    "Physio", "Chair", "Manager", "Matron",
})
MIN_TURNS, MAX_TURNS = 12, 30
_HEADER = re.compile(r"^==\s*(\d+)\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|\s*(.+)$")
_TURN = re.compile(r"^([A-Z][A-Za-z ()]*):\s+(.+)$")


@dataclass
class Pair:
    """One matched pair as written in the source."""

    nn: str
    setting: str
    kind: str
    gap: str
    differs: str
    turns: list[tuple[str, str, str]] = field(default_factory=list)  # label, skilled, weaker

    @property
    def stem(self) -> str:
        return f"{self.nn}_{self.setting}"

    def text(self, version: str) -> str:
        i = 1 if version == "skilled" else 2
        return "".join(f"{t[0]}: {t[i]}\n" for t in self.turns)


def parse(source: Path = SOURCE) -> list[Pair]:
    """The pairs of the source file; ``ValueError`` naming the line for anything malformed."""
    pairs: list[Pair] = []
    for n, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head = _HEADER.match(line)
        if head:
            nn, setting, kind, gap, differs = head.groups()
            if kind not in KINDS or gap not in GAPS:
                raise ValueError(f"line {n}: kind must be one of {KINDS}, gap one of {GAPS}")
            pairs.append(Pair(f"{int(nn):02d}", setting, kind, gap, differs.strip()))
            continue
        turn = _TURN.match(line)
        if turn is None or not pairs:
            raise ValueError(f"line {n}: expected 'Label: text' inside a pair")
        label, text = turn.groups()
        skilled, sep, weaker = text.partition(" || ")
        if sep and label not in RESPONDING_LABELS:
            raise ValueError(f"line {n}: only a responding turn may differ, not {label!r}")
        pairs[-1].turns.append((label, skilled.strip(), (weaker if sep else skilled).strip()))
    for p in pairs:
        if not MIN_TURNS <= len(p.turns) <= MAX_TURNS:
            raise ValueError(f"pair {p.nn}: {len(p.turns)} turns, not {MIN_TURNS}-{MAX_TURNS}")
        if p.text("skilled") == p.text("weaker"):
            raise ValueError(f"pair {p.nn}: the two versions are the same")
    ids = [p.nn for p in pairs]
    if len(set(ids)) != len(ids):
        raise ValueError("pair ids repeat")
    return pairs


def write(pairs: list[Pair], folder: Path = HERE) -> None:
    """The transcripts and ``pairs.csv``."""
    rows = []
    for p in pairs:
        for version in ("skilled", "weaker"):
            (folder / f"{p.stem}_{version}.txt").write_text(p.text(version), encoding="utf-8")
        differing = sum(1 for t in p.turns if t[1] != t[2])
        rows.append({"pair_id": p.nn, "setting": p.setting, "kind": p.kind, "gap": p.gap,
                     "skilled_file": f"{p.stem}_skilled.txt",
                     "weaker_file": f"{p.stem}_weaker.txt",
                     "turns": len(p.turns), "differing_turns": differing,
                     "differs": p.differs})
    with open(folder / "pairs.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main() -> int:
    pairs = parse()
    write(pairs)
    by = {(k, g): sum(1 for p in pairs if p.kind == k and p.gap == g)
          for k in KINDS for g in GAPS}
    print(f"{len(pairs)} pairs, {len({p.setting for p in pairs})} settings; "
          + ", ".join(f"{k}/{g}: {n}" for (k, g), n in by.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
