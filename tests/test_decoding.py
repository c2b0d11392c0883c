"""Bytes to text: BOMs, UTF-16 without a BOM, UTF-8, the charset fallback, line endings."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from compassion_nlp.decoding import decode, normalise_newlines, read_bytes, read_text
from compassion_nlp.errors import CompassionError

TEXT = "Doctor: Café, naïve — “quoted”\nPatient: ok\n"


@pytest.mark.parametrize(
    ("bom", "codec", "name"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
    ],
)
def test_bom_decides_the_encoding_and_is_dropped(bom: bytes, codec: str, name: str) -> None:
    decoded = decode(bom + TEXT.encode(codec), "x.txt")
    assert decoded.encoding == name
    assert decoded.text == TEXT
    assert decoded.warnings == ()


def test_a_second_bom_left_in_the_text_is_dropped_too() -> None:
    # Python's "utf-32" codec writes its own BOM: a file written as "\ufeff..." has two
    decoded = decode("\ufeffDoctor: hi\n".encode("utf-32"), "x.txt")
    assert decoded.text == "Doctor: hi\n"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_recognised_by_its_nul_bytes(codec: str) -> None:
    decoded = decode(TEXT.encode(codec), "x.txt")
    assert (decoded.encoding, decoded.text) == (codec, TEXT)


def test_utf8_is_tried_before_any_guess() -> None:
    decoded = decode(TEXT.encode("utf-8"), "x.txt")
    assert (decoded.encoding, decoded.text, decoded.warnings) == ("utf-8", TEXT, ())


def test_legacy_encoding_falls_back_to_charset_detection_with_a_warning() -> None:
    text = "Doctor: “I’d like to examine your café-au-lait spots” — fine?\n" * 20
    decoded = decode(text.encode("cp1252"), "legacy.txt")
    assert decoded.encoding != "utf-8"
    assert decoded.text == text
    [warning] = decoded.warnings
    assert warning.startswith("[W003] legacy.txt: not valid UTF-8")
    assert "examine" not in warning


def test_bom_with_bytes_that_do_not_decode_is_e006() -> None:
    with pytest.raises(CompassionError) as info:
        decode(codecs.BOM_UTF8 + b"Doctor: \xff\xfe\xfa broken", "bad.txt")
    assert info.value.code == "E006"
    assert "bad.txt" in str(info.value)
    assert "broken" not in str(info.value)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "zip archive"),
        (b"\x1f\x8b\x08\x00", "gzip archive"),
        (b"SQLite format 3\x00", "SQLite database"),
    ],
)
def test_binary_magic_numbers_are_e003(data: bytes, kind: str) -> None:
    with pytest.raises(CompassionError) as info:
        decode(data + bytes(range(256)), "file.txt")
    assert info.value.code == "E003"
    assert kind in str(info.value)


def test_random_bytes_with_nuls_are_binary() -> None:
    data = bytes((i * 7919 + 13) % 256 for i in range(5000))
    with pytest.raises(CompassionError) as info:
        decode(data, "noise.bin")
    assert info.value.code == "E003"


def test_control_characters_make_text_binary(tmp_path: Path) -> None:
    path = tmp_path / "ctl.txt"
    path.write_bytes(b"Doctor: hi" + b"\x01\x02\x03\x04\x05\x06\x07\x08" * 20)
    with pytest.raises(CompassionError) as info:
        read_text(path)
    assert info.value.code == "E003"


@pytest.mark.parametrize(
    ("raw", "lines"),
    [
        ("a\r\nb\r\nc", ["a", "b", "c"]),
        ("a\nb\nc", ["a", "b", "c"]),
        ("a\rb\rc", ["a", "b", "c"]),
        ("a\r\nb\nc\rd\r\n\r\ne", ["a", "b", "c", "d", "", "e"]),
    ],
)
def test_line_endings_are_normalised_the_way_an_editor_counts_lines(
    raw: str, lines: list[str]
) -> None:
    assert normalise_newlines(raw).split("\n") == lines


def test_missing_empty_and_too_large_files(tmp_path: Path) -> None:
    with pytest.raises(CompassionError) as info:
        read_bytes(tmp_path / "nope.txt")
    assert info.value.code == "E001"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(CompassionError) as info:
        read_bytes(empty)
    assert info.value.code == "E002"
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:  # sparse: 50 MB on paper, nothing written
        handle.truncate(50_000_000)
    with pytest.raises(CompassionError) as info:
        read_bytes(big)
    assert info.value.code == "E007"
    assert "50.0 MB" in str(info.value) and "25.0 MB" in str(info.value)
    assert len(read_bytes(big, max_mb=60)) == 50_000_000  # the limit can be raised


@pytest.mark.parametrize("data", [b"   \n\t\r\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + b" \x00"])
def test_whitespace_or_bom_only_is_empty(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(data)
    with pytest.raises(CompassionError) as info:
        read_text(path)
    assert info.value.code == "E002"


def test_unreadable_file_is_e040(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("Doctor: hi\n")

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(CompassionError) as info:
        read_bytes(path)
    assert info.value.code == "E040"
    assert "PermissionError" in str(info.value) and "locked.txt" in str(info.value)


# ---------------------------------------------------------------- real files


def test_osce_utf16_file_with_mixed_line_endings(fixtures: Path) -> None:
    path = fixtures / "plaintext_osce_fareez" / "RES0002.txt"
    raw = path.read_bytes()
    assert raw[:2] == codecs.BOM_UTF16_LE
    decoded = read_text(path)
    assert decoded.encoding == "utf-16-le"
    lines = decoded.text.split("\n")
    assert lines[0].startswith("D: Could you tell me")
    # the file mixes CRLF and LF: every break counts once, as in an editor
    upstream = raw[2:].decode("utf-16-le")
    assert 0 < upstream.count("\r\n") < upstream.count("\n")
    assert len(lines) == upstream.count("\n") + 1
    assert "\r" not in decoded.text


def test_osce_file_that_starts_with_a_blank_crlf_line(fixtures: Path) -> None:
    decoded = read_text(fixtures / "plaintext_osce_fareez" / "MSK0012.txt")
    lines = decoded.text.split("\n")
    assert lines[0] == ""
    assert lines[1] == "D: What brings you in here today?"


def test_osce_curly_quotes_stay_utf8(fixtures: Path) -> None:
    for path in sorted((fixtures / "plaintext_osce_fareez").glob("*.txt")):
        decoded = read_text(path)
        assert decoded.encoding in {"utf-8", "utf-16-le"}, path.name
        assert decoded.warnings == ()
