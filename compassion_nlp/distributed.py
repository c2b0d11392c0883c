"""Scoring on a Ray cluster with Ray Data (``pip install "compassion-nlp[ray]"``).

:func:`score_on_ray` finds the sources (a folder or a list of paths, which every node must see
at the same path: a shared file system), cuts them into chunks of consecutive sources
(:func:`compassion_nlp.rows.chunks`) and runs ``Dataset.map_batches`` with
:class:`ScoreChunks`, a callable class: each Ray actor loads the model once and scores whole
chunks (utterances batched across the encounters of a chunk). The driver takes the chunks'
rows back in the order of the sources and writes them exactly as ``compassion-nlp score`` does
(:func:`compassion_nlp.outputs.score_to_folder`: the same tables, Parquet by default, the same
lock, checkpoints and resume, failures and ``run.json``), so a Ray run and a run on one machine
give the same tables.

The driver keeps the rows in the run's checkpoint on disk, not in memory, as a run on one
machine does; shards (``--num-shards``, each of which may itself run on Ray) split an archive
over several drivers.

>>> from compassion_nlp.distributed import score_on_ray
>>> from compassion_nlp.scoring import ScorerSpec
>>> score_on_ray(["transcripts/"], "results/", ScorerSpec("models/compassion-minilm"),
...              address="auto", num_actors=8)
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CompassionError, Errors, check_option
from .outputs import Producer, RunSummary, score_to_folder
from .readers import Source
from .rows import Event, chunks, score_rows

if TYPE_CHECKING:
    from .scoring import ScorerSpec


def _require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise CompassionError(Errors.E018, "--ray", format="on Ray", package="ray[data]",
                              extra="ray") from None
    return ray


class ScoreChunks:
    """The ``map_batches`` callable: loads the model once per actor, then scores chunks.

    Each input row is one chunk (``chunk``: its number; ``sources``: its pickled
    ``(position, Source)`` pairs); each output row holds the chunk's pickled events.
    """

    def __init__(self, spec: ScorerSpec, threads: int, format: str | None, batch_size: int,
                 done: Mapping[str, str]):
        import torch

        torch.set_num_threads(threads)
        self.scorer = spec.load(threads=threads)
        self.format, self.batch_size, self.done = format, batch_size, done

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        events = []
        for chunk in batch["sources"]:
            pairs = pickle.loads(chunk)
            events.append(pickle.dumps(list(score_rows(
                self.scorer, pairs, format=self.format, batch_size=self.batch_size,
                done=self.done))))
        return {"chunk": np.asarray(batch["chunk"]), "events": np.array(events, dtype=object)}


def ray_producer(
    spec: ScorerSpec, *, format: str | None = None, batch_size: int = 64,
    num_actors: int | None = None, cpus_per_actor: int = 2,
) -> Producer:
    """A ``producer`` for :func:`~compassion_nlp.outputs.score_to_folder` that scores on the
    Ray cluster this process is connected to (``ray.init`` first): ``num_actors`` actors
    (default: the cluster's CPUs shared out) of ``cpus_per_actor`` CPUs and model threads."""
    ray = _require_ray()

    def produce(sources: list[tuple[int, Source]], done: Mapping[str, str]) -> Iterator[Event]:
        parts = chunks(sources)
        if not parts:
            return
        actors = num_actors or max(1, int(ray.cluster_resources().get("CPU", 1))
                                   // cpus_per_actor)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        items = [{"chunk": n, "sources": pickle.dumps(part)} for n, part in enumerate(parts)]
        dataset = ray.data.from_items(items, override_num_blocks=len(items))
        scored = dataset.map_batches(
            ScoreChunks, batch_size=1, compute=ray.data.ActorPoolStrategy(
                size=min(actors, len(items))), num_cpus=cpus_per_actor,
            fn_constructor_kwargs={
                "spec": spec, "threads": cpus_per_actor, "format": format,
                "batch_size": batch_size, "done": done},
        )
        # chunks come back in order (preserve_order); the buffer only guards against a
        # Ray version that does not keep it
        waiting: dict[int, list[Event]] = {}
        following = 0
        for row in scored.iter_rows():
            waiting[int(row["chunk"])] = pickle.loads(row["events"])
            while following in waiting:
                yield from waiting.pop(following)
                following += 1

    return produce


def score_on_ray(
    paths: Iterable[str | Path], out: str | Path, spec: ScorerSpec, *,
    address: str | None = None, num_actors: int | None = None, cpus_per_actor: int = 2,
    format: str | None = None, ext: str = ".parquet", batch_size: int = 64,
    force: bool = False, reports: bool = False, redact: bool = False, pdf: bool = False,
    progress: Callable[[int, int, RunSummary], None] | None = None,
    checkpoint_every_s: float = 10.0,
    num_shards: int | None = None, shard_index: int | None = None,
) -> RunSummary:
    """Score transcripts on Ray and write the tables of a run on one machine into ``out``.

    Args:
        address: the cluster (``"auto"``: the one ``ray start`` joined this machine to; None:
            a Ray started on this machine, unless this process already called ``ray.init``).
        num_actors, cpus_per_actor: actors, each with its model; see :func:`ray_producer`.
        Others: as :func:`~compassion_nlp.outputs.score_to_folder`.
    """
    ray = _require_ray()
    check_option("num_actors", num_actors, integer=True)
    check_option("cpus_per_actor", cpus_per_actor, integer=True)
    spec.check()
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, include_dashboard=False)
    producer = ray_producer(spec, format=format, batch_size=batch_size, num_actors=num_actors,
                            cpus_per_actor=cpus_per_actor)
    return score_to_folder(spec, paths, out, format=format, ext=ext, force=force,
                           batch_size=batch_size, reports=reports, redact=redact, pdf=pdf,
                           progress=progress,
                           checkpoint_every_s=checkpoint_every_s, num_shards=num_shards,
                           shard_index=shard_index, producer=producer)
