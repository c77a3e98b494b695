"""Keep what the days already analysed left behind, so that a daily run reads and judges one day.

Five things are kept in a state folder (``qalqan analyze --state DIR``):

- **the checked call records** (``cdrs/<first day>.parquet``, one file a run,
  and ``history.json``: the first and last day held). ``qalqan analyze --since
  DAY`` reads and validates only the records from ``DAY`` on (of a ``cdrs``
  kept as a folder of daily parts, only those parts) and adds them to the state;
  its ``cdrs`` holds those days alone. Of the kept records it reads the
  :data:`LOOK_BACK` days before ``DAY`` (the calls from outside, for the Wangiri
  bursts and the callees being worked) and, for the farms' tracks, each farm's
  SIMs' own calls of its last :data:`~qalqan.analytics.farms.TRACK_DAYS` days.
  Record ids are checked for repeats among the new days only.
- **the partials** (``<name>.parquet`` for every partial of :data:`KEPT`: those of
  the features, :data:`~qalqan.analytics.features.PARTIALS`, of the farms,
  :data:`~qalqan.analytics.farms.FARM_PARTIALS`, and the numbers' history the call
  facts read, :data:`~qalqan.analytics.inbound.CALL_PARTIALS`; and ``manifest.json``):
  :func:`features_since` gives the features of every day from the new day's
  records merged with them, the same as from all the records. The partials keyed
  by the day or hour of their records (:data:`BY_DAY`: the SIMs' sites by day and
  by hour) are kept a part a run (``<name>/<first day>.parquet``): a new day only
  adds its own; so are the sets of pairs of SIMs (:data:`BY_FIRST_SEEN`), each part
  the pairs first seen in its run; the others, a row per SIM or handset or pair
  whatever the days kept, are merged and written again. Beside them, what the young
  SIMs at each SIM's sites came to (:data:`YOUTH`), so that a daily run counts them on
  its own days only while the SIMs young on the kept days are still those kept.
- **what the calls' verdicts read of the days before** (:data:`CALLS`,
  :func:`keep_calls`): the first-contact walk's state
  (:func:`~qalqan.detections.spoofing.first_contact_facts`), the calls and
  rule-flagged calls per route and per route and hour, the worked caller/callee
  pairs (:data:`~qalqan.analytics.calls.VERDICT_STATE`), and the rule-flagged
  calls (callee, time) a part a run, of which a daily run reads the
  :data:`LOOK_BACK` days before ``DAY``.
- **the last days' fraud calls and their campaigns** (:mod:`~qalqan.analytics.campaign_days`):
  a daily run's campaigns regroup the fraud calls of a window of days, with the ids
  they had.
- **what the SIM model said of each SIM** (:mod:`~qalqan.analytics.kept_scores`): its
  score, and a flagged SIM's drivers, with the inputs they were said of; the next run
  asks the model only of the SIMs whose inputs changed (most of a day's flagged SIMs
  made no call that day).

:class:`IncrementalAnalysis` is the analysis of such a run. With ``since`` the
SIMs' verdicts and the farms are those of a full run over every day (``sims.csv``,
``farms.csv``, ``farm_tracks.csv`` the same bytes), and the calls judged are **the
new days' alone**: a daily run's ``calls.csv`` holds the calls that began from ``DAY``
on, each with the verdict and reasons a full run over every day up to then gives it
(what speaks of the whole data set, the route shares, a callee's other flagged calls
within three days and the callers working lists, is known up to the run's last call,
as in that full run; a full run over later days too knows more of them); its
``campaigns.csv`` is the window's campaigns. The numbers' history comes from the merged
partials; what was known at each call's time from the walk's kept state, the look-back
and the new days; the route shares from the kept and the new counts. Two things can differ from a full run,
at a day's edge only: a one-ring burst still ringing without a window's pause since
before the look-back, and the opening calls of a burst found only after midnight (in
hindsight they are the burst's; the day before, no rule flagged them, and that day's
kept counts say so).
Without ``since`` (a full run with ``--state``) it is the full analysis, and
keeps the partials, the calls' state and the campaigns for the next day.

The state must end the day before ``DAY`` and hold nothing from ``DAY`` on: a
gap would leave days out, an overlap would count them twice. Either is refused
with :class:`StateError` (the command exits 2) rather than giving findings that
look right and are not, as is a state without the calls' state (kept by an older
version).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from qalqan.analytics.calls import CALLEE_DAYS, FLAGGED_CALLS, VERDICT_STATE
from qalqan.analytics.campaign_days import (
    DEFAULT_CAMPAIGN_DAYS,
    WINDOW_CALLS,
    campaigns_of_days,
    check_days,
    read_campaign_state,
    start_campaign_days,
)
from qalqan.analytics.farms import FARM_PARTIALS, farm_partials
from qalqan.analytics.features import (
    PARTIALS,
    KeptYouth,
    Partial,
    features_from_partials,
    merge_partials,
    record_partials,
)
from qalqan.analytics.inbound import CALL_PARTIALS, call_partials, outside_calls_sql
from qalqan.analytics.kept_scores import KeptScores
from qalqan.analytics.money import money_trail
from qalqan.analytics.pipeline import Analysis
from qalqan.errors import DataSetError
from qalqan.screening.config import YOUNG_SIM_DAYS

if TYPE_CHECKING:
    from qalqan.analytics.campaigns import Campaign
    from qalqan.analytics.farms import Farm
    from qalqan.analytics.models import Models
    from qalqan.analytics.store import AnalysisStore
    from qalqan.screening.config import ScreeningConfig

__all__ = [
    "BY_FIRST_SEEN",
    "CALLS",
    "IN_PARTS",
    "KEPT",
    "LOOK_BACK",
    "MANIFEST",
    "READ_IN_PLACE",
    "YOUTH",
    "IncrementalAnalysis",
    "State",
    "StateError",
    "check_calls",
    "check_campaigns",
    "check_history",
    "features_since",
    "keep_calls",
    "keep_history",
    "load_calls",
    "load_state",
    "save_state",
    "start_state",
]

#: The file that says what a state folder covers.
MANIFEST = "manifest.json"

#: The prefix of the stored partials once read back into the connection.
STORED = "stored_"

#: Every partial a state keeps: the features', the farms' and the numbers' history.
KEPT: tuple[Partial, ...] = PARTIALS + FARM_PARTIALS + CALL_PARTIALS

#: The partials whose keys hold the day or hour of their records (``d``, ``hour_n``):
#: the sites of each SIM by day and by hour, which the young SIMs at a site on one day
#: and the farms' same-site evidence need as they are. A new day's keys cannot be in a
#: state that ends the day before, so merging is appending: each run keeps its own rows
#: as a part, and no part is written twice. The others are merged key by key and written
#: again; they hold a row per SIM, handset, pair or SIM and hour of the day, whatever
#: the days kept (a SIM's activity, ``sim_activity``, sums its days; its distinct days
#: and hours add up as the new day's are never the kept ones').
BY_DAY: frozenset[str] = frozenset({"sim_site_day", "sim_site_hour"})


#: The sets of pairs of SIMs (who called or texted whom, either way and in its direction)
#: kept a part a run like :data:`BY_DAY`, each part the pairs first seen in its run: the
#: new days' pairs that the kept parts hold already are left out of their part, so the
#: parts together hold each pair once and merging is appending again. Of the 17 million
#: rows nine days kept at 200,000 SIMs, these are 4.4 million a daily run no longer writes
#: again, nor groups: it writes the few pairs it saw first.
BY_FIRST_SEEN: frozenset[str] = frozenset({"sim_contact", "sim_to_sim"})

#: Every partial kept a part a run, read as the union of its parts (``<name>/*.parquet``).
IN_PARTS: frozenset[str] = BY_DAY | BY_FIRST_SEEN


#: The partials of :data:`BY_DAY` that a daily run reads where they are kept rather than
#: into a table: the sites by hour, which only the farm-like groups read, once, for the
#: young SIMs (a filtered read of nine days' parts costs a quarter of reading them whole).
READ_IN_PLACE: frozenset[str] = frozenset({"sim_site_hour"})


#: What the young SIMs at the kept days' sites left behind (:class:`~qalqan.analytics.features.KeptYouth`):
#: ``site_youth`` of those days and the SIMs then young (``<name>.parquet`` each). A state
#: without them (kept by an older version) has the young SIMs counted on every kept day.
YOUTH: tuple[str, ...] = ("site_youth", "young_sims")


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
    missing = sorted({p.name for p in KEPT} - names)
    if missing:
        raise StateError(f"the kept state in {folder} lacks {', '.join(missing)}")
    return state


def load_state(con: duckdb.DuckDBPyConnection, folder: Path, *, since: date) -> State:
    """Read the state that ends the day before ``since`` as ``stored_<name>`` views of the
    kept files, which the merge (:func:`merge_with_state`) reads once, where they are."""
    state = read_manifest(folder)
    state.check_before(since)
    for partial in KEPT:
        if partial.name in IN_PARTS:
            _as_first_part(folder, partial.name, state.first_day)
            _stored_view(con, partial.name, folder / partial.name / "*.parquet")
        else:
            _stored_view(con, partial.name, folder / f"{partial.name}.parquet")
    return state


def _stored_view(con: duckdb.DuckDBPyConnection, name: str, source: Path) -> None:
    """``stored_<name>``: a view of the kept Parquet file(s) ``source``, read where they are."""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {STORED}{name} AS "
        f"SELECT * FROM read_parquet('{source.as_posix()}')"
    )


def _kept_youth(
    con: duckdb.DuckDBPyConnection, folder: Path, *, since: date, new_prefix: str
) -> KeptYouth | None:
    """The kept days' young SIMs at their sites (:data:`YOUTH`) as ``stored_*`` views, or
    None when the state does not keep them."""
    if not all((folder / f"{name}.parquet").is_file() for name in YOUTH):
        return None
    for name in YOUTH:
        _stored_view(con, name, folder / f"{name}.parquet")
    site_youth, young = YOUTH
    return KeptYouth(
        site_youth=f"{STORED}{site_youth}",
        young=f"{STORED}{young}",
        site_days=f"{new_prefix}sim_site_day",
        since=since,
    )


def _keep_youth(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Write :data:`YOUTH` from this run's ``site_youth`` and ``sim_age``."""
    site_youth, young = YOUTH
    reads = {
        site_youth: "SELECT imsi, site_young_sims_per_day FROM site_youth",
        young: "SELECT imsi FROM sim_age WHERE young",
    }
    for name, sql in reads.items():
        table = con.sql(sql).to_arrow_table()
        pq.write_table(table, folder / f"{name}.parquet", compression="zstd")


def _as_first_part(folder: Path, name: str, first_day: date) -> None:
    """A partial an older version kept whole (``<name>.parquet``, of :data:`BY_FIRST_SEEN`)
    becomes the first part of its folder: it holds each of its keys once."""
    whole = folder / f"{name}.parquet"
    if whole.is_file() and not (folder / name).is_dir():
        (folder / name).mkdir()
        whole.rename(folder / name / f"{first_day.isoformat()}.parquet")


def merge_with_state(con: duckdb.DuckDBPyConnection, *, new_prefix: str) -> None:
    """``part_<name>``: the stored partials merged with those of the new days.

    Sums, minima and maxima combine the values of one key, and a set is the union of its
    keys, by a join of the stored rows to the new (:func:`_merged_sql`); a partial of
    :data:`BY_DAY` is the stored rows and the new ones, read once
    into a table (the farms read it many times), or where they are
    (:data:`READ_IN_PLACE`). Of a set of :data:`BY_FIRST_SEEN`, the new days' keys
    already kept are first dropped from ``<new_prefix><name>``, which then holds the
    keys first seen in these days (the part :func:`save_state` keeps), and the set is the
    kept keys and those.
    """
    for partial in KEPT:
        if partial.name in BY_FIRST_SEEN:
            on = " AND ".join(f"k.{key} = n.{key}" for key in partial.keys)
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {new_prefix}{partial.name} AS
                    SELECT n.* FROM {new_prefix}{partial.name} n
                    WHERE NOT EXISTS (SELECT 1 FROM {STORED}{partial.name} k WHERE {on})"""
            )
    in_parts = [p for p in KEPT if p.name in IN_PARTS]
    merge_partials(
        con, [STORED, new_prefix], partials=in_parts, appended=IN_PARTS, in_place=READ_IN_PLACE
    )
    for partial in KEPT:
        if partial.name not in IN_PARTS:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {partial.table} AS {_merged_sql(partial, new_prefix)}"
            )


def _merged_sql(partial: Partial, new_prefix: str) -> str:
    """SQL: the stored rows of ``partial`` joined to the new days' of the same key, one row a
    key with their values combined as :func:`~qalqan.analytics.features.merge_partials`
    combines them (``sum``, ``min``, ``max`` of the one or two values, null when both are).

    Each side holds a key once (a grouping made it), so the join is the merge: the new days'
    few keys are looked up as the kept rows go by, instead of grouping every kept row again
    (7.8 to 3.7 CPU s at nine days kept of 200,000 SIMs). A null in a key matches a null,
    as in a grouping.
    """
    on = " AND ".join(f"k.{key} IS NOT DISTINCT FROM n.{key}" for key in partial.keys)
    keys = ", ".join(f"coalesce(k.{key}, n.{key}) AS {key}" for key in partial.keys)
    values = "".join(
        f", {_combined(how, f'k.{col}', f'n.{col}')} AS {col}" for col, how in partial.merge.items()
    )
    return (
        f"SELECT {keys}{values} FROM {STORED}{partial.name} k "
        f"FULL JOIN {new_prefix}{partial.name} n ON {on}"
    )


def _combined(how: str, kept: str, new: str) -> str:
    """SQL: one value of a key merged from its kept and its new value, either of them null
    when absent; counts stay whole numbers of their own type."""
    if how == "sum":
        return (
            f"CAST(CASE WHEN {kept} IS NULL THEN {new} WHEN {new} IS NULL THEN {kept} "
            f"ELSE {kept} + {new} END AS BIGINT)"
        )
    return f"{_EITHER[how]}({kept}, {new})"


#: The function of two values that gives the least or greatest (the other one when one is null).
_EITHER = {"min": "least", "max": "greatest"}


def save_state(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    state: State,
    *,
    new_prefix: str | None,
    new_first_day: date,
) -> None:
    """Keep the merged ``part_*`` tables and a manifest of the days they cover.

    Of a partial of :data:`IN_PARTS`, only the new days' rows (``<new_prefix><name>``;
    of :data:`BY_FIRST_SEEN`, the keys first seen in them, :func:`merge_with_state`)
    are written, as a part of their own named by their first day (``new_first_day``)
    beside the kept ones; without ``new_prefix`` (a state started from a full run) the
    whole ``part_<name>`` is the first part. The others are written whole, in no
    particular order (what reads them groups them).
    The manifest is written last, so that a run stopped halfway leaves no state
    that claims days it does not hold.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    for partial in KEPT:
        keys = ", ".join(partial.keys)
        if partial.name in IN_PARTS:
            parts = folder / partial.name
            if new_prefix is None:
                shutil.rmtree(parts, ignore_errors=True)
                (folder / f"{partial.name}.parquet").unlink(missing_ok=True)  # an older layout
            parts.mkdir(exist_ok=True)
            table = con.sql(
                f"SELECT * FROM {new_prefix or 'part_'}{partial.name} ORDER BY {keys}"
            ).to_arrow_table()
            name = f"{new_first_day.isoformat()}.parquet"
            pq.write_table(table, parts / name, compression="zstd")
            continue
        # in the merge's order: sorting 17 million rows (nine days at 200,000 SIMs) costs
        # about as much as writing them; unsorted, the files are about twice as large (180 MB
        # against 84) and read no slower
        table = con.sql(f"SELECT * FROM {partial.table}").to_arrow_table()
        pq.write_table(table, folder / f"{partial.name}.parquet", compression="zstd")
    _keep_youth(con, folder)
    manifest = {
        "first_day": state.first_day.isoformat(),
        "last_day": state.last_day.isoformat(),
        "local_offset_h": state.local_offset_h,
        "partials": [p.name for p in KEPT],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def first_and_last_day(con: duckdb.DuckDBPyConnection, cdrs: str = "cdrs") -> tuple[date, date]:
    """The first and last day of the call records in the table named ``cdrs``."""
    (row,) = con.execute(
        f"SELECT CAST(min(start_time) AS DATE), CAST(max(start_time) AS DATE) FROM {cdrs}"
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
    cdrs: str = "cdrs",
) -> pa.Table:
    """The features of every day the state and the staged records cover, from the records of
    the days from ``since`` on only; the state then covers them too.

    The table named ``cdrs`` must hold those days alone; ``mo`` is then of those days.
    Night calls are counted with the offset from UTC the state was made with, so that
    they add up.
    """
    first, last = first_and_last_day(con, cdrs)
    if first < since:
        raise StateError(f"the data set read for --since {since} holds calls of {first}")
    state = load_state(con, folder, since=since)
    record_partials(con, local_offset_h=state.local_offset_h, prefix="new_", cdrs=cdrs)
    farm_partials(con, prefix="new_")
    call_partials(con, prefix="new_", cdrs=cdrs)
    merge_with_state(con, new_prefix="new_")
    kept_youth = _kept_youth(con, folder, since=since, new_prefix="new_")
    features = features_from_partials(con, young_sim_days=young_sim_days, kept_youth=kept_youth)
    save_state(
        con,
        folder,
        State(first_day=state.first_day, last_day=last, local_offset_h=state.local_offset_h),
        new_prefix="new_",
        new_first_day=first,
    )
    return features


def start_state(con: duckdb.DuckDBPyConnection, folder: Path, *, local_offset_h: int) -> State:
    """Keep the ``part_*`` tables of a full run as the state its next day starts from.

    The features' partials must be there (``sim_features``); the farms' and the
    numbers' history are made here from ``mo`` and ``cdrs``, and stay for this run.
    """
    farm_partials(con)
    call_partials(con)
    first, last = first_and_last_day(con)
    state = State(first_day=first, last_day=last, local_offset_h=local_offset_h)
    save_state(con, folder, state, new_prefix=None, new_first_day=first)
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


def keep_history(
    staged: Path, folder: Path, *, since: date | None, stage_kept: bool = False
) -> Path:
    """Add the staged call records to those kept in ``folder``; returns the kept file of
    the new days' records.

    Without ``since`` (a full run) the kept records start again from the staged ones.
    With ``since`` the staged ``cdrs`` reads the new days' records alone
    (:class:`IncrementalAnalysis` reads what it needs of the days before from the state),
    or with ``stage_kept`` every kept day (a full analysis over the kept records, as on
    Spark, where only the reading and checking of the days before is saved).
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
    new = parts / f"{low.isoformat()}.parquet"
    shutil.move(staged / "cdrs.parquet", new)
    if since is None or stage_kept:
        (staged / "cdrs").symlink_to(parts.resolve(), target_is_directory=True)
    else:
        (staged / "cdrs.parquet").symlink_to(new.resolve())
    kept = {"first_day": (first or low).isoformat(), "last_day": high.isoformat()}
    (folder / HISTORY).write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
    return new


#: The folder of a state that keeps what the calls' verdicts read of the days before.
CALLS = "calls"
#: The file of :data:`CALLS` that says the last day it covers (written last).
CALLS_COVERED = "covered.json"
#: The first-contact walk's kept state (:data:`~qalqan.detections.spoofing.STATE_COLUMNS`).
FIRST_CONTACT = "first_contact"
#: The prefix of the calls' kept tables once read back into the connection.
KEPT_CALLS = "kept_"
#: The days before ``--since`` whose records a daily run reads: the callee's other flagged
#: calls count this far either side, and the Wangiri bursts look back as far.
LOOK_BACK = timedelta(days=CALLEE_DAYS)


def check_calls(folder: Path, since: date) -> None:
    """Refuse unless ``folder`` keeps the calls' state (:data:`CALLS`) of the day before ``since``."""
    path = folder / CALLS / CALLS_COVERED
    if not path.is_file():
        raise StateError(
            f"the kept state in {folder} lacks what the calls' verdicts read of the days before "
            f"({CALLS}/{CALLS_COVERED} is missing; kept by an older version?): run once without --since"
        )
    try:
        last = date.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["last_day"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"{path} cannot be read: {exc}") from None
    if last != since - timedelta(days=1):
        raise StateError(
            f"the calls' kept state in {folder} ends on {last}, not on the day before {since}: "
            "run once without --since"
        )


def check_campaigns(folder: Path, since: date, days: int) -> None:
    """Refuse a window of ``days`` out of bounds, or kept campaigns that do not end the day
    before ``since`` (:mod:`~qalqan.analytics.campaign_days`), before anything is kept."""
    check_days(days)
    last = read_campaign_state(folder).last_day
    if last != since - timedelta(days=1):
        raise StateError(
            f"the kept campaigns in {folder} end on {last}, not on the day before {since}: "
            "run once without --since"
        )


def keep_calls(
    con: duckdb.DuckDBPyConnection, folder: Path, *, last_day: date, new_first_day: date, full: bool
) -> None:
    """Keep what the next day's calls read of these (:data:`CALLS`): the tables of
    :data:`~qalqan.analytics.calls.VERDICT_STATE` over every day, the first-contact walk's
    state (``first_contact_state``), and these days' flagged calls as a part of their own.

    ``full`` (a full run) starts the folder again. The file that says the last day
    covered is written last, so that a run stopped halfway leaves no state that claims
    days it does not hold.
    """
    calls = folder / CALLS
    if full:
        shutil.rmtree(calls, ignore_errors=True)
    (calls / FLAGGED_CALLS).mkdir(parents=True, exist_ok=True)
    (calls / CALLS_COVERED).unlink(missing_ok=True)
    for name in VERDICT_STATE:
        table = con.sql(f"SELECT * FROM {name} ORDER BY ALL").to_arrow_table()
        pq.write_table(table, calls / f"{name}.parquet", compression="zstd")
    table = con.sql(f"SELECT * FROM {FIRST_CONTACT}_state ORDER BY ALL").to_arrow_table()
    pq.write_table(table, calls / f"{FIRST_CONTACT}.parquet", compression="zstd")
    table = con.sql(
        f"SELECT b_number, t FROM {FLAGGED_CALLS} ORDER BY t, b_number"
    ).to_arrow_table()
    pq.write_table(
        table, calls / FLAGGED_CALLS / f"{new_first_day.isoformat()}.parquet", compression="zstd"
    )
    covered = {"last_day": last_day.isoformat()}
    (calls / CALLS_COVERED).write_text(json.dumps(covered, indent=2) + "\n", encoding="utf-8")


def load_calls(
    con: duckdb.DuckDBPyConnection, folder: Path, *, since: date, local_offset_h: int
) -> None:
    """Read what the calls from ``since`` on need of the days before, as ``kept_*`` tables.

    Those of :data:`~qalqan.analytics.calls.VERDICT_STATE` and the first-contact walk's
    state whole; of the kept flagged calls and call records, the :data:`LOOK_BACK` days
    before ``since`` only (``kept_flagged_calls``; ``kept_outside``, the calls from outside,
    as :func:`~qalqan.analytics.inbound.outside_calls_sql` reads them).
    """
    check_calls(folder, since)
    calls = folder / CALLS
    start, end = (since - LOOK_BACK).isoformat(), since.isoformat()
    reads = {
        f"{KEPT_CALLS}{name}": f"SELECT * FROM read_parquet('{(calls / name).as_posix()}.parquet')"
        for name in (*VERDICT_STATE, FIRST_CONTACT)
    }
    flagged = (calls / FLAGGED_CALLS / "*.parquet").as_posix()
    reads[f"{KEPT_CALLS}{FLAGGED_CALLS}"] = (
        f"SELECT b_number, t FROM read_parquet('{flagged}') WHERE t >= '{start}' AND t < '{end}'"
    )
    records = f"""(SELECT * FROM read_parquet('{(folder / "cdrs" / "*.parquet").as_posix()}')
                   WHERE start_time >= '{start}' AND start_time < '{end}')"""
    reads[f"{KEPT_CALLS}outside"] = outside_calls_sql(records, local_offset_h)
    for table, sql in reads.items():
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")
        except duckdb.Error as exc:
            raise StateError(f"the kept state in {folder} cannot be read: {exc}") from None


class IncrementalAnalysis(Analysis):
    """The analysis of a run with ``--state``: with ``since``, the new days' records alone.

    ``new_records`` is the kept file of this run's records (:func:`keep_history`); with
    ``since`` the store's ``cdrs`` reads it alone. The SIMs' partials are made from it and
    merged with those kept in ``state`` (:func:`features_since`), so the SIMs and farms are
    those of every day; the network's offset from UTC is the state's. ``mo`` is of the new
    days (the SIM boxes' calls judged); each farm's track reads its SIMs' calls of its
    last :data:`~qalqan.analytics.farms.TRACK_DAYS` days (``kept_mo``, a view whose
    filter on the time skips the older days' files and row groups). The calls judged are
    the new days': their facts read of the days before only what :func:`load_calls` gives.
    Without ``since`` the analysis is the full one and its partials and calls' state start
    the state.
    """

    def __init__(
        self,
        store: AnalysisStore,
        models: Models | None = None,
        *,
        config: ScreeningConfig | None = None,
        state: Path,
        since: date | None,
        new_records: Path,
        campaign_days: int = DEFAULT_CAMPAIGN_DAYS,
    ) -> None:
        super().__init__(store, models, config=config)
        self.state = state
        self.since = since
        self.new_records = new_records
        self.campaign_days = campaign_days
        """The days of fraud calls a daily run's campaigns group (:mod:`~qalqan.analytics.campaign_days`)."""
        self.kept_scores = (
            None
            if models is None
            else KeptScores(models=models, folder=state, threads=self.model_threads)
        )
        """The SIM model's answers kept in ``state`` and those of this run."""

    def score_sims(self, table: pa.Table) -> np.ndarray:
        """The SIM model's scores, asked only of the SIMs whose inputs are not those kept
        (:class:`~qalqan.analytics.kept_scores.KeptScores`)."""
        if self.kept_scores is None:
            return super().score_sims(table)
        return self.kept_scores.score(table)

    def sim_drivers(self, flagged: pa.Table, rows: list[int]) -> dict[int, str]:
        """What drove the flagged SIMs' scores, asked only of those with none kept."""
        if self.kept_scores is None:
            return super().sim_drivers(flagged, rows)
        return self.kept_scores.drivers(flagged, rows)

    def judge_sims(self) -> tuple[pa.Table, list[Farm]]:
        """:meth:`Analysis.judge_sims`; the model's answers are then kept for the next run."""
        judged = super().judge_sims()
        if self.kept_scores is not None:
            self.kept_scores.keep()
        return judged

    def prepare_sims(self) -> None:
        if self.since is None:
            super().prepare_sims()
            start_state(self.con, self.state, local_offset_h=self.local_offset_h)
            return
        con = self.con
        self.local_offset_h = read_manifest(self.state).local_offset_h
        # what the calls read of the days before, read before the partials are written anew
        load_calls(con, self.state, since=self.since, local_offset_h=self.local_offset_h)
        con.execute(
            "CREATE OR REPLACE TEMP VIEW new_cdrs AS "
            f"SELECT * FROM read_parquet('{self.new_records.as_posix()}')"
        )
        self.sim_table = features_since(
            con,
            self.state,
            since=self.since,
            young_sim_days=self.config.young_sim_days,
            cdrs="new_cdrs",
        )
        # the SIMs' own calls of every kept day, as ``mo`` holds them, for the farms' tracks
        # (which read the last days of them only)
        records = (self.state / "cdrs" / "*.parquet").as_posix()
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW kept_mo AS
                SELECT c.record_id, c.start_time AS t, c.a_imsi AS imsi, c.a_imei AS imei,
                       c.a_cell AS cell, coalesce(k.site_id, c.a_cell) AS site
                FROM read_parquet('{records}') c LEFT JOIN cells k ON k.cell_id = c.a_cell
                WHERE c.ingress = 'mobile' AND c.a_imsi IS NOT NULL"""
        )
        self.sim_calls = "kept_mo"

    def prepare_calls(self) -> None:
        """The new days' call facts from what the state keeps of the days before, which then
        keeps this run's for the next."""
        first, last = first_and_last_day(self.con)  # the new days' with ``since``
        self.call_facts(
            kept=None if self.since is None else KEPT_CALLS,
            keep_contact=f"{FIRST_CONTACT}_state",
        )
        keep_calls(
            self.con, self.state, last_day=last, new_first_day=first, full=self.since is None
        )

    def group_campaigns(self, farms: list[Farm]) -> list[Campaign]:
        """With ``since``, the campaigns of the last :attr:`campaign_days` days' fraud calls,
        with the ids they had (:func:`~qalqan.analytics.campaign_days.campaigns_of_days`);
        without, the full run's, which start the kept campaigns."""
        if self.since is not None:
            return campaigns_of_days(
                self.con, farms, self.state, since=self.since, days=self.campaign_days
            )
        campaigns = super().group_campaigns(farms)
        start_campaign_days(self.con, self.state, campaigns, days=self.campaign_days)
        return campaigns

    def money_trail(self, campaigns: list[Campaign]) -> pa.Table:
        """With ``since``, the money trail of the window's fraud calls, kept and new: a victim
        called on a kept day who pays on a new one is tied to the call."""
        if self.since is None:
            return super().money_trail(campaigns)
        return money_trail(self.con, campaigns, calls=WINDOW_CALLS)
