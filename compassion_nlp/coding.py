"""Human coders in the loop: utterances out for coding, coded labels back in, agreement.

- :func:`export_for_coding` turns the utterances table of a ``score`` run into coding tasks
  (the utterance, its speaker's role, the previous turn of another speaker as context, the
  model's labels), all of them or the ``uncertain`` ones the model is least sure of: Label
  Studio import JSON (with its labelling config beside it) or a plain CSV with a column per
  label to fill in.
- :func:`import_coded` reads the coded Label Studio export or CSV back into a corpus that
  ``compassion-nlp train`` accepts (splits by encounter); bad rows are reported with their line.
- :func:`agreement` compares two sets of labels (two coders, or coders and the model): Cohen's
  κ, Krippendorff's α and prevalence per label on the utterances both hold.

Items are keyed ``<encounter_id>:<utterance_id>`` everywhere.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import CompassionError, Errors
from .model import LABELS
from .tables import read_table
from .training import check_rows

EXPORT_FORMATS: tuple[str, ...] = ("labelstudio", "csv")
_ON = {"1", "x", "yes", "y", "true"}
_OFF = {"0", "", "no", "n", "false"}


def _utterances(results: Path) -> pd.DataFrame:
    for ext in (".parquet", ".csv", ".jsonl"):
        if (results / f"utterances{ext}").is_file():
            return read_table(results / f"utterances{ext}")
    raise CompassionError(Errors.E035, results,
                          detail="no utterances table (run compassion-nlp score first)")


def coding_items(results: str | Path, *, uncertain: int | None = None) -> pd.DataFrame:
    """The utterances of a score run as coding items, with context and the model's labels;
    with ``uncertain``, only that many, those closest to a label's threshold."""
    results = Path(results)
    frame = _utterances(results)
    run = results / "run.json"
    thresholds = json.loads(run.read_text())["model"]["thresholds"] if run.is_file() else {}
    rows = []
    for encounter_id, enc in frame.groupby("encounter_id", sort=False):
        turns = enc.groupby("turn_id", sort=False).agg(
            speaker=("speaker", "first"), role=("role", "first"),
            text=("text", lambda t: " ".join(map(str, t))))
        # the context the classifier saw: the last turn of the speaker before (scoring.py)
        previous: dict[Any, tuple[str, str]] = {}
        context, last_speaker = ("", ""), None
        for turn_id, turn in turns.iterrows():
            previous[turn_id] = context
            if turn["speaker"] != last_speaker:
                context, last_speaker = (turn["text"], turn["role"]), turn["speaker"]
        for _, u in enc.iterrows():
            probs = {x: float(u[f"p_{x.lower()}"]) for x in LABELS}
            margin = min(abs(p - thresholds.get(x, 0.5)) for x, p in probs.items())
            text, role = previous[u["turn_id"]]
            rows.append({
                "key": f"{encounter_id}:{u['utterance_id']}", "encounter_id": str(encounter_id),
                "utterance_id": u["utterance_id"], "speaker": u["speaker"], "role": u["role"],
                "previous_text": text, "previous_role": role, "text": u["text"],
                "model_labels": [x for x in LABELS if bool(u[x.lower()])], "margin": margin,
            })
    items = pd.DataFrame(rows)
    if uncertain is not None and len(items):
        items = items.nsmallest(uncertain, "margin", keep="first").sort_index()
    return items.reset_index(drop=True)


LABEL_STUDIO_CONFIG = """<View>
  <Header value="Previous turn ($previous_role)"/>
  <Text name="context" value="$previous_text"/>
  <Header value="Utterance ($role)"/>
  <Text name="text" value="$text"/>
  <Choices name="labels" toName="text" choice="multiple">
""" + "".join(f'    <Choice value="{x}"/>\n' for x in LABELS) + """  </Choices>
</View>
"""


def export_for_coding(results: str | Path, out: str | Path, *, to: str = "labelstudio",
                      uncertain: int | None = None) -> int:
    """Write coding tasks to ``out``; returns how many. Label Studio also gets
    ``<out stem>.config.xml`` (the labelling interface for the five labels)."""
    if to not in EXPORT_FORMATS:
        raise CompassionError(Errors.E024, option="--to", rule=" or ".join(EXPORT_FORMATS),
                              value=to)
    items = coding_items(results, uncertain=uncertain)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fields = ["key", "encounter_id", "utterance_id", "speaker", "role", "previous_role",
              "previous_text", "text"]
    if to == "csv":
        frame = items[fields].assign(model_labels=items["model_labels"].str.join(" "))
        for x in LABELS:
            frame[x] = ""
        frame.to_csv(out, index=False)
        return len(frame)
    tasks = [{
        "data": {f: (str(item[f]) if item[f] is not None else "") for f in fields},
        "predictions": [{"model_version": "compassion-nlp", "result": [{
            "from_name": "labels", "to_name": "text", "type": "choices",
            "value": {"choices": item["model_labels"]}}]}],
    } for _, item in items.iterrows()]
    out.write_text(json.dumps(tasks, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    out.with_name(f"{out.stem}.config.xml").write_text(LABEL_STUDIO_CONFIG, encoding="utf-8")
    return len(tasks)


def _coded(path: Path) -> tuple[list[tuple[int, dict[str, Any], list[str]]], list[str]]:
    """(line or task number, data, labels) of every coded item, and the problems found."""
    items: list[tuple[int, dict[str, Any], list[str]]] = []
    problems: list[str] = []
    if path.suffix.lower() == ".json":
        try:
            tasks = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CompassionError(Errors.E035, path,
                                  detail=f"not a Label Studio JSON export ({type(exc).__name__})"
                                  ) from None
        for number, task in enumerate(tasks if isinstance(tasks, list) else [], 1):
            done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
            if not done:
                problems.append(f"task {number}: not coded")
                continue
            choices = [c for r in done[-1].get("result", []) if r.get("from_name") == "labels"
                       for c in r.get("value", {}).get("choices", [])]
            unknown = sorted(set(choices) - set(LABELS))
            if not task.get("data", {}).get("key"):
                problems.append(f"task {number}: no 'key' (not a task of compassion-nlp export)")
                continue
            if unknown:
                problems.append(f"task {number}: unknown label(s) {', '.join(unknown)}")
                continue
            items.append((number, task.get("data", {}), choices))
        return items, problems
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [x for x in ("key", *LABELS) if x not in (reader.fieldnames or [])]
        if missing:
            raise CompassionError(Errors.E035, path,
                                  detail=f"missing column(s) {', '.join(missing)}")
        for number, row in enumerate(reader, 2):
            bad = [x for x in LABELS if (row[x] or "").strip().lower() not in _ON | _OFF]
            if bad:
                problems.append(f"line {number}: {', '.join(bad)} must be 1/x or 0/empty")
                continue
            items.append((number, row, [x for x in LABELS
                                        if (row[x] or "").strip().lower() in _ON]))
    return items, problems


def _split(encounter_id: str) -> str:
    """A fixed split by encounter: 70 % train, 15 % dev, 15 % test."""
    bucket = int(hashlib.sha256(encounter_id.encode()).hexdigest(), 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 85 else "test"


def import_coded(path: str | Path, out: str | Path, *, source: str = "coded"
                 ) -> tuple[int, list[str]]:
    """Write the coded items of ``path`` as corpus rows to ``out`` (JSON Lines); returns the
    number of rows and the problems (bad rows, left out, with their line or task number)."""
    path = Path(path)
    if not path.is_file():
        raise CompassionError(Errors.E001, path)
    items, problems = _coded(path)
    rows = []
    for _, data, labels in items:
        encounter_id = str(data.get("encounter_id") or str(data.get("key", "")).split(":")[0])
        rows.append({
            "id": str(data.get("key")), "encounter_id": encounter_id, "source": source,
            "text": str(data.get("text", "")), "role": str(data.get("role", "unknown")),
            "previous_text": str(data.get("previous_text") or ""),
            "previous_role": str(data.get("previous_role") or ""),
            "labels": labels, "split": _split(encounter_id),
        })
    if rows:
        check_rows(rows, out)
    Path(out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                         encoding="utf-8")
    return len(rows), problems


def load_labels(path: str | Path) -> dict[str, frozenset[str]]:
    """Labels per item key from a coded file, a corpus (JSON Lines) or a score run folder."""
    path = Path(path)
    if path.is_dir():
        frame = _utterances(path)
        return {f"{r.encounter_id}:{r.utterance_id}":
                frozenset(x for x in LABELS if bool(getattr(r, x.lower())))
                for r in frame.itertuples(index=False)}
    if path.suffix.lower() == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        return {str(r["id"]): frozenset(r["labels"]) for r in rows}
    items, _ = _coded(path)
    return {str(data.get("key")): frozenset(labels) for _, data, labels in items}


def agreement(coded: str | Path, reference: str | Path) -> dict[str, Any]:
    """Cohen's κ, Krippendorff's α (nominal) and prevalence per label between two sets of
    labels, on the items both hold."""
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    a, b = load_labels(coded), load_labels(reference)
    keys = sorted(set(a) & set(b))
    if not keys:
        raise CompassionError(Errors.E035, coded, detail=f"no item in common with {reference}")
    out: dict[str, Any] = {"items": len(keys), "labels": {}}
    for x in LABELS:
        first = np.array([x in a[k] for k in keys], dtype=int)
        second = np.array([x in b[k] for k in keys], dtype=int)
        same = bool((first == second).all())
        out["labels"][x] = {
            "kappa": 1.0 if same else float(cohen_kappa_score(first, second)),
            "alpha": 1.0 if same else float(krippendorff.alpha(
                reliability_data=np.vstack([first, second]), level_of_measurement="nominal")),
            "prevalence": [float(first.mean()), float(second.mean())],
        }
    return out
