"""Bytes to text: size and binary checks, BOM sniffing, UTF-8, then a charset fallback.

Line endings (CRLF, LF, CR, mixed) are normalised to ``\\n`` so that line numbers count the
way an editor shows them; a byte-order mark left at the start of the text is dropped.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import CompassionError, Errors, Warnings, warn

#: Default largest transcript accepted, in MB (a long clinic day of ASR JSON is ~10 MB).
DEFAULT_MAX_MB = 25.0

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF document"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"PK\x03\x04", "zip archive"),
    (b"\x7fELF", "executable"),
    (b"ID3", "MP3 audio"),
    (b"RIFF", "RIFF audio/video"),
    (b"OggS", "Ogg audio"),
    (b"fLaC", "FLAC audio"),
    (b"\x00\x00\x00\x18ftyp", "MP4 video"),
    (b"\x00\x00\x00\x20ftyp", "MP4 video"),
    (b"\xd0\xcf\x11\xe0", "legacy Office document"),
    (b"PAR1", "Parquet table"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
)
#: C0 and C1 control characters that never occur in text (tab, newlines and form feed do)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Decoded:
    """A decoded file: its text with ``\\n`` line endings, and how it was decoded."""

    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def read_bytes(path: Path, *, max_mb: float = DEFAULT_MAX_MB) -> bytes:
    """Read a file's bytes after checking that it exists, is not empty and not too large."""
    if not path.is_file():
        raise CompassionError(Errors.E001, path)
    try:
        size = path.stat().st_size
        if size > max_mb * 1_000_000:
            raise CompassionError(Errors.E007, path, size_mb=size / 1e6, limit_mb=max_mb)
        data = path.read_bytes()
    except OSError as exc:
        raise CompassionError(Errors.E040, path, detail=type(exc).__name__) from None
    if not data:
        raise CompassionError(Errors.E002, path)
    return data


def sniff_binary(data: bytes) -> str | None:
    """Name the kind of binary file ``data`` starts like, or ``None`` if it may be text."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF; a leading byte-order mark is dropped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def decode(data: bytes, path: str | Path) -> Decoded:
    """Decode bytes to text: BOM, UTF-16 without BOM, UTF-8, then charset detection.

    Raises:
        CompassionError: E003 for binary data, E006 when no encoding fits.
    """
    failed: UnicodeDecodeError | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # UTF-32-LE and UTF-16-LE marks share two bytes: try the next one on failure
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                failed = failed or exc
                continue
            return Decoded(normalise_newlines(text), encoding)
    if failed is not None:
        raise CompassionError(
            Errors.E006, path, detail=f"{failed.encoding} byte-order mark, bad byte at "
            f"offset {failed.start}"
        )
    kind = sniff_binary(data)
    if kind is not None:
        raise CompassionError(Errors.E003, path, detail=kind)
    sample = data[:4096]
    if len(sample) >= 4 and b"\x00" in sample:
        # UTF-16 without a BOM: one NUL in every other byte.
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) // 2
        if odd > 0.4 * half and even < 0.05 * half:
            encoding = "utf-16-le"
        elif even > 0.4 * half and odd < 0.05 * half:
            encoding = "utf-16-be"
        else:
            raise CompassionError(Errors.E003, path, detail="contains NUL bytes")
        try:
            return Decoded(normalise_newlines(data.decode(encoding)), encoding)
        except UnicodeDecodeError:
            raise CompassionError(Errors.E003, path, detail="contains NUL bytes") from None
    try:
        return Decoded(normalise_newlines(data.decode("utf-8")), "utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise CompassionError(Errors.E006, path, detail="not UTF-8 and no other encoding fits")
    text = str(best)
    if _control_ratio(text) > 0.05:
        raise CompassionError(Errors.E003, path, detail="mostly control characters")
    message = warn(
        Warnings.W003, path, encoding=best.encoding, confidence=f"{1 - best.chaos:.2f}"
    )
    return Decoded(normalise_newlines(text), best.encoding, (message,))


def _control_ratio(text: str) -> float:
    """The share of characters that are control characters (binary data decoded as text)."""
    if not text:
        return 0.0
    return len(_CONTROL.findall(text)) / len(text)


def read_text(path: Path, *, max_mb: float = DEFAULT_MAX_MB) -> Decoded:
    """Read and decode a text file, raising a coded error for every kind of bad input."""
    decoded = decode(read_bytes(path, max_mb=max_mb), path)
    if _control_ratio(decoded.text) > 0.05:
        raise CompassionError(Errors.E003, path, detail="mostly control characters")
    if not decoded.text.strip():
        raise CompassionError(Errors.E002, path)
    return decoded
