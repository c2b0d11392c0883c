"""ELAN (``.eaf``): annotation tiers aligned to a time line.

Each top-level tier is one speaker's talk: the speaker is the tier's ``PARTICIPANT`` attribute,
or its ``TIER_ID`` when that is empty. Its ``ALIGNABLE_ANNOTATION`` elements give the text and
the times (``TIME_SLOT`` values in milliseconds; a slot without a value takes the nearest
known time before it). When a speaker's tier holds no text of its own, the text of the
referring (``REF_ANNOTATION``) or aligned annotations of its child tier is used. Other
dependent tiers (translations, glosses) are ignored. Fragments are ordered by start time and
keep the line of their annotation in the file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import CompassionError, Errors
from .base import Fragment, RawTranscript, ReaderSpec, check_xml

_ANNOTATION_LINE = re.compile(r'ANNOTATION_ID\s*=\s*"([^"]+)"')


def looks_like_eaf(head: str, text: str) -> bool:
    """True for ELAN XML: an ``ANNOTATION_DOCUMENT`` root."""
    return "<ANNOTATION_DOCUMENT" in text[:3000]


def _times(root: ET.Element) -> dict[str, float | None]:
    times: dict[str, float | None] = {}
    last: float | None = None
    for slot in root.iter("TIME_SLOT"):
        value = slot.get("TIME_VALUE")
        if value not in (None, ""):
            last = int(float(value)) / 1000
        times[slot.get("TIME_SLOT_ID", "")] = last
    return times


def parse_eaf(text: str, path: Path) -> RawTranscript:
    """One ELAN file: a fragment per annotation of each speaker's tier, in time order."""
    check_xml(text, path, "ELAN")
    try:
        root = ET.fromstring(text.lstrip("\ufeff"))
    except ET.ParseError as exc:
        raise CompassionError(Errors.E008, path, format="ELAN",
                              detail=f"not well-formed XML at line {exc.position[0]}") from None
    if root.tag != "ANNOTATION_DOCUMENT":
        raise CompassionError(Errors.E008, path, format="ELAN", detail="no ANNOTATION_DOCUMENT")
    lines: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        for m in _ANNOTATION_LINE.finditer(line):
            lines.setdefault(m.group(1), n)
    times = _times(root)
    tiers = root.findall("TIER")
    children: dict[str, list[ET.Element]] = {}
    for tier in tiers:
        if tier.get("PARENT_REF"):
            children.setdefault(tier.get("PARENT_REF", ""), []).append(tier)
    fragments: list[tuple[float, int, Fragment]] = []
    for tier in tiers:
        if tier.get("PARENT_REF"):
            continue
        speaker = (tier.get("PARTICIPANT") or "").strip() or tier.get("TIER_ID", "")
        own = _annotations(tier, times)
        if not any(value for _, value, _, _ in own):
            own = _from_children(own, children.get(tier.get("TIER_ID", ""), []), times)
        for order, (ann_id, value, start, end) in enumerate(own):
            if value.strip():
                fragments.append((start if start is not None else -1.0, order,
                                  Fragment(speaker, value, lines.get(ann_id), start, end)))
    fragments.sort(key=lambda x: (x[0], x[1]))
    return RawTranscript([f for _, _, f in fragments], metadata={"tiers": len(tiers)})


def _annotations(tier: ET.Element, times: dict[str, float | None]
                 ) -> list[tuple[str, str, float | None, float | None]]:
    """(id, text, start, end) of a tier's aligned annotations."""
    out = []
    for ann in tier.iter("ALIGNABLE_ANNOTATION"):
        value = ann.findtext("ANNOTATION_VALUE") or ""
        out.append((ann.get("ANNOTATION_ID", ""), value,
                    times.get(ann.get("TIME_SLOT_REF1", "")),
                    times.get(ann.get("TIME_SLOT_REF2", ""))))
    return out


def _from_children(own: list[tuple[str, str, float | None, float | None]],
                   tiers: list[ET.Element], times: dict[str, float | None]
                   ) -> list[tuple[str, str, float | None, float | None]]:
    """A speaker tier's annotations with the text of its first child tier that has text."""
    for child in tiers:
        texts: dict[str, list[str]] = {}
        for ref in child.iter("REF_ANNOTATION"):
            texts.setdefault(ref.get("ANNOTATION_REF", ""), []).append(
                ref.findtext("ANNOTATION_VALUE") or "")
        aligned = _annotations(child, times)
        if not texts and aligned:  # a time-subdivided child: words inside each parent span
            for ann_id, _value, start, end in own:
                texts[ann_id] = [v for _, v, s, _ in aligned
                                 if s is not None and start is not None and end is not None
                                 and start <= s < end]
        merged = [(i, " ".join(texts.get(i, [])), s, e) for i, _, s, e in own]
        if any(v.strip() for _, v, _, _ in merged):
            return merged
    return own


def _parse(paths: tuple[Path, ...], texts: list[str]) -> list[RawTranscript]:
    return [parse_eaf(texts[0], paths[0])]


SPEC = ReaderSpec("eaf", (".eaf",), _parse, sniff=looks_like_eaf, sniff_order=1,
                  aliases=("elan",))
