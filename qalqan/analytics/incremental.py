"""Keep what the days already analysed left behind, so that a daily run reads and checks one day.

Two things are kept in a state folder (``qalqan analyze --state DIR``):

- **the checked call records** (``cdrs/<first day>.parquet``, one file a run,
  and ``history.json``: the first and last day held). ``qalqan analyze --since
  DAY`` reads and validates only the records from ``DAY`` on (of a ``cdrs``
  kept as a folder of daily parts, only those parts), adds them to the state
  and analyses every day held. What is written is what a full run over all the
  days writes, since the analysis sees the same records; what is saved is
  reading, checking and staging the history again. Record ids are checked for
  repeats among the new days only.
- **the per-SIM partials** (``<name>.parquet`` for every partial of
  :data:`~qalqan.analytics.features.PARTIALS`, and ``manifest.json``):
  :func:`features_since` gives the features of every day from the new day's
  records merged with them, the same as from all the records. The analysis
  does not use them yet: its farms and its calls still read the records of
  every day (``mo``, ``cdrs``), so these are the features' part of a run that
  reads one day.

The state must end the day before ``DAY`` and hold nothing from ``DAY`` on: a
gap would leave days out, an overlap would count them twice. Either is refused
with :class:`StateError` (the command exits 2) rather than giving findings that
look right and are not.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from qalqan.analytics.features import (
    PARTIALS,
    features_from_partials,
    merge_partials,
    record_partials,
)
from qalqan.errors import DataSetError
from qalqan.screening.config import YOUNG_SIM_DAYS

__all__ = [
    "MANIFEST",
    "State",
    "StateError",
    "check_history",
    "features_since",
    "keep_history",
    "load_state",
    "save_state",
    "start_state",
]

#: The file that says what a state folder covers.
MANIFEST = "manifest.json"

#: The prefix of the stored partials once read back into the connection.
STORED = "stored_"


class StateError(DataSetError):
    """A state folder that cannot be used for this run: absent, unreadable, a gap or an overlap."""


@dataclass(frozen=True, kw_only=True)
class State:
    """What a state folder covers: every day from ``first_day`` to ``last_day``."""

    first_day: date
    last_day: date
    local_offset_h: int
    """The network's offset from UTC the partials were made with (night calls)."""

    def check_before(self, since: date) -> None:
        """Refuse unless the state ends on the day before ``since``."""
        if self.last_day >= since:
            raise StateError(
                f"the kept state covers {self.first_day} to {self.last_day}, which includes "
                f"{since} or later: those days would be counted twice; run with --since "
                f"{self.last_day + timedelta(days=1)} or without --since"
            )
        if self.last_day < since - timedelta(days=1):
            raise StateError(
                f"the kept state ends on {self.last_day} and the run starts on {since}: the "
                f"days in between would be left out; run with --since "
                f"{self.last_day + timedelta(days=1)} or without --since"
            )


def read_manifest(folder: Path) -> State:
    """The days a state folder covers; :class:`StateError` when it is not a usable state."""
    path = folder / MANIFEST
    if not path.is_file():
        raise StateError(f"there is no kept state in {folder} ({MANIFEST} is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        state = State(
            first_day=date.fromisoformat(manifest["first_day"]),
            last_day=date.fromisoformat(manifest["last_day"]),
            local_offset_h=int(manifest["local_offset_h"]),
        )
        names = set(manifest["partials"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"{path} cannot be read: {exc}") from None
    missing = sorted({p.name for p in PARTIALS} - names)
    if missing:
        raise StateError(f"the kept state in {folder} lacks {', '.join(missing)}")
    return state


def load_state(con: duckdb.DuckDBPyConnection, folder: Path, *, since: date) -> State:
    """Read the state that ends the day before ``since`` as ``stored_<name>`` tables."""
    state = read_manifest(folder)
    state.check_before(since)
    for partial in PARTIALS:
        source = (folder / f"{partial.name}.parquet").as_posix()
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {STORED}{partial.name} AS SELECT * FROM read_parquet('{source}')"
        )
    return state


def merge_with_state(con: duckdb.DuckDBPyConnection, *, new_prefix: str) -> None:
    """``part_<name>``: the stored partials merged with those of the new days."""
    merge_partials(con, [STORED, new_prefix])


def save_state(con: duckdb.DuckDBPyConnection, folder: Path, state: State) -> None:
    """Keep the merged ``part_*`` tables and a manifest of the days they cover.

    The manifest is written last, so that a run stopped halfway leaves no state
    that claims days it does not hold.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    for partial in PARTIALS:
        keys = ", ".join(partial.keys)
        table = con.sql(f"SELECT * FROM {partial.table} ORDER BY {keys}").to_arrow_table()
        pq.write_table(table, folder / f"{partial.name}.parquet", compression="zstd")
    manifest = {
        "first_day": state.first_day.isoformat(),
        "last_day": state.last_day.isoformat(),
        "local_offset_h": state.local_offset_h,
        "partials": [p.name for p in PARTIALS],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def first_and_last_day(con: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """The first and last day of the staged call records."""
    (row,) = con.execute(
        "SELECT CAST(min(start_time) AS DATE), CAST(max(start_time) AS DATE) FROM cdrs"
    ).fetchall()
    if row[0] is None:
        raise StateError("the data set holds no call records to add to the kept state")
    return row[0], row[1]


def features_since(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    since: date,
    young_sim_days: float = YOUNG_SIM_DAYS,
) -> pa.Table:
    """The features of every day the state and the staged records cover, from the records of
    the days from ``since`` on only; the state then covers them too.

    The staged ``cdrs`` must hold those days alone. Night calls are counted with the
    offset from UTC the state was made with, so that they add up.
    """
    first, last = first_and_last_day(con)
    if first < since:
        raise StateError(f"the data set read for --since {since} holds calls of {first}")
    state = load_state(con, folder, since=since)
    record_partials(con, local_offset_h=state.local_offset_h, prefix="new_")
    merge_with_state(con, new_prefix="new_")
    features = features_from_partials(con, young_sim_days=young_sim_days)
    save_state(
        con,
        folder,
        State(first_day=state.first_day, last_day=last, local_offset_h=state.local_offset_h),
    )
    return features


def start_state(con: duckdb.DuckDBPyConnection, folder: Path, *, local_offset_h: int) -> State:
    """Keep the ``part_*`` tables of a full run as the state its next day starts from."""
    first, last = first_and_last_day(con)
    state = State(first_day=first, last_day=last, local_offset_h=local_offset_h)
    save_state(con, folder, state)
    return state


#: The file that says which days of call records a history folder holds.
HISTORY = "history.json"


def check_history(folder: Path, since: date) -> date:
    """The first day of the call records kept in ``folder``, which must end the day before ``since``."""
    path = folder / HISTORY
    if not path.is_file():
        raise StateError(
            f"there is no kept state in {folder} ({HISTORY} is missing): run once without "
            "--since and with --state to start one"
        )
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        first, last = date.fromisoformat(kept["first_day"]), date.fromisoformat(kept["last_day"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"{path} cannot be read: {exc}") from None
    State(first_day=first, last_day=last, local_offset_h=0).check_before(since)
    return first


def keep_history(staged: Path, folder: Path, *, since: date | None) -> None:
    """Add the staged call records to those kept in ``folder`` and stage them all.

    Without ``since`` (a full run) the kept records start again from the staged ones.
    The staged ``cdrs`` then reads every kept day, so that the analysis sees the
    history it needs (farms over weeks, callers' past calls) while only the new
    days were read and checked.
    """
    first = check_history(folder, since) if since is not None else None
    parts = folder / "cdrs"
    if since is None:
        shutil.rmtree(parts, ignore_errors=True)
        (folder / HISTORY).unlink(missing_ok=True)
    parts.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    source = (staged / "cdrs.parquet").as_posix()
    [(low, high)] = con.execute(
        f"SELECT CAST(min(start_time) AS DATE), CAST(max(start_time) AS DATE) FROM read_parquet('{source}')"
    ).fetchall()
    con.close()
    if low is None:
        raise StateError("the data set holds no call records to add to the kept state")
    shutil.move(staged / "cdrs.parquet", parts / f"{low.isoformat()}.parquet")
    (staged / "cdrs").symlink_to(parts.resolve(), target_is_directory=True)
    kept = {"first_day": (first or low).isoformat(), "last_day": high.isoformat()}
    (folder / HISTORY).write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
