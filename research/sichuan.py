"""Loader for the Sichuan telecom-fraud research data: 6,106 real numbers, their features and labels.

This data set is the one public yardstick on which Qalqan's per-number scorer
(:mod:`qalqan.analytics.number_scoring`) can meet real operator data and the
published graph neural networks (GAT-COBO, CSGNN, BTG). It comes from the 2020
"Digital Sichuan" competition. The pre-computed tables are shipped by the
GAT-COBO repository. The folder is not part of Qalqan and is not copied into
it. Its README records provenance, licence and checksums.

Files read:

* ``all_feat_with_label.csv``: ``phone_no_m`` (a hashed number), 55 numeric
  features and ``label`` (1 = fraud). An empty cell means the number had no
  records of that kind and becomes NaN.
* ``node_adj_sparse.npz``: a SciPy CSR matrix that stores the upper triangle of
  a user-similarity graph. It is symmetrised on load. The graph joins numbers
  whose normalised *features* are close, so it is not a call graph.

Where the folder is: the ``directory`` argument, or the ``QALQAN_SICHUAN_DIR``
environment variable, or ``../shared/data/sichuan-telecom-fraud`` next to the
repository root. Missing or malformed files raise a
:class:`~qalqan.errors.DataSetError` that names the folder and the variable.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qalqan.analytics.number_scoring import FeatureTable
from qalqan.errors import DataSetError, MissingColumnError, UnreadableFileError
from research.similarity_graph import symmetrise

__all__ = [
    "ENV_VAR",
    "FEATURES_FILE",
    "FEATURE_DESCRIPTIONS",
    "GRAPH_FILE",
    "SichuanData",
    "default_directory",
    "load_sichuan",
]

ENV_VAR = "QALQAN_SICHUAN_DIR"
FEATURES_FILE = "all_feat_with_label.csv"
GRAPH_FILE = "node_adj_sparse.npz"
_ID_COLUMN = "phone_no_m"
_LABEL_COLUMN = "label"

FEATURE_DESCRIPTIONS: dict[str, str] = {
    "opposite_count": "voice calls in the period",
    "opposite_unique": "distinct voice counterparts",
    "voccalltype1": "outgoing voice calls",
    "imeis": "distinct handsets (IMEIs) used for outgoing calls",
    "voc_calltype1": "share of voice calls that are outgoing",
    "city_name_call": "distinct cities of outgoing calls",
    "county_name_call": "distinct counties of outgoing calls",
    "phone2opposite_mean": "mean calls per counterpart",
    "phone2opposite_median": "median calls per counterpart",
    "phone2opposite_max": "most calls to a single counterpart",
    "phone2oppo_sum_mean": "mean talk seconds per counterpart",
    "phone2oppo_sum_median": "median talk seconds per counterpart",
    "phone2oppo_sum_max": "most talk seconds with a single counterpart",
    "call_dur_mean": "mean call duration (s)",
    "call_dur_median": "median call duration (s)",
    "call_dur_max": "longest call (s)",
    "call_dur_min": "shortest call (s)",
    "city_name_nunique": "distinct cities of all calls",
    "county_name_nunique": "distinct counties of all calls",
    "calltype_id_unique": "kinds of call seen (outgoing, incoming, forwarded)",
    "voc_hour_mode": "most usual hour of day for calls",
    "voc_hour_mode_count": "calls in the most usual hour",
    "voc_hour_nunique": "distinct hours of day with calls",
    "voc_day_mode": "most usual day of month for calls",
    "voc_day_mode_count": "calls on the most usual day of month",
    "voc_day_nunique": "distinct days of month with calls",
    "sms_count": "SMS messages",
    "sms_nunique": "distinct SMS counterparts",
    "sms_rate": "SMS per counterpart",
    "calltype_2": "SMS received",
    "calltype_rate": "share of SMS that were received",
    "hour_mode": "most usual hour of day for SMS",
    "hour_mode_count": "SMS in the most usual hour",
    "hour_nunique": "distinct hours of day with SMS",
    "day_mode": "most usual day of month for SMS",
    "day_mode_count": "SMS on the most usual day of month",
    "day_nunique": "distinct days of month with SMS",
    "busi_count": "distinct data apps used",
    "flow_mean": "mean mobile-data volume per record",
    "flow_median": "median mobile-data volume per record",
    "flow_min": "smallest mobile-data volume per record",
    "flow_max": "largest mobile-data volume per record",
    "flow_var": "variance of mobile-data volume",
    "flow_sum": "total mobile-data volume",
    "month_ids": "months with mobile-data use",
    "flow_month": "mobile-data volume per month",
    "arpu_mean": "mean monthly bill (ARPU)",
    "arpu_var": "variance of the monthly bill",
    "arpu_max": "highest monthly bill",
    "arpu_min": "lowest monthly bill",
    "arpu_median": "median monthly bill",
    "arpu_sum": "total billed over Aug 2019 - Mar 2020",
    "arpu_skew": "skew of the monthly bill",
    "arpu_sem": "standard error of the monthly bill",
    "arpu_quantile": "a quantile of the monthly bill",
    "graph_degree": "similar numbers (neighbours in the similarity graph)",
    "graph_known_neighbours": "similar numbers with a known outcome",
    "graph_known_fraud_neighbour_share": "share of similar numbers known to be fraud",
}
"""Plain words for every column, from the feature code of the BTG/GAT-COBO papers (see the README)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SichuanData:
    """The loaded data set: rows of ``features``, ``labels``, ``numbers`` and ``similarity`` align."""

    directory: Path
    numbers: tuple[str, ...]
    """Hashed phone numbers (``phone_no_m``)."""
    features: FeatureTable
    labels: npt.NDArray[np.int64]
    """1 = fraud, 0 = normal."""
    similarity: Any
    """Undirected 0/1 user-similarity graph as a symmetric SciPy CSR matrix, no self-loops."""

    @property
    def fraud_share(self) -> float:
        return float(self.labels.mean())


def default_directory() -> Path:
    """``$QALQAN_SICHUAN_DIR`` if set, else ``../shared/data/sichuan-telecom-fraud`` from the repo root."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured)
    repo_root = Path(__file__).resolve().parents[1]
    return repo_root.parent / "shared" / "data" / "sichuan-telecom-fraud"


def load_sichuan(directory: str | os.PathLike[str] | None = None) -> SichuanData:
    """Read the feature table and the similarity graph. Raises ``DataSetError`` if they are absent or broken."""
    folder = Path(directory) if directory is not None else default_directory()
    missing = [name for name in (FEATURES_FILE, GRAPH_FILE) if not (folder / name).is_file()]
    if missing:
        raise DataSetError(
            f"{folder}: the Sichuan telecom-fraud data set is not there "
            f"(missing {', '.join(missing)}); pass its folder or set {ENV_VAR}"
        )
    numbers, features, labels = _read_features(folder / FEATURES_FILE)
    similarity = _read_graph(folder / GRAPH_FILE, len(numbers))
    return SichuanData(
        directory=folder, numbers=numbers, features=features, labels=labels, similarity=similarity
    )


def _read_features(path: Path) -> tuple[tuple[str, ...], FeatureTable, npt.NDArray[np.int64]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise UnreadableFileError(path, "the file is empty")
            lacking = [c for c in (_ID_COLUMN, _LABEL_COLUMN) if c not in header]
            if lacking:
                raise MissingColumnError(path, "sichuan features", lacking)
            id_at, label_at = header.index(_ID_COLUMN), header.index(_LABEL_COLUMN)
            feature_at = [i for i in range(len(header)) if i not in (id_at, label_at)]
            numbers: list[str] = []
            labels: list[int] = []
            rows: list[list[float]] = []
            for line, record in enumerate(reader, start=2):
                if len(record) != len(header):
                    raise UnreadableFileError(
                        path, f"line {line} has {len(record)} fields, the header {len(header)}"
                    )
                numbers.append(record[id_at])
                labels.append(_label(path, line, record[label_at]))
                rows.append([_number(path, line, header[i], record[i]) for i in feature_at])
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UnreadableFileError(path, str(error)) from error
    if not rows:
        raise UnreadableFileError(path, "the table has no rows")
    features = FeatureTable(
        columns=tuple(header[i] for i in feature_at), values=np.array(rows, dtype=np.float64)
    )
    return tuple(numbers), features, np.array(labels, dtype=np.int64)


def _label(path: Path, line: int, text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value not in (0.0, 1.0):
        raise UnreadableFileError(path, f"line {line}: label {text!r} is neither 0 nor 1")
    return int(value)


def _number(path: Path, line: int, column: str, text: str) -> float:
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise UnreadableFileError(
            path, f"line {line}: {column} = {text!r} is not a number"
        ) from None


def _read_graph(path: Path, nodes: int) -> Any:
    try:
        matrix = sp.load_npz(path)
    except (OSError, ValueError, KeyError) as error:
        raise UnreadableFileError(path, str(error)) from error
    if matrix.shape != (nodes, nodes):
        raise UnreadableFileError(
            path, f"graph of shape {matrix.shape} does not match {nodes} numbers in {FEATURES_FILE}"
        )
    return symmetrise(matrix)
