"""Campaigns of a daily run: the fraud calls of a window of days regrouped, with stable ids.

A daily run (``qalqan analyze --state S --since DAY``) judges the new days' calls, but one
day's fraud calls say too little to group them into call centers (an office day and week
show over several days), and grouping them afresh would renumber the campaigns every day,
while cases link a center's episodes by its campaign id. So a run with ``--state`` keeps,
in the state folder:

- ``fraud_calls/<day>.parquet``: the judged fraud calls of each of the last days (those a
  later window reaches, :data:`KEPT_COLUMNS`: what grouping reads, with each call's
  duration, so that the call records of those days are not needed again), each with the
  campaign id it was given on its day (the one ``calls.csv`` showed);
- ``campaign_marks.parquet`` (``campaign_id``, ``mark``): what each campaign of the last
  run called from that outlives a run (a SIM box's SIM, a Wangiri range, a route not
  shared out among centers; a farm's id does not, its SIMs do);
- ``campaigns.json``: the last day held, the window, the highest campaign number ever
  given and the last run's campaign ids; written last.

:func:`campaigns_of_days` is a daily run's grouping: the kept fraud calls of the ``days - 1``
days before ``since`` and the new days' fraud calls are grouped by
:func:`~qalqan.analytics.campaigns.assign_campaigns`, as a full run over those days would
group them. Each campaign found then *continues* a kept one by this rule (:func:`continue_ids`):

1. a new campaign and a kept one that share calls (kept calls of the window that were given
   the kept id on their day) are paired most shared calls first, one to one; a tie goes to
   the larger new campaign (the order :func:`assign_campaigns` lists them in), then the
   kept campaign of the lower number;
2. the new campaigns left are paired the same way with the kept campaigns left, by the
   marks they share;
3. the others are new centers: fresh ids after the highest ever given, in the order listed.

A center seen on one day and the next therefore keeps its id while its calls of the day
before are in the window (``days >= 2``); with ``days = 1`` only its marks carry it on.
A kept call keeps the id of its own day, whatever later windows made of it, so a center
that one day's grouping wrongly merged with another takes its id back the day after.

:func:`start_campaign_days` starts that state from a full run's judged calls and campaigns.

What an outsider can drive is bounded: the window is at most :data:`MAX_CAMPAIGN_DAYS`
days, the kept days are left out oldest first beyond :data:`MAX_KEPT_CALLS` kept fraud
calls (the new days' calls are always grouped: a full run would group them too), and
the grouping itself compares at most
:data:`~qalqan.analytics.campaigns.MAX_OFFICE_SOURCES` sources pairwise, its other steps
growing with the calls and their sources. The state's files are the project's own; one
that cannot be read is refused with :class:`CampaignStateError`, naming the file.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from qalqan.analytics.campaigns import CALL_CAMPAIGNS, Campaign, assign_campaigns
from qalqan.analytics.farms import Farm
from qalqan.analytics.money import CallTables
from qalqan.domain.model import CallVerdict
from qalqan.errors import DataSetError

__all__ = [
    "CAMPAIGN_MARKS",
    "CAMPAIGN_STATE",
    "DEFAULT_CAMPAIGN_DAYS",
    "FRAUD_CALLS",
    "KEPT_COLUMNS",
    "MAX_CAMPAIGN_DAYS",
    "MAX_KEPT_CALLS",
    "WINDOW_CALLS",
    "CampaignState",
    "CampaignStateError",
    "campaigns_of_days",
    "check_days",
    "continue_ids",
    "read_campaign_state",
    "start_campaign_days",
]

#: The folder of the kept fraud calls, one Parquet part a day (``<day>.parquet``).
FRAUD_CALLS = "fraud_calls"
#: What each campaign of the last run called from that outlives a run.
CAMPAIGN_MARKS = "campaign_marks.parquet"
#: The last day held, the window, the highest campaign number given, the last run's campaigns.
CAMPAIGN_STATE = "campaigns.json"

#: Days of fraud calls grouped by a daily run (``--campaign-days``).
DEFAULT_CAMPAIGN_DAYS = 7
#: The widest window a run may ask for.
MAX_CAMPAIGN_DAYS = 31
#: At most this many kept fraud calls are read into a daily run's window: beyond it the
#: oldest kept days are left out.
MAX_KEPT_CALLS = 2_000_000

#: What a kept fraud call holds for grouping: what :func:`assign_campaigns` reads, with the
#: duration (and, beside them, ``campaign_id``: the id it was given on its day).
KEPT_COLUMNS = (
    "record_id", "t", "ingress", "a_number", "b_number", "verdict", "reason_facts",
    "farm_id", "imsi", "duration_s",
)  # fmt: skip

WINDOW_CALLS = CallTables(judged="window_calls", campaigns="window_call_campaigns", durations=None)
"""What :func:`campaigns_of_days` leaves for the money trail: the window's kept and new fraud
calls, with their durations, and each one's campaign (``call_campaigns`` holds the new days')."""

_FLAGGED = f"('{CallVerdict.FRAUD}', '{CallVerdict.SPOOFED}')"
_CAMPAIGN_ID = re.compile(r"C(\d+)")
_DAY_PART = re.compile(r"(\d{4}-\d{2}-\d{2})\.parquet")


class CampaignStateError(DataSetError):
    """Kept campaigns that cannot be used for this run: absent, unreadable, a gap or an overlap,
    or a window out of bounds."""


@dataclass(frozen=True, kw_only=True)
class CampaignState:
    """What ``campaigns.json`` says."""

    last_day: date
    """The last day whose fraud calls are kept."""
    days: int
    """The window the state was kept for."""
    last_number: int
    """The highest campaign number ever given (``C0042`` is 42)."""
    campaigns: tuple[str, ...]
    """The last run's campaign ids."""


def check_days(days: int) -> int:
    """``days`` when it is a window a run may ask for; :class:`CampaignStateError` otherwise."""
    if not 1 <= days <= MAX_CAMPAIGN_DAYS:
        raise CampaignStateError(
            f"--campaign-days must be from 1 to {MAX_CAMPAIGN_DAYS}, not {days}"
        )
    return days


def read_campaign_state(folder: Path) -> CampaignState:
    """The kept campaigns' ``campaigns.json``; :class:`CampaignStateError` when there is none
    or it cannot be read."""
    path = folder / CAMPAIGN_STATE
    if not path.is_file():
        raise CampaignStateError(
            f"there are no kept campaigns in {folder} ({CAMPAIGN_STATE} is missing): run once "
            "without --since and with --state to start them"
        )
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        state = CampaignState(
            last_day=date.fromisoformat(kept["last_day"]),
            days=int(kept["days"]),
            last_number=int(kept["last_number"]),
            campaigns=tuple(str(c) for c in kept["campaigns"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CampaignStateError(f"{path} cannot be read: {exc!r}") from None
    if state.last_number < 0 or not 1 <= state.days <= MAX_CAMPAIGN_DAYS:
        raise CampaignStateError(f"{path} cannot be read: days or last_number out of range")
    return state


def _number(campaign_id: str) -> int:
    found = _CAMPAIGN_ID.fullmatch(campaign_id)
    return int(found.group(1)) if found else 0


def _campaign_id(number: int) -> str:
    return f"C{number:04d}"


def continue_ids(
    found: list[str],
    shared_calls: dict[tuple[str, str], int],
    shared_marks: dict[tuple[str, str], int],
    *,
    last_number: int,
) -> tuple[dict[str, str], int]:
    """The lasting id of each campaign ``found`` (in :func:`assign_campaigns`' order), and the
    highest number given after.

    ``shared_calls`` and ``shared_marks`` count, for (found campaign, kept campaign), the kept
    calls and the marks they share. A found campaign continues the kept one it shares most
    calls with, one to one, ties to the earlier found then the lower kept number; those left,
    the kept one left they share most marks with, alike; every other gets a fresh id after
    ``last_number``, in order.
    """
    rank = {c: i for i, c in enumerate(found)}
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for shared in (shared_calls, shared_marks):
        pairs = sorted(
            ((n, new, old) for (new, old), n in shared.items() if n > 0 and new in rank),
            key=lambda p: (-p[0], rank[p[1]], _number(p[2]), p[2]),
        )
        for _, new, old in pairs:
            if new not in ids and old not in taken:
                ids[new] = old
                taken.add(old)
    for campaign in found:
        if campaign not in ids:
            last_number += 1
            ids[campaign] = _campaign_id(last_number)
    return ids, last_number


def _parts(folder: Path) -> dict[date, Path]:
    """The kept fraud calls' parts by day; a file not named by its day is refused."""
    parts: dict[date, Path] = {}
    for path in sorted((folder / FRAUD_CALLS).glob("*.parquet")):
        named = _DAY_PART.fullmatch(path.name)
        try:
            parts[date.fromisoformat(named.group(1) if named else "")] = path
        except ValueError:
            raise CampaignStateError(
                f"{path} is not a day's kept fraud calls (named <YYYY-MM-DD>.parquet)"
            ) from None
    return parts


def _window_parts(parts: dict[date, Path], *, since: date, days: int, max_calls: int) -> list[Path]:
    """The kept parts of the ``days - 1`` days before ``since``, newest first while their
    calls stay within ``max_calls``."""
    chosen: list[Path] = []
    calls = 0
    for day in sorted(parts, reverse=True):
        if not since - timedelta(days=days - 1) <= day < since:
            continue
        try:
            rows = pq.ParquetFile(parts[day]).metadata.num_rows
        except (OSError, pa.ArrowException) as exc:
            raise CampaignStateError(f"{parts[day]} cannot be read: {exc}") from None
        if calls + rows > max_calls:
            break
        calls += rows
        chosen.append(parts[day])
    return chosen


def _select_kept(parts: list[Path]) -> str:
    """SQL: the kept fraud calls of ``parts``, each call's farm that of today's farms."""
    if not parts:
        columns = ", ".join(f"NULL AS {c}" for c in KEPT_COLUMNS)
        return f"SELECT {columns} WHERE false"
    files = ", ".join(f"'{p.as_posix()}'" for p in parts)
    others = ", ".join(f"k.{c}" for c in KEPT_COLUMNS if c != "farm_id")
    # a farm's id is given afresh each run: the kept SIM box calls take their SIM's farm of today
    return f"""
        SELECT {others}, f.farm_id
        FROM read_parquet([{files}]) k LEFT JOIN _farm_of f ON f.imsi = k.imsi
    """


def _select_new(judged: str, cdrs: str, since: date) -> str:
    """SQL: the fraud calls of ``judged`` from ``since`` on, with their durations."""
    return f"""
        SELECT j.record_id, j.t, j.ingress, j.a_number, j.b_number, j.verdict, j.reason_facts,
               j.imsi, k.duration_s, j.farm_id
        FROM {judged} j LEFT JOIN {cdrs} k USING (record_id)
        WHERE j.verdict IN {_FLAGGED} AND CAST(j.t AS DATE) >= DATE '{since.isoformat()}'
    """


_MARKS_SQL = f"""
    -- what a campaign called from that outlives a run: a SIM box's SIM, a Wangiri range,
    -- a route not shared out among centers (a farm's id and a route's parts are the run's own)
    SELECT DISTINCT cc.campaign_id,
           CASE WHEN f.imsi IS NOT NULL THEN 'sim:' || f.imsi ELSE f.source END AS mark
    FROM fraud_calls f JOIN {CALL_CAMPAIGNS} cc USING (record_id)
    WHERE f.imsi IS NOT NULL OR strpos(f.source, '#') = 0
"""


def _shared(con: duckdb.DuckDBPyConnection, sql: str) -> dict[tuple[str, str], int]:
    return {(str(a), str(b)): int(n) for a, b, n in con.execute(sql).fetchall()}


def campaigns_of_days(
    con: duckdb.DuckDBPyConnection,
    farms: list[Farm],
    folder: Path,
    *,
    since: date,
    days: int = DEFAULT_CAMPAIGN_DAYS,
    judged: str = "judged_calls",
    cdrs: str = "cdrs",
    max_kept_calls: int = MAX_KEPT_CALLS,
) -> list[Campaign]:
    """A daily run's campaigns: the fraud calls of ``days`` days up to the new ones, grouped,
    each campaign with the id of the kept campaign it continues or a fresh one.

    Reads the fraud calls of ``judged`` (the new days' judged calls; calls before ``since``
    in it are not read) with their durations from ``cdrs``, the kept calls of the window
    from ``folder`` (their farms today's ``farms``, by SIM) and the kept campaigns. Leaves
    ``call_campaigns`` holding the campaign of every fraud call from ``since`` on, and
    ``fraud_calls`` and :data:`WINDOW_CALLS` holding the window's. Returns the window's campaigns, largest first: a
    campaign's figures (calls, victims, first and last seen) are over the window. Then the
    state holds the new days' fraud calls, no day the next window will not reach, and these
    campaigns.
    """
    check_days(days)
    kept = read_campaign_state(folder)
    if kept.last_day >= since:
        raise CampaignStateError(
            f"the kept campaigns end on {kept.last_day}, which includes {since} or later: "
            "those days' calls would be counted twice"
        )
    if kept.last_day < since - timedelta(days=1):
        raise CampaignStateError(
            f"the kept campaigns end on {kept.last_day} and the run starts on {since}: the "
            "days in between would be left out"
        )
    parts = _window_parts(_parts(folder), since=since, days=days, max_calls=max_kept_calls)
    _window_calls(con, farms, parts, judged=judged, cdrs=cdrs, since=since)
    campaigns = assign_campaigns(con, WINDOW_CALLS.judged, farms, durations=None)
    shared_calls, shared_marks = _shared_with_kept(con, folder, parts)
    ids, last_number = continue_ids(
        [c.campaign_id for c in campaigns],
        shared_calls,
        shared_marks,
        last_number=kept.last_number,
    )
    _rename(con, campaigns, ids)
    last_day = _last_day(con, judged, since)
    _keep(con, folder, window_from=None, since=since, last_day=last_day, days=days)
    _write_state(folder, campaigns, last_day=last_day, days=days, last_number=last_number)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {WINDOW_CALLS.campaigns} AS SELECT * FROM {CALL_CAMPAIGNS}"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CALL_CAMPAIGNS} AS
            SELECT cc.* FROM {CALL_CAMPAIGNS} cc JOIN {WINDOW_CALLS.judged} w USING (record_id)
            WHERE CAST(w.t AS DATE) >= DATE '{since.isoformat()}'"""
    )
    return campaigns


def _window_calls(
    con: duckdb.DuckDBPyConnection,
    farms: list[Farm],
    parts: list[Path],
    *,
    judged: str,
    cdrs: str,
    since: date,
) -> None:
    """TEMP TABLE ``window_calls``: the kept fraud calls of ``parts`` and the new ones."""
    con.register(
        "_farm_of",
        pa.table(
            {
                "imsi": pa.array([i for f in farms for i in f.imsis], pa.string()),
                "farm_id": pa.array([f.farm_id for f in farms for _ in f.imsis], pa.string()),
            }
        ),
    )
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {WINDOW_CALLS.judged} AS
                {_select_kept(parts)} UNION ALL BY NAME {_select_new(judged, cdrs, since)}"""
        )
    except duckdb.Error as exc:
        where = ", ".join(p.name for p in parts) or "none kept"
        raise CampaignStateError(
            f"the window's fraud calls cannot be read (kept: {where}): {exc}"
        ) from None
    finally:
        con.unregister("_farm_of")


def _shared_with_kept(
    con: duckdb.DuckDBPyConnection, folder: Path, parts: list[Path]
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """For each (campaign found, kept campaign): the kept calls of ``parts`` the found one
    holds that were given the kept id on their day, and the marks they share."""
    marks_file = folder / CAMPAIGN_MARKS
    files = ", ".join(f"'{p.as_posix()}'" for p in parts)
    try:
        shared_calls = (
            _shared(
                con,
                f"""SELECT n.campaign_id, o.campaign_id, count(*)
                    FROM {CALL_CAMPAIGNS} n JOIN read_parquet([{files}]) o USING (record_id)
                    GROUP BY 1, 2""",
            )
            if parts
            else {}
        )
        shared_marks = _shared(
            con,
            f"""SELECT n.campaign_id, o.campaign_id, count(*)
                FROM ({_MARKS_SQL}) n JOIN read_parquet('{marks_file.as_posix()}') o USING (mark)
                GROUP BY 1, 2""",
        )
    except duckdb.Error as exc:
        raise CampaignStateError(f"the kept campaigns in {folder} cannot be read: {exc}") from None
    return shared_calls, shared_marks


def _rename(con: duckdb.DuckDBPyConnection, campaigns: list[Campaign], ids: dict[str, str]) -> None:
    """Give the campaigns and ``call_campaigns`` their lasting ids."""
    con.register("_lasting", pa.table({"found": list(ids), "lasting": list(ids.values())}))
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {CALL_CAMPAIGNS} AS
                SELECT cc.record_id, l.lasting AS campaign_id
                FROM {CALL_CAMPAIGNS} cc JOIN _lasting l ON l.found = cc.campaign_id"""
        )
    finally:
        con.unregister("_lasting")
    for campaign in campaigns:
        campaign.campaign_id = ids[campaign.campaign_id]


def _last_day(con: duckdb.DuckDBPyConnection, judged: str, since: date) -> date:
    """The last day of the judged calls from ``since`` on (``since`` when there are none)."""
    [(last,)] = con.execute(
        f"SELECT max(CAST(t AS DATE)) FROM {judged} WHERE CAST(t AS DATE) >= DATE '{since.isoformat()}'"
    ).fetchall()
    return last if isinstance(last, date) else since


def _keep(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    window_from: str | None,
    since: date | None,
    last_day: date,
    days: int,
) -> None:
    """Write the fraud calls of the new days (from ``since``; every day of ``window_from``
    when starting), each with its campaign, a part a day; drop the parts the next window
    will not reach; and keep the marks of every campaign of the window."""
    first_kept = last_day - timedelta(days=days - 2)
    store = folder / FRAUD_CALLS
    if window_from is not None:
        shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True, exist_ok=True)
    source = window_from or WINDOW_CALLS.judged
    start = first_kept if since is None else max(first_kept, since)
    columns = ", ".join(f"w.{c}" for c in KEPT_COLUMNS)
    for (day,) in con.execute(
        f"""SELECT DISTINCT CAST(t AS DATE) FROM {source}
            WHERE CAST(t AS DATE) >= DATE '{start.isoformat()}' ORDER BY 1"""
    ).fetchall():
        table = con.sql(
            f"""SELECT {columns}, cc.campaign_id
                FROM {source} w LEFT JOIN {CALL_CAMPAIGNS} cc USING (record_id)
                WHERE CAST(w.t AS DATE) = DATE '{day.isoformat()}'
                ORDER BY w.t, w.record_id"""
        ).to_arrow_table()
        pq.write_table(table, store / f"{day.isoformat()}.parquet", compression="zstd")
    for day, path in _parts(folder).items():
        if day < first_kept:
            path.unlink()
    marks = con.sql(f"SELECT * FROM ({_MARKS_SQL}) ORDER BY 1, 2").to_arrow_table()
    pq.write_table(marks, folder / CAMPAIGN_MARKS, compression="zstd")


def _write_state(
    folder: Path, campaigns: list[Campaign], *, last_day: date, days: int, last_number: int
) -> None:
    """``campaigns.json``, written whole and then put in place."""
    kept = {
        "last_day": last_day.isoformat(),
        "days": days,
        "last_number": last_number,
        "campaigns": [c.campaign_id for c in campaigns],
    }
    path = folder / CAMPAIGN_STATE
    draft = path.with_suffix(".json.new")
    draft.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
    draft.replace(path)


def start_campaign_days(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    campaigns: list[Campaign],
    *,
    days: int = DEFAULT_CAMPAIGN_DAYS,
    judged: str = "judged_calls",
    cdrs: str = "cdrs",
) -> CampaignState:
    """Start the kept campaigns from a full run: its fraud calls of the last ``days - 1`` days
    (from ``judged``, durations from ``cdrs``), ``call_campaigns`` and ``campaigns`` as
    :func:`assign_campaigns` left them. Numbers go on after the highest of theirs."""
    check_days(days)
    (folder / CAMPAIGN_STATE).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _kept_calls AS
            SELECT j.record_id, j.t, j.ingress, j.a_number, j.b_number, j.verdict, j.reason_facts,
                   j.farm_id, j.imsi, k.duration_s
            FROM {judged} j LEFT JOIN {cdrs} k USING (record_id)
            WHERE j.verdict IN {_FLAGGED}"""
    )
    [(last,)] = con.execute(f"SELECT max(CAST(t AS DATE)) FROM {judged}").fetchall()
    if not isinstance(last, date):
        raise CampaignStateError("the full run judged no call: there is no day to keep from")
    _keep(con, folder, window_from="_kept_calls", since=None, last_day=last, days=days)
    state = CampaignState(
        last_day=last,
        days=days,
        last_number=max(
            [_number(c.campaign_id) for c in campaigns]
            + [
                _number(str(c))
                for (c,) in con.execute(
                    f"SELECT DISTINCT campaign_id FROM {CALL_CAMPAIGNS}"
                ).fetchall()
            ],
            default=0,
        ),
        campaigns=tuple(c.campaign_id for c in campaigns),
    )
    _write_state(folder, campaigns, last_day=last, days=days, last_number=state.last_number)
    return state
