"""Scoring on Ray Data gives the tables of a run on one machine (``pytest -m ray``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from compassion_nlp.cli import app
from compassion_nlp.outputs import score_to_folder
from compassion_nlp.scoring import ScorerSpec
from compassion_nlp.tables import TABLES, read_table

from .test_shards import corpus

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray():  # type: ignore[no-untyped-def]
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    yield ray
    ray.shutdown()


def test_ray_writes_the_tables_of_a_single_machine_run(
    local_ray, tiny_model_dir: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    from compassion_nlp.distributed import score_on_ray

    source = corpus(tmp_path, n=12)
    spec = ScorerSpec(str(tiny_model_dir), precision="float32", threads=1,
                      roles=(("Ann", "clinician"),))
    single = score_to_folder(spec, [source], tmp_path / "single")
    on_ray = score_on_ray([source], tmp_path / "ray", spec, num_actors=2, cpus_per_actor=1)
    assert (on_ray.encounters, on_ray.sources) == (single.encounters, single.sources)
    for name in TABLES:
        pd.testing.assert_frame_equal(read_table(tmp_path / "ray" / f"{name}.parquet"),
                                      read_table(tmp_path / "single" / f"{name}.parquet"),
                                      obj=name)
    assert (pd.read_csv(tmp_path / "ray" / "failures.csv").to_dict("records")
            == pd.read_csv(tmp_path / "single" / "failures.csv").to_dict("records"))
    run = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert run == json.loads((tmp_path / "single" / "run.json").read_text())
    # a second Ray run into the folder skips what is done, as a run on one machine does
    again = score_on_ray([source], tmp_path / "ray", spec, num_actors=2, cpus_per_actor=1)
    assert (again.encounters, again.skipped) == (0, single.encounters)


def test_the_cli_scores_on_ray(local_ray, tiny_model_dir: Path, tmp_path: Path  # type: ignore[no-untyped-def]
                               ) -> None:
    source = corpus(tmp_path, n=3)
    result = CliRunner().invoke(app, ["score", str(source), "--out", str(tmp_path / "out"),
                                      "--model", str(tiny_model_dir), "--ray", "local",
                                      "--ray-actors", "1", "--ray-cpus-per-actor", "1"])
    assert result.exit_code == 1, result.output  # empty.txt is a failure
    assert "Scored" in result.output and "[E002]" in result.output
    assert len(read_table(tmp_path / "out" / "encounters.parquet")) > 3
