"""What the SIM model said of each SIM, kept with the inputs it said it of.

A SIM's score from the SIM model, and for a flagged SIM what drove it, are a function
of the model and of the SIM's inputs (its row of the model's feature columns) alone. A
daily run (:mod:`qalqan.analytics.incremental`) keeps both with the inputs they were
said of (:data:`SIM_SCORES`, in the state folder); the next run asks the model only of
the SIMs whose inputs are not those kept, bit for bit, and takes the kept answer for
the others: it is the answer the model would give. Most of a day's flagged SIMs (a
farm's SIMs, used a day or two and then put away) made no call that day, and their
explanations are the dearest part of judging SIMs.

The kept answers are tied to the model that gave them (:func:`model_fingerprint`: the
model, its inputs' names, and the code that scores and explains): kept by another,
they are not read, and every SIM is asked again. A state without them (kept by an
older version) is the same: the run asks every SIM, and keeps the answers.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qalqan.analytics import models as models_module
from qalqan.analytics import number_scoring
from qalqan.analytics.models import feature_table

if TYPE_CHECKING:
    from qalqan.analytics.models import Models

__all__ = ["SIM_SCORES", "KeptScores", "model_fingerprint"]

#: The file of a state folder that keeps the SIM model's answers with their inputs.
SIM_SCORES = "sim_scores.parquet"

#: The key of the kept file's metadata that names the model which gave the answers.
_MODEL = b"qalqan.sim_model"


def model_fingerprint(models: Models) -> str:
    """What identifies the answers of the SIM model: the model itself, the names of its
    inputs, and the code that scores SIMs and says what drove a score (the scorer, the
    models' wrapper that asks it and words the drivers, and this module).

    The model is pickled without the pickler's memo: with it, the bytes follow which equal
    values happen to be one object (a string interned or not), which differs between two
    loads of the same file, and the same model would look like another.
    """
    pickled = io.BytesIO()
    pickler = pickle.Pickler(pickled, protocol=5)
    pickler.fast = True  # no memo: the values alone
    pickler.dump((models.sim_features, models.sim))
    digest = hashlib.sha256(pickled.getvalue())
    for code in (number_scoring.__file__, models_module.__file__, __file__):
        digest.update(Path(code).read_bytes())
    return digest.hexdigest()


@dataclass(slots=True)
class KeptScores:
    """The SIM model's answers of one run, and those it can reuse of the run before.

    :meth:`score` gives every SIM's score, asking the model only of the SIMs whose
    inputs changed; :meth:`drivers` the words of what drove the score of flagged SIMs,
    asking the model only of those it has none kept for; :meth:`keep` writes them for
    the next run.
    """

    models: Models
    folder: Path
    threads: int = 1
    """Threads the model scores and explains on (parts of the rows side by side)."""
    fingerprint: str = ""
    imsis: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    inputs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    said: dict[str, str] = field(default_factory=dict)
    """The drivers of each SIM whose inputs are unchanged or were explained in this run."""
    asked: int = 0
    """SIMs the model scored in this run (the others' scores were kept)."""
    explained: int = 0
    """Flagged SIMs the model explained in this run (the others' drivers were kept)."""

    def score(self, table: pa.Table) -> np.ndarray:
        """The model's score of every SIM of ``table`` (the feature table)."""
        self.fingerprint = model_fingerprint(self.models)
        self.imsis = table.column("imsi").combine_chunks()
        self.inputs = _bits(feature_table(table, self.models.sim_features).values)
        kept = self._read()
        same = np.zeros(table.num_rows, dtype=np.bool_)
        scores = np.zeros(table.num_rows)
        if kept is not None:
            at = pc.index_in(self.imsis, value_set=kept.column("imsi"))
            found = np.flatnonzero(at.is_valid().to_numpy(zero_copy_only=False))
            where = at.filter(at.is_valid()).to_numpy().astype(np.int64)
            old = _bits(np.column_stack([_floats(kept, n) for n in self.models.sim_features]))
            equal = (self.inputs[found].view(np.int64) == old[where].view(np.int64)).all(axis=1)
            same[found[equal]] = True
            scores[found[equal]] = _floats(kept, "score")[where[equal]]
            drivers = kept.column("drivers").to_pylist()
            for row, k in zip(found[equal].tolist(), where[equal].tolist(), strict=True):
                if drivers[k] is not None:
                    self.said[self.imsis[row].as_py()] = drivers[k]
        ask = np.flatnonzero(~same)
        self.asked = len(ask)
        if len(ask):
            scores[ask] = self.models.score_sims(table.take(pa.array(ask)), threads=self.threads)
        self.scores = scores
        return scores

    def drivers(self, flagged: pa.Table, rows: list[int]) -> dict[int, str]:
        """What drove the score of each of ``rows`` of ``flagged``, in words."""
        imsis = flagged.column("imsi").to_pylist()
        found = {row: self.said[imsis[row]] for row in rows if imsis[row] in self.said}
        missing = [row for row in rows if row not in found]
        self.explained = len(missing)
        for row, said in self.models.sim_drivers(flagged, missing, threads=self.threads).items():
            found[row] = self.said[imsis[row]] = said
        return found

    def keep(self) -> None:
        """Write this run's answers with their inputs (:data:`SIM_SCORES`) for the next run."""
        names = self.models.sim_features
        drivers = pa.array([self.said.get(i) for i in self.imsis.to_pylist()], pa.string())
        table = pa.table(
            {
                "imsi": self.imsis,
                "score": pa.array(self.scores, pa.float64()),
                "drivers": drivers,
                **{n: pa.array(self.inputs[:, j], pa.float64()) for j, n in enumerate(names)},
            }
        ).replace_schema_metadata({_MODEL: self.fingerprint.encode()})
        temporary = self.folder / f"{SIM_SCORES}.tmp"
        pq.write_table(table, temporary, compression="zstd")
        temporary.replace(self.folder / SIM_SCORES)

    def _read(self) -> pa.Table | None:
        """The kept answers, when they are the same model's (none otherwise)."""
        path = self.folder / SIM_SCORES
        if not path.is_file():
            return None
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException):
            return None  # unreadable: asked again, and written anew
        metadata = table.schema.metadata or {}
        if metadata.get(_MODEL) != self.fingerprint.encode():
            return None
        if not {"imsi", "score", "drivers", *self.models.sim_features} <= set(table.column_names):
            return None
        return table


def _floats(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)


def _bits(values: np.ndarray) -> np.ndarray:
    """``values`` as float64 in one block, so that rows compare bit for bit."""
    return np.ascontiguousarray(values, dtype=np.float64)
