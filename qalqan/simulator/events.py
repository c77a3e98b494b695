"""Call and SMS attempts under construction: numpy columns, later written as ``cdrs`` rows.

Numbers, IMSIs and IMEIs stay int64 digits (0 = empty) and names (ingress,
countries, truth groups) stay small integer codes into :class:`Codes` until a
chunk is written, which keeps generation vectorised and fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["COLUMNS", "RESULTS", "Codes", "Events", "Truth"]

RESULTS = ("answered", "no_answer", "busy", "failed", "rejected")
ANSWERED, NO_ANSWER, BUSY, FAILED, REJECTED = range(5)
VOICE, SMS = 0, 1

#: column name -> (dtype, value meaning "empty")
COLUMNS: dict[str, tuple[type[np.generic], int]] = {
    "t": (np.int64, 0),  # setup time, Unix seconds
    "dur": (np.int32, 0),
    "event": (np.int8, 0),
    "result": (np.int8, 0),
    "a_num": (np.int64, 0),
    "b_num": (np.int64, 0),
    "ingress": (np.int16, 0),
    "a_imsi": (np.int64, 0),
    "a_imei": (np.int64, 0),
    "a_cell": (np.int32, -1),
    "b_imsi": (np.int64, 0),
    "b_cell": (np.int32, -1),
    "orig": (np.int16, -1),  # code of orig_country
    "attest": (np.int8, -1),  # 0 A, 1 B, 2 C
    "truth": (np.int8, 0),  # 0 none, 1 fraud, 2 legit look-alike
    "group": (np.int32, -1),  # code of the truth group (call center, farm, look-alike kind)
}


class Truth:
    NONE, FRAUD, LEGIT = 0, 1, 2


@dataclass(slots=True)
class Codes:
    """Interned names: ingress strings, countries and truth groups."""

    ingress: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    _index: dict[tuple[str, str], int] = field(default_factory=dict)

    def code(self, space: str, name: str) -> int:
        key = (space, name)
        found = self._index.get(key)
        if found is None:
            names: list[str] = getattr(self, space)
            found = len(names)
            names.append(name)
            self._index[key] = found
        return found


class Events:
    """Columns of attempts; ``Events.make(n, t=..., ...)`` fills what is not given with empties."""

    __slots__ = ("cols",)

    def __init__(self, cols: dict[str, npt.NDArray[Any]]) -> None:
        self.cols = cols

    @classmethod
    def make(cls, n: int, **given: npt.ArrayLike) -> Events:
        cols: dict[str, npt.NDArray[Any]] = {}
        for name, (dtype, empty) in COLUMNS.items():
            if name in given:
                value = np.asarray(given[name])
                cols[name] = np.broadcast_to(value, (n,)).astype(dtype, copy=True)
            else:
                cols[name] = np.full(n, empty, dtype=dtype)
        unknown = set(given) - set(COLUMNS)
        if unknown:
            raise KeyError(f"unknown event columns {sorted(unknown)}")
        return cls(cols)

    @classmethod
    def empty(cls) -> Events:
        return cls.make(0)

    @classmethod
    def concat(cls, parts: list[Events]) -> Events:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls({k: np.concatenate([p.cols[k] for p in parts]) for k in COLUMNS})

    def __len__(self) -> int:
        return int(self.cols["t"].size)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Events:
        return Events({k: v[index] for k, v in self.cols.items()})

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        return self.cols[name]
