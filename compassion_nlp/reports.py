"""Feedback reports: self-contained HTML pages a trainer can sit down with, built from the
tables a scoring run wrote (no re-scoring).

- ``encounters/<id>.html``: the score and its components against the cohort, a timeline of
  the conversation (cues, the responses joined to them, missed opportunities), what went well
  and the missed opportunities with quotes, ids, times and source lines, suggested phrasings
  and a plain-language summary;
- ``people/<name>.html``: one clinician's or leader's encounters over time, their label rates
  against the cohort, best moments and recurring missed opportunities by kind of cue;
- ``index.html``: the cohort at a glance, with ``cohort.csv`` (the same numbers by setting,
  source folder and person) and ``encounters.csv`` (one row per encounter).

Pages are Jinja2 templates (``templates/``) with inline CSS and inline SVG charts
(:mod:`.charts`): no script, font or image from anywhere, so they open from a USB stick or an
e-mail and print cleanly. ``redact=True`` hides identifiers in quoted text (:mod:`.redact`).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .charts import COLOURS, Spread, bar_chart, histogram, series, timeline
from .config import COMPONENT_WEIGHTS, ScoringConfig
from .errors import CompassionError, Errors, unreadable_as
from .measures import component_words
from .model import EXPRESSING_ROLES, LABELS, RESPONDING_LABELS, RESPONDING_ROLES
from .redact import GENERIC, Redactor
from .tables import (
    TABLE_EXTENSIONS,
    TABLES,
    iter_table,
    read_table,
    table_columns,
    write_table,
    write_text,
)
from .version import __version__

#: a label or cue whose calibrated probability is this close to its threshold is marked
#: "low confidence" on the pages
LOW_CONFIDENCE = 0.1
COMPONENT_NAMES: dict[str, str] = {
    "responsiveness": "Responsiveness", "compassionate_talk": "Compassionate talk",
    "depth": "Depth", "inclusiveness": "Inclusiveness",
}
#: the kinds of cue (``resources/phrase_bank.json``) in a sentence
CUE_KIND_PHRASES: dict[str, str] = {
    "loss": "a loss", "worry": "a worry", "low mood": "low mood",
    "frustration": "frustration", "life stress": "stress in their life",
    "physical burden": "the burden of their symptoms", "team concern": "a concern about the team",
}
LABEL_WORDS: dict[str, str] = {
    "EMPATHIC": "empathic (names the feeling)",
    "CONFIRMING": "confirming (the concern is legitimate)",
    "PURSUING": "pursuing (a question or offer about the concern)",
    "INCLUSIVE": "inclusive (invites or appreciates a contribution)",
    "CUE": "emotional cue",
}
WHAT_IT_IS = (
    "This page comes from an automatic analysis of the transcript by compassion-nlp. It counts "
    "and locates statements that name a feeling (empathic), say a concern is legitimate "
    "(confirming), follow it up (pursuing) or invite and appreciate contributions "
    "(inclusive), and the emotional moments (cues) of patients or staff with the response "
    "each got. It is a prompt for reflection and a conversation, not a clinical judgement and "
    "not an assessment of competence: the model makes mistakes (below), and a transcript "
    "misses tone, silence and what happened outside it. Read each moment in the transcript."
)


def page_name(key: str) -> str:
    """A safe file name for a page (``a/b.vtt#3`` → ``a__b.vtt_3.html``)."""
    return re.sub(r"[^\w.-]+", "_", key.replace("/", "__")) + ".html"


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA or x is pd.NaT


def _num(x: Any) -> float:
    return math.nan if _nan(x) else float(x)


def _clock(seconds: Any) -> str:
    if _nan(seconds):
        return ""
    minutes, s = divmod(int(float(seconds)), 60)
    return f"{minutes}:{s:02d}"


@dataclass
class Results:
    """The tables and run summary of one ``compassion-nlp score`` output folder."""

    folder: Path
    tables: dict[str, pd.DataFrame]
    run: dict[str, Any]
    #: the utterances table's file, when ``tables`` leaves it out (read a chunk at a time)
    utterances_file: Path | None = None

    @property
    def encounters(self) -> pd.DataFrame:
        return self.tables["encounters"]

    @cached_property
    def config(self) -> ScoringConfig:
        known = ScoringConfig.__dataclass_fields__
        return ScoringConfig(**{k: v for k, v in self.run.get("config", {}).items()
                                if k in known})

    @property
    def thresholds(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.run.get("model", {}).get("thresholds", {}).items()}

    @property
    def card(self) -> dict[str, Any]:
        return dict(self.run.get("model", {}).get("card") or {})


def load_results(folder: str | Path, *, utterances: bool = True) -> Results:
    """Read the tables and ``run.json`` that ``compassion-nlp score`` wrote into ``folder``
    (without ``utterances``, the largest table stays on disk: ``Results.utterances_file``).

    Raises:
        CompassionError: E050 when the folder holds no complete set of tables.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CompassionError(Errors.E001, folder)
    for ext in TABLE_EXTENSIONS:
        paths = {name: folder / f"{name}{ext}" for name in TABLES}
        if all(p.is_file() for p in paths.values()):
            break
    else:
        raise CompassionError(Errors.E050, folder, detail="no complete set of the five tables "
                              f"({', '.join(TABLES)}) with one extension")
    run_path = folder / "run.json"
    try:
        run = json.loads(run_path.read_text()) if run_path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise CompassionError(Errors.E050, run_path, detail=f"unreadable ({exc})") from None
    tables = {}
    for name, path in paths.items():
        if name == "utterances" and not utterances:
            continue
        with _unreadable_is_e050(path):
            tables[name] = read_table(path)
        tables[name]["encounter_id"] = tables[name]["encounter_id"].astype(str)
    return Results(folder, tables, run,
                   utterances_file=None if utterances else paths["utterances"])


def _unreadable_is_e050(path: Path) -> AbstractContextManager[None]:
    # any reader error names the file
    return unreadable_as(Errors.E050, path, detail="unreadable ({name})")


def _by_encounter(results: Results, pages: _Pages) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each encounter's utterance rows, in the order of the encounters table: read a chunk at
    a time when the table holds each encounter's rows together and in that order (as a run
    writes them), else from the whole table."""
    order = list(results.encounters["encounter_id"])
    path = results.utterances_file
    if path is not None and not _grouped_in_order(path, order):
        with _unreadable_is_e050(path):
            table = read_table(path)
        table["encounter_id"] = table["encounter_id"].astype(str)
        results.tables["utterances"], results.utterances_file, path = table, None, None
    if path is None:
        for encounter_id in order:
            yield encounter_id, pages.rows_of("utterances", encounter_id)
        return
    groups = _groups(path)
    found = next(groups, None)
    for encounter_id in order:
        if found is not None and found[0] == encounter_id:
            yield found
            found = next(groups, None)
        else:
            yield encounter_id, pd.DataFrame(columns=table_columns(path))


def _grouped_in_order(path: Path, order: list[str]) -> bool:
    """Whether the table at ``path`` holds each encounter's rows together, encounters in
    ``order`` (encounters without rows left out)."""
    runs: list[str] = []
    with _unreadable_is_e050(path):
        for chunk in iter_table(path, columns=["encounter_id"]):
            ids = chunk["encounter_id"].astype(str)
            runs += [e for e in ids[ids.ne(ids.shift())] if not runs or e != runs[-1]]
    present = set(runs)
    return len(present) == len(runs) and [e for e in order if e in present] == runs


def _groups(path: Path) -> Iterator[tuple[str, pd.DataFrame]]:
    """The rows of a table whose encounters' rows are together, one encounter at a time."""
    current, parts = None, []
    with _unreadable_is_e050(path):
        for chunk in iter_table(path):
            chunk["encounter_id"] = chunk["encounter_id"].astype(str)
            ids = chunk["encounter_id"]
            starts = np.flatnonzero(ids.ne(ids.shift()).to_numpy())
            for a, b in zip(starts, [*starts[1:], len(chunk)], strict=True):
                if ids.iat[a] != current:
                    if parts:
                        yield current, pd.concat(parts)  # type: ignore[misc]
                    current, parts = ids.iat[a], []
                parts.append(chunk.iloc[a:b])
    if parts:
        yield current, pd.concat(parts)  # type: ignore[misc]


# ---------------------------------------------------------------- the numbers on the pages


def source_folder(encounter_id: str) -> str:
    """The top folder of an encounter's source (``primock57/day1`` → ``primock57``)."""
    return encounter_id.split("/", 1)[0] if "/" in encounter_id else "."


def _group(role: str) -> str:
    if role in RESPONDING_ROLES:
        return "responding"
    return "expressing" if role in EXPRESSING_ROLES else "other"


@dataclass
class Person:
    """A clinician or leader across encounters: speaker name (and source folder when the
    name is only a role such as ``Doctor``, which may cover several people)."""

    key: str
    name: str
    role: str
    generic: bool
    encounter_ids: list[str] = field(default_factory=list)

    @property
    def page(self) -> str:
        return "people/" + page_name(self.key)


def people(results: Results) -> dict[str, Person]:
    """The clinicians and leaders of the run, by key."""
    found: dict[str, Person] = {}
    sp = results.tables["speakers"]
    for row in sp[sp["role"].isin(sorted(RESPONDING_ROLES))].itertuples():
        name = str(row.speaker)
        generic = bool(GENERIC.fullmatch(name.strip()))
        folder = source_folder(row.encounter_id)
        key = f"{name} ({'top folder' if folder == '.' else folder})" if generic else name
        person = found.setdefault(key, Person(key, name, str(row.role), generic))
        if row.encounter_id not in person.encounter_ids:
            person.encounter_ids.append(row.encounter_id)
    return found


def encounter_dates(results: Results) -> dict[str, str]:
    """Each encounter's date (ISO) where the tables have one (``date`` column), else ``""``."""
    enc = results.encounters
    if "date" not in enc.columns:
        return dict.fromkeys(enc["encounter_id"], "")
    return {str(i): ("" if _nan(d) else str(d)) for i, d in zip(enc["encounter_id"], enc["date"],
                                                               strict=True)}


def cohort_rows(results: Results) -> pd.DataFrame:
    """One row per encounter with the numbers the pages show (``encounters.csv``)."""
    enc = results.encounters
    who = {e: [] for e in enc["encounter_id"]}
    for person in people(results).values():
        for e in person.encounter_ids:
            who.setdefault(e, []).append(person.key)
    dates = encounter_dates(results)
    columns = ["compassion_score", *[f"component_{c}" for c in COMPONENT_WEIGHTS],
               *[f"{label.lower()}_per_10" for label in LABELS],
               "cue_episodes", "cues_responded", "missed_opportunities", "response_rate"]
    frame = pd.DataFrame({
        "encounter_id": enc["encounter_id"],
        "date": [dates[e] for e in enc["encounter_id"]],
        "setting": enc["setting"],
        "source_folder": [source_folder(e) for e in enc["encounter_id"]],
        "people": ["; ".join(who[e]) for e in enc["encounter_id"]],
        **{c: enc[c] for c in columns if c in enc.columns},
        "unscorable": enc["unscorable"].fillna("") if "unscorable" in enc else "",
        "page": ["encounters/" + page_name(e) for e in enc["encounter_id"]],
    })
    return frame


def group_rates(rows: pd.DataFrame) -> pd.DataFrame:
    """Means by setting, source folder and person (``cohort.csv``): encounters, scores,
    components, label rates per 10 utterances and cue response rate (NaN ignored)."""
    numbers = [c for c in rows.columns if c == "compassion_score" or c.startswith("component_")
               or c.endswith("_per_10") or c == "response_rate"]
    out = []
    exploded = rows.assign(person=rows["people"].str.split("; ")).explode("person")
    for by, frame, column in (("all", rows.assign(all="all"), "all"),
                              ("setting", rows, "setting"),
                              ("source_folder", rows, "source_folder"),
                              ("person", exploded[exploded["person"] != ""], "person")):
        for value, g in frame.groupby(column, sort=True):
            row: dict[str, Any] = {"group_by": by, "group": value, "encounters": len(g)}
            for c in numbers:
                row[f"mean_{c}"] = round(float(g[c].mean()), 4) if g[c].notna().any() else math.nan
            row["median_compassion_score"] = (round(float(g["compassion_score"].median()), 4)
                                              if g["compassion_score"].notna().any() else math.nan)
            row["missed_opportunities"] = int(g["missed_opportunities"].sum())
            out.append(row)
    return pd.DataFrame(out)


# ---------------------------------------------------------------- page contexts


@dataclass
class _Pages:
    """What every page needs: the results, the people, the redactor."""

    results: Results
    redact: bool
    # found once per run, not once per page (both would otherwise grow with the run's size)
    _spreads: dict[tuple[str, str | None], Spread] = field(default_factory=dict, init=False,
                                                            repr=False)
    _role_rates: dict[str, dict[str, Spread]] = field(default_factory=dict, init=False,
                                                      repr=False)
    _positions: dict[str, dict[Any, np.ndarray]] = field(default_factory=dict, init=False,
                                                         repr=False)

    @cached_property
    def people(self) -> dict[str, Person]:
        return people(self.results)

    @cached_property
    def person_of(self) -> dict[tuple[str, str], Person]:
        return {(e, p.name): p for p in self.people.values() for e in p.encounter_ids}

    @cached_property
    def rows(self) -> pd.DataFrame:
        return cohort_rows(self.results)

    @cached_property
    def redactor(self) -> Redactor | None:
        if not self.redact:
            return None
        sp = self.results.tables["speakers"]
        keep = sp.loc[sp["role"].isin(sorted(RESPONDING_ROLES)), "speaker"].astype(str)
        names = sp.loc[~sp["role"].isin(sorted(RESPONDING_ROLES)), "speaker"].astype(str)
        return Redactor(names=names, keep=keep)

    @cached_property
    def display_names(self) -> dict[tuple[str, str], str]:
        """(encounter, speaker) → the name shown: patients' and staff's names become their
        role (and a letter) when redacting."""
        out: dict[tuple[str, str], str] = {}
        for enc_id, g in self.results.tables["speakers"].groupby("encounter_id", sort=False):
            counts: Counter[str] = Counter()
            roles = Counter(g["role"])
            for row in g.itertuples():
                name = str(row.speaker)
                if self.redact and row.role not in RESPONDING_ROLES:
                    counts[row.role] += 1
                    name = str(row.role).title() + (
                        f" {chr(64 + counts[row.role])}" if roles[row.role] > 1 else "")
                out[(str(enc_id), str(row.speaker))] = name
        return out

    def text(self, value: Any) -> str:
        if _nan(value):
            return ""
        return self.redactor(str(value)) if self.redactor else str(value)

    def name(self, encounter_id: str, speaker: Any) -> str:
        return self.display_names.get((encounter_id, str(speaker)), str(speaker))

    @cached_property
    def rows_by_id(self) -> pd.DataFrame:
        return self.rows.set_index("encounter_id")

    @cached_property
    def encounters_by_id(self) -> pd.DataFrame:
        return self.results.encounters.set_index("encounter_id")

    def rows_of(self, name: str, encounter_ids: str | list[str]) -> pd.DataFrame:
        """The rows of table ``name`` of one or more encounters, in the table's order."""
        if name not in self._positions:  # found once, not once per page
            self._positions[name] = self.results.tables[name].groupby(
                "encounter_id", sort=False).indices
        positions = self._positions[name]
        ids = [encounter_ids] if isinstance(encounter_ids, str) else encounter_ids
        found = [positions[e] for e in ids if e in positions]
        where = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        return self.results.tables[name].iloc[where]

    def role_rates(self, role: str) -> dict[str, Spread]:
        """Per responding label, the spread over encounters of the rate per 10 utterances of
        the speakers in ``role`` (what a person page compares its person with)."""
        if role not in self._role_rates:
            sp = self.results.tables["speakers"]
            groups = sp[sp["role"] == role].groupby("encounter_id")
            said = groups["utterances"].sum().clip(lower=1)
            self._role_rates[role] = {
                label: Spread.of((groups[f"n_{label.lower()}"].sum() / said * 10).tolist())
                for label in RESPONDING_LABELS}
        return self._role_rates[role]

    def spread(self, column: str, setting: str | None = None) -> Spread:
        """The cohort's spread of a column (of the encounters in ``setting`` when given)."""
        key = (column, setting)
        if key not in self._spreads:
            rows = self.rows if setting is None else self.rows[self.rows["setting"] == setting]
            self._spreads[key] = Spread.of(rows[column].tolist()) if column in rows \
                else Spread(0)
        return self._spreads[key]

    def confidence(self, label: str, p: float) -> str:
        t = self.results.thresholds.get(label)
        if t is None or math.isnan(p):
            return ""
        return "low confidence" if abs(p - t) < LOW_CONFIDENCE else ""

    # -------------------------------------------------------- one encounter

    def encounter(self, encounter_id: str, utt: pd.DataFrame | None = None) -> dict[str, Any]:
        """One encounter page's numbers (``utt``: its utterance rows, when already read)."""
        row = self.encounters_by_id.loc[encounter_id]
        if utt is None:
            utt = self.rows_of("utterances", encounter_id)
        cues, hl, spk = (self.rows_of(name, encounter_id)
                         for name in ("cues", "highlights", "speakers"))
        setting = str(row["setting"])
        components = [(COMPONENT_NAMES[c], _num(row.get(f"component_{c}")),
                       self.spread(f"component_{c}", setting)) for c in COMPONENT_WEIGHTS]
        score = _num(row["compassion_score"])
        where = {str(u.utterance_id): u for u in utt.itertuples()}

        def moment(utterance_id: Any, *, anchor: str = "") -> dict[str, Any] | None:
            u = where.get(str(utterance_id)) if not _nan(utterance_id) else None
            if u is None:
                return None
            return {"utterance_id": str(u.utterance_id), "speaker": self.name(encounter_id,
                                                                            u.speaker),
                    "role": u.role, "text": self.text(u.text), "time": _clock(u.start),
                    "line": "" if _nan(u.source_line) else int(u.source_line),
                    "anchor": anchor or f"u-{u.utterance_id}"}

        missed_rank = {str(h.cue_utterance_id or h.utterance_id): int(h.rank)
                       for h in hl[hl["kind"] == "missed"].itertuples()}
        cue_items = []
        for c in cues.itertuples():
            p = _num(c.p_cue)
            cue_items.append({
                "cue": moment(c.utterance_id, anchor=f"cue-{c.utterance_id}"),
                "response": moment(c.response_utterance_id) if bool(c.responded) else None,
                "responded": bool(c.responded), "episode": int(c.episode),
                "labels": [x.lower() for x in str(c.response_labels or "").split("|") if x],
                "p": p, "confidence": self.confidence("CUE", p),
                "missed_rank": missed_rank.get(str(c.utterance_id)),
            })
        exemplary, missed = [], []
        for h in hl.sort_values(["kind", "rank"]).itertuples():
            labels = [x for x in str(h.labels or "").split("|") if x]
            p = _num(h.probability)
            item = {
                "rank": int(h.rank), "labels": labels,
                "label_words": [LABEL_WORDS.get(x, x.lower()) for x in labels],
                "moment": {"utterance_id": str(h.utterance_id),
                           "speaker": self.name(encounter_id, h.speaker), "role": h.role,
                           "text": self.text(h.text), "time": _clock(h.start),
                           "line": "" if _nan(h.source_line) else int(h.source_line)},
                "p": p,
                "cue": moment(h.cue_utterance_id),
                "followed_by": moment(h.followed_by_utterance_id),
                "cue_kind": "" if _nan(h.cue_kind) else str(h.cue_kind).replace("_", " "),
                "suggestion": "" if _nan(h.suggestion) else str(h.suggestion),
            }
            if h.kind == "exemplary":
                item["confidence"] = self.confidence(labels[0], p) if labels else ""
                item["anchor"] = f"best-{h.rank}"
                exemplary.append(item)
            else:
                item["confidence"] = self.confidence("CUE", p)
                item["anchor"] = f"missed-{h.rank}"
                missed.append(item)
        order = {"responding": 0, "expressing": 1, "other": 2}
        tracks = sorted(({"name": self.name(encounter_id, s.speaker), "group": _group(s.role),
                          "raw": str(s.speaker)} for s in spk.itertuples()),
                        key=lambda s: order[s["group"]])
        tl = timeline(
            [{"utterance_id": str(u.utterance_id), "speaker": self.name(encounter_id, u.speaker),
              "start": _num(u.start), "end": _num(u.end)} for u in utt.itertuples()],
            tracks,
            [{"utterance_id": i["cue"]["utterance_id"], "missed": not i["responded"],
              "response_utterance_id": i["response"]["utterance_id"] if i["response"] else None,
              "anchor": i["cue"]["anchor"],
              "title": f"{'answered' if i['responded'] else 'missed'} cue "
                       f"{i['cue']['utterance_id']} {i['cue']['time']}"}
             for i in cue_items if i["cue"]],
        )
        rates = []
        for label in LABELS:
            col = f"{label.lower()}_per_10"
            rates.append({"label": label, "words": LABEL_WORDS[label],
                          "n": int(row.get(f"n_{label.lower()}", 0)),
                          "per_10": _num(row.get(col)), "cohort": self.spread(col, setting)})
        persons = [self.person_of[(encounter_id, s["raw"])] for s in tracks
                   if (encounter_id, s["raw"]) in self.person_of]
        return {
            "id": encounter_id, "setting": row["setting"],
            "date": self.rows_by_id.loc[encounter_id, "date"],
            "folder": source_folder(encounter_id),
            "score": score, "unscorable": "" if _nan(row.get("unscorable")) else
            str(row.get("unscorable") or ""),
            "score_spread": self.spread("compassion_score", setting),
            "component_words": [(COMPONENT_NAMES[c], w) for c, w in component_words(
                self.results.config).items()],
            "components": bar_chart(components), "component_values": components,
            "timeline": tl, "cues": cue_items, "exemplary": exemplary, "missed": missed,
            "counts": {k: int(row[k]) for k in ("utterances", "turns", "cue_episodes",
                                                 "cues_responded", "missed_opportunities",
                                                 "questions_responding")},
            "rates": rates, "people": persons,
            "summary": self._summary(exemplary, missed, components),
            "n_encounters": len(self.rows),
        }

    @staticmethod
    def _summary(exemplary: list[dict[str, Any]], missed: list[dict[str, Any]],
                 components: list[tuple[str, float, Spread]]) -> dict[str, str]:
        if exemplary:
            best = exemplary[0]
            when = f" at {best['moment']['time']}" if best["moment"]["time"] else ""
            well = (f"{len(exemplary)} statement(s) stood out; the clearest{when} was "
                    f"{' and '.join(best['label_words'])}.")
        else:
            well = ("No empathic, confirming, pursuing or inclusive statement was found: look "
                    "in the transcript for moments the model may have missed.")
        if missed:
            m = missed[0]
            when = f" at {m['moment']['time']}" if m["moment"]["time"] else ""
            kind = CUE_KIND_PHRASES.get(m["cue_kind"], "a concern")
            try_next = (f"When the {m['moment']['role']} raised {kind}"
                        f"{when}, name the feeling or ask about it, for example: "
                        f"\u201c{m['suggestion']}\u201d")
        else:
            scored = [(v, name) for name, v, _ in components if not math.isnan(v)]
            lowest = min(scored) if scored else None
            try_next = ("Every emotional moment found got a response. "
                        + (f"The lowest part of the score was \u201c{lowest[1]}\u201d "
                           f"({lowest[0] * 100:.0f} %): try more of it next time."
                           if lowest and lowest[0] < 1 else ""))
        return {"went_well": well, "try_next": try_next.strip()}

    # -------------------------------------------------------- one person

    def person(self, person: Person) -> dict[str, Any]:
        rows = self.rows_by_id
        ids = sorted(person.encounter_ids,
                     key=lambda e: (rows.loc[e, "date"] == "", rows.loc[e, "date"], e))
        dated = all(rows.loc[e, "date"] for e in ids)
        points = [(rows.loc[e, "date"] or str(i + 1), "../" + rows.loc[e, "page"],
                   _num(rows.loc[e, "compassion_score"])) for i, e in enumerate(ids)]
        mine = self.rows_of("speakers", ids)
        mine = mine[mine["speaker"].astype(str) == person.name]
        cohort = self.role_rates(person.role)
        rates = []
        for label in RESPONDING_LABELS:
            n = f"n_{label.lower()}"
            own = mine[n].sum() / max(mine["utterances"].sum(), 1) * 10
            rates.append({"label": label, "words": LABEL_WORDS[label], "n": int(mine[n].sum()),
                          "per_10": round(float(own), 3), "cohort": cohort[label]})
        hl = self.rows_of("highlights", ids)
        best = hl[(hl["kind"] == "exemplary") & (hl["speaker"].astype(str) == person.name)]
        best = best.sort_values("probability", ascending=False).head(5)
        missed = hl[hl["kind"] == "missed"]
        kinds = Counter(str(k).replace("_", " ") for k in missed["cue_kind"].fillna("general"))
        patterns = []
        for kind, count in kinds.most_common():
            example = missed[missed["cue_kind"].fillna("general").str.replace("_", " ") == kind]
            patterns.append({"kind": kind, "count": count,
                             "share": count / max(len(missed), 1),
                             "suggestion": str(example["suggestion"].iloc[0]),
                             "encounters": sorted(set(example["encounter_id"]))})
        encounter_rows = [{"id": e, "date": rows.loc[e, "date"],
                           "link": "../" + rows.loc[e, "page"],
                           "score": _num(rows.loc[e, "compassion_score"]),
                           "missed": int(rows.loc[e, "missed_opportunities"]),
                           "response_rate": _num(rows.loc[e, "response_rate"])} for e in ids]
        return {
            "person": person, "dated": dated, "encounters": encounter_rows,
            "series": series(points, self.spread("compassion_score")),
            "rates": rates, "rate_chart": bar_chart(
                [(r["words"], r["per_10"], r["cohort"]) for r in rates], top=max(
                    2.0, *(r["per_10"] for r in rates), *(r["cohort"].high for r in rates
                                                           if r["cohort"].n)), percent=False),
            "best": [{"encounter": h.encounter_id,
                      "link": "../encounters/" + page_name(h.encounter_id) + f"#best-{h.rank}",
                      "labels": [LABEL_WORDS.get(x, x) for x in str(h.labels).split("|") if x],
                      "text": self.text(h.text), "time": _clock(h.start),
                      "utterance_id": str(h.utterance_id), "p": _num(h.probability)}
                     for h in best.itertuples()],
            "patterns": patterns, "missed_total": len(missed),
        }

    # -------------------------------------------------------- the cohort

    def cohort(self, groups: pd.DataFrame) -> dict[str, Any]:
        rows = self.rows
        comps = [(COMPONENT_NAMES[c], Spread.of(rows[f"component_{c}"].tolist()))
                 for c in COMPONENT_WEIGHTS]
        tables = {}
        for by, title in (("setting", "setting"), ("source_folder", "source folder"),
                          ("person", "clinician or leader")):
            g = groups[groups["group_by"] == by]
            tables[title] = [
                {"group": r["group"], "encounters": int(r["encounters"]),
                 "score": _num(r["mean_compassion_score"]),
                 "rates": [_num(r.get(f"mean_{label.lower()}_per_10")) for label in LABELS],
                 "response_rate": _num(r["mean_response_rate"]),
                 "link": (self.people[r["group"]].page if by == "person"
                          and r["group"] in self.people else "")}
                for _, r in g.iterrows()]
        return {
            "rows": rows.to_dict("records"),
            "histogram": histogram(rows["compassion_score"].tolist()),
            "components": bar_chart([(name, s.median, s) for name, s in comps]),
            "component_spreads": comps,
            "tables": tables, "labels": LABELS,
            "scored": int(rows["compassion_score"].notna().sum()),
            "people": sorted(self.people.values(), key=lambda p: p.key),
        }


# ---------------------------------------------------------------- writing


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("compassion_nlp", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)

    def pct(x: Any, digits: int = 0) -> str:
        return "n/a" if _nan(x) or math.isnan(float(x)) else f"{float(x) * 100:.{digits}f} %"

    def num(x: Any, digits: int = 1) -> str:
        return "n/a" if _nan(x) or math.isnan(float(x)) else f"{float(x):.{digits}f}"

    env.filters.update(pct=pct, num=num, page_name=page_name)
    env.globals.update(COLOURS=COLOURS, WHAT_IT_IS=WHAT_IT_IS, LABEL_WORDS=LABEL_WORDS,
                       LOW_CONFIDENCE=LOW_CONFIDENCE, version=__version__)
    return env


@dataclass
class ReportSummary:
    """What :func:`write_reports` wrote."""

    out: Path
    encounters: list[Path] = field(default_factory=list)
    people: list[Path] = field(default_factory=list)
    index: Path | None = None
    csv: list[Path] = field(default_factory=list)
    pdf: list[Path] = field(default_factory=list)


def write_reports(results: str | Path | Results, out: str | Path, *, redact: bool = False,
                  pdf: bool = False) -> ReportSummary:
    """Write the encounter, person and cohort pages (and CSVs) for a scoring run.

    Args:
        results: a ``compassion-nlp score`` output folder, or :func:`load_results` of one.
        out: the folder for the pages (created).
        redact: replace identifiers in quoted text, and patients' and staff's names, with
            placeholders (:mod:`compassion_nlp.redact`).
        pdf: also write a PDF of each encounter and person page (needs the ``pdf`` extra).
    """
    if not isinstance(results, Results):  # the utterances are read one encounter at a time
        results = load_results(results, utterances=False)
    out = Path(out)
    if pdf:
        check_pdf()
    env = _environment()
    pages = _Pages(results, redact)
    summary = ReportSummary(out)
    card = _card(results)
    common = {"card": card, "redacted": redact, "model": results.run.get("model", {})}
    encounter_page = env.get_template("encounter.html.j2")
    for encounter_id, utterances in _by_encounter(results, pages):
        path = out / "encounters" / page_name(encounter_id)
        html = encounter_page.render(e=pages.encounter(encounter_id, utterances), root="../",
                                     **common)
        summary.encounters.append(write_text(path, html))
    person_page = env.get_template("person.html.j2")
    for person in pages.people.values():
        html = person_page.render(p=pages.person(person), root="../", **common)
        summary.people.append(write_text(out / person.page, html))
    groups = group_rates(pages.rows)
    summary.csv = [write_table(pages.rows, out / "encounters.csv"),
                   write_table(groups, out / "cohort.csv")]
    html = env.get_template("index.html.j2").render(c=pages.cohort(groups), root="",
                                                     **common)
    summary.index = write_text(out / "index.html", html)
    if pdf:
        summary.pdf = [_write_pdf(p) for p in [*summary.encounters, *summary.people]]
    return summary


def _card(results: Results) -> dict[str, Any]:
    """The model's known weaknesses per label (from the model card in ``run.json``)."""
    card = results.card
    labels = card.get("labels", {})
    return {"labels": [{"label": label, "words": LABEL_WORDS[label], **labels.get(label, {})}
                       for label in LABELS if label in labels],
            "limits": list(card.get("limits", [])), "test": card.get("test", "")}


def check_pdf() -> None:
    """E051 unless WeasyPrint (the ``pdf`` extra) and its system libraries load."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        raise CompassionError(Errors.E051, detail=f"{type(exc).__name__}: {exc}") from None


def _write_pdf(html_path: Path) -> Path:
    import weasyprint

    target = html_path.with_suffix(".pdf")
    document = weasyprint.HTML(filename=str(html_path)).render()
    from .tables import atomic_write

    atomic_write(target, lambda tmp: document.write_pdf(tmp))
    return target
