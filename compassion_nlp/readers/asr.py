"""Speech-to-text JSON: WhisperX, AWS Transcribe, Deepgram, AssemblyAI, Rev.ai, whisper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import RawTranscript


def read_asr_json(data: Any, path: Path) -> RawTranscript | None:
    """A transcript from a speech-to-text JSON output, or ``None`` if the layout is not one."""
    return None
