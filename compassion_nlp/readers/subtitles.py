"""WebVTT and SRT subtitles."""

from __future__ import annotations

import re

_SRT_HEAD = re.compile(r"^\s*\d+\s*\n\s*\d{1,2}:\d{1,2}:\d{1,2}[,.]\d+\s*-->", re.MULTILINE)


def looks_like_srt(head: str) -> bool:
    """True when the text starts like an SRT file (a cue number, then a time range)."""
    return bool(_SRT_HEAD.match(head))
