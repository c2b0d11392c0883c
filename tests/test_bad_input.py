"""Bad input: every kind gives a coded CompassionError naming the file and quoting none of its
text, and a batch goes on, listing every failure."""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest

from compassion_nlp.errors import CompassionError
from compassion_nlp.outputs import read_to_table
from compassion_nlp.pipeline import read, read_paths
from compassion_nlp.readers import FORMATS, discover

SECRET = "Zebrafish quantum marmalade"  # stands for clinical text that must never leak


def _bytes(text: str) -> bytes:
    return text.encode("utf-8")


CASES: list[tuple[str, bytes, str]] = [
    ("empty.txt", b"", "E002"),
    ("blank.txt", b"  \r\n\t\n  ", "E002"),
    ("bom_only.txt", codecs.BOM_UTF8, "E002"),
    ("image.png.txt", b"\x89PNG\r\n\x1a\n" + _bytes(SECRET) + bytes(range(256)), "E003"),
    ("scan.pdf", b"%PDF-1.4\n" + _bytes(SECRET) + b"\n%%EOF", "E003"),
    ("notes.txt", b"PK\x03\x04" + _bytes(SECRET) + bytes(100), "E003"),
    ("noise.txt", bytes((i * 7919 + 13) % 256 for i in range(4000)), "E003"),
    ("controls.txt", b"Doctor: " + _bytes(SECRET) + b"\x01\x02\x03\x04\x05\x06" * 30, "E003"),
    ("prose.txt", _bytes(f"{SECRET} is on the menu.\nNothing else here.\n"), "E005"),
    ("prose.xyz", _bytes(f"{SECRET} is on the menu.\n"), "E004"),
    ("bad_bom.txt", codecs.BOM_UTF8 + _bytes(f"Doctor: {SECRET}") + b"\xff\xfe\xfd", "E006"),
    ("meta.csv", _bytes(f"patient_id,age,complaint\n1,44,{SECRET}\n"), "E004"),
    ("broken.json", _bytes(f'{{"meeting_transcripts": [{{"speaker": "A", "content": "{SECRET}"'),
     "E008"),
    ("odd.json", _bytes(f'{{"notes": "{SECRET}"}}'), "E004"),
    ("cut.TextGrid", _bytes(f'File type = "ooTextFile"\nObject class = "TextGrid"\n0\n1\n'
                            f'<exists>\n1\n"IntervalTier"\n"{SECRET}"\n0\n1\n2\n0\n1\n'), "E008"),
    ("markup_only.txt", _bytes("Doctor: <UNIN/>\nPatient: [inaudible]\n"), None),  # fine
]


@pytest.mark.parametrize(("name", "data", "code"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_input_has_a_coded_error_without_text(
    tmp_path: Path, name: str, data: bytes, code: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    if code is None:
        [enc] = read(path)
        assert [t.text for t in enc.turns] == ["", ""]
        return
    with pytest.raises(CompassionError) as info:
        read(path)
    message = str(info.value)
    assert info.value.code == code
    assert message.startswith(f"[{code}] {path}")
    assert info.value.path == str(path)
    for word in SECRET.split():
        assert word not in message


def test_missing_file_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(CompassionError) as info:
        read(tmp_path / "nope.txt")
    assert info.value.code == "E001"
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(CompassionError) as info:
        read(tmp_path / "empty")
    assert info.value.code == "E012"


def test_missing_textgrid_in_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CompassionError) as info:
        read(tmp_path / "no" / "where_doctor.TextGrid")
    assert info.value.code == "E001"


def test_fifty_megabytes_is_over_the_default_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.write(_bytes(f"Doctor: {SECRET}\n"))
        handle.truncate(50_000_000)  # sparse: quick to make
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E007"  # refused by its size, before reading
    assert "50.0 MB" in str(info.value) and SECRET not in str(info.value)


def test_unknown_format_name_is_e009(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Doctor: hi\n")
    with pytest.raises(CompassionError) as info:
        read(path, format="pdf")
    assert info.value.code == "E009"
    assert all(name in str(info.value) for name in FORMATS)
    with pytest.raises(CompassionError):
        list(read_paths([path], format="pdf"))


def test_forcing_a_wrong_format_is_a_coded_error(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(f"Doctor: {SECRET}\nPatient: ok\n")
    for fmt in ("csv", "json", "textgrid"):
        with pytest.raises(CompassionError) as info:
            read(path, format=fmt)
        assert info.value.code in {"E004", "E008"}
        assert SECRET not in str(info.value)


def _mixed_folder(root: Path) -> dict[str, str | None]:
    """A folder of good and bad files; returns source id -> expected error code."""
    (root / "sub").mkdir(parents=True)
    (root / "a_good.txt").write_text("Doctor: Hello.\nPatient: Hi.\n")
    (root / "sub" / "b_good.csv").write_text("speaker,text\nDoctor,Hello.\nPatient,Hi.\n")
    (root / "c_empty.txt").write_bytes(b"")
    (root / "d_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    (root / "e_prose.md").write_text(f"# {SECRET}\n\nNo speakers.\n")
    (root / "sub" / "f_bad.json").write_text("{")
    (root / "g_image.png").write_bytes(b"\x89PNG")  # not a transcript extension: not read
    (root / ".hidden.txt").write_text("Doctor: hidden\n")  # dotfiles are skipped
    return {
        "a_good.txt": None, "c_empty.txt": "E002", "d_binary.txt": "E003",
        "e_prose.md": "E005", "sub/b_good.csv": None, "sub/f_bad.json": "E008",
    }


def test_batch_goes_on_after_failures(tmp_path: Path) -> None:
    expected = _mixed_folder(tmp_path / "in")
    sources, ignored = discover([tmp_path / "in"])
    assert [p.name for p in ignored] == ["g_image.png"]
    results = list(read_paths([tmp_path / "in"]))
    got = {r.source.encounter_id: (r.error.code if r.error else None) for r in results}
    assert got == expected
    for result in results:
        assert (result.error is None) == bool(result.encounters)


def test_read_to_table_lists_every_failure(tmp_path: Path) -> None:
    expected = _mixed_folder(tmp_path / "in")
    out = tmp_path / "out.parquet"
    summary = read_to_table([tmp_path / "in"], out)
    assert summary.sources == 6
    assert summary.encounters == 2
    failed = {source: message for source, message in summary.failures}
    assert sorted(failed) == sorted(k for k, v in expected.items() if v)
    for source, message in failed.items():
        assert message.startswith(f"[{expected[source]}]")
        assert SECRET not in message
    frame = pd.read_parquet(out)
    assert sorted(frame["encounter_id"].unique()) == ["a_good.txt", "sub/b_good.csv"]
    assert summary.utterances == len(frame) == 4


def test_internal_errors_are_coded_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compassion_nlp.readers import jsonfmt

    def boom(path: Path, text: str) -> list[object]:
        raise KeyError(SECRET)

    monkeypatch.setattr(jsonfmt, "read_json", boom)
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "b.txt").write_text("Doctor: Hello.\nPatient: Hi.\n")
    first, second = read_paths([tmp_path])
    assert first.error is not None and first.error.code == "E041"
    assert "KeyError" in str(first.error) and SECRET not in str(first.error)
    assert second.error is None and second.encounters


# ---------------------------------------------------------------- the shared corpora


def test_one_file_of_each_shared_corpus(shared_data: Path) -> None:
    root = shared_data / "transcripts"
    cases = {
        root / "aci_bench" / "valid.csv": 20,
        root / "mts_dialog" / "MTS-Dialog-ValidationSet.csv": 100,
        root / "qmsum" / "val" / "TS3010a.json": 1,
        root / "primock57" / "textgrid" / "day1_consultation01_doctor.TextGrid": 1,
    }
    for path, n in cases.items():
        encounters = read(path)
        assert len(encounters) == n, path.name
        for enc in encounters:
            assert enc.turns and enc.utterances
            assert "UNKNOWN" not in enc.speakers
    for path in (root / "aci_bench" / "README.md", root / "aci_bench" / "valid_metadata.csv",
                 root / "mts_dialog" / "LICENSE.txt"):
        with pytest.raises(CompassionError) as info:
            read(path)
        assert info.value.code in {"E004", "E005"}


def test_every_shared_transcript_is_found(shared_data: Path) -> None:
    sources, ignored = discover([shared_data / "transcripts"])
    ids = {s.encounter_id for s in sources}
    primock = [s for s in sources if s.encounter_id.startswith("primock57/textgrid/")]
    assert len(primock) == 45 and all(len(s.paths) == 2 for s in primock)  # 90 files
    assert len([i for i in ids if i.startswith("qmsum/")]) == 198  # 197 meetings + README
    assert len([i for i in ids if i.startswith("mibot/transcripts/")]) == 106
    assert len([i for i in ids if i.endswith(".xlsx")]) == 44  # physical-activity counselling
    assert "counsel_chat/20200325_counsel_chat.csv" in ids
    assert {p.name for p in ignored} <= {"LICENSE", "Annotation Scheme.pdf"}


@pytest.mark.slow
def test_all_shared_transcripts_read_or_fail_cleanly(shared_data: Path) -> None:
    failures = {}
    encounters = 0
    for result in read_paths([shared_data / "transcripts"]):
        if result.error is not None:
            failures[result.source.encounter_id] = result.error.code
        encounters += len(result.encounters)
    assert all(code in {"E004", "E005"} for code in failures.values())
    assert all(Path(k).suffix in {".md", ".txt", ".csv"} for k in failures)
    assert not [k for k in failures if k.endswith(".json") or "TextGrid" in k]
    assert encounters > 1500
