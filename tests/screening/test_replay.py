"""`qalqan replay`: time order, never the future, the exchange-v1 output, and the figures on a simulated operator."""

from __future__ import annotations

import csv
import json
import shutil
import string
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.domain.messages import MESSAGES, parse_reasons, reasons_cell, render
from qalqan.domain.model import Reason
from qalqan.exchange.reader import DataSet, read_file
from qalqan.exchange.schema import CDRS, DECISIONS
from qalqan.exchange.writer import write_table
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.farm_watch import FarmWatch
from qalqan.screening.replay import ReplaySummary, _DecisionWriter, replay, score_replay
from qalqan.screening.reputation import ReputationLists
from qalqan.simulator.operator import SimulationSummary
from tests.screening.conftest import make_subscribers

REFERENCE = ("cells", "subscribers", "roaming", "registry")


@pytest.fixture(scope="module")
def replayed(
    small_operator: SimulationSummary, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ReplaySummary]:
    out = tmp_path_factory.mktemp("replay") / "decisions.csv"
    return out, replay(small_operator.out_dir, out)


def _decisions(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _copy_reference(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in REFERENCE:
        shutil.copy(source / f"{name}.csv", target / f"{name}.csv")


def test_decisions_csv_follows_the_exchange_format(
    small_operator: SimulationSummary, replayed: tuple[Path, ReplaySummary], tmp_path: Path
) -> None:
    out, summary = replayed
    with read_file(out, DECISIONS, quarantine=tmp_path / "q") as reader:
        table = reader.read_all()
        report = reader.report
    assert report.rows_rejected == 0 and report.rows_read == table.num_rows
    assert table.column_names[: len(DECISIONS.names)] == list(DECISIONS.names)
    cdrs = DataSet.open(small_operator.out_dir).read_all("cdrs")
    assert table.num_rows == cdrs.num_rows == summary.attempts
    assert set(table.column("record_id").to_pylist()) == set(cdrs.column("record_id").to_pylist())
    # In replay order: by start time.
    start = dict(
        zip(
            cdrs.column("record_id").to_pylist(), cdrs.column("start_time").to_pylist(), strict=True
        )
    )
    times = [start[r] for r in table.column("record_id").to_pylist()]
    assert times == sorted(times)
    # Every non-allow decision says why.
    blank = pc.and_(
        pc.not_equal(table.column("action"), "allow"), pc.is_null(table.column("reasons"))
    )
    assert not pc.any(blank).as_py()


def test_reason_facts_follow_the_exchange_columns_and_agree_with_the_reasons_text(
    replayed: tuple[Path, ReplaySummary], tmp_path: Path
) -> None:
    """``reason_facts`` is the last column; rendered in English it gives the ``reasons`` text."""
    out, _ = replayed
    with out.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == list(DECISIONS.names) and header[-1] == "reason_facts"
    with read_file(out, DECISIONS, quarantine=tmp_path / "q") as reader:
        table = reader.read_all()
    assert table.column_names == list(DECISIONS.names)
    keys = set()
    for text, cell in zip(
        table.column("reasons").to_pylist(), table.column("reason_facts").to_pylist(), strict=True
    ):
        said = parse_reasons(cell)
        assert (text is None) == (not said)
        if said:
            assert " | ".join(f"{r.rule}: {render(r.key, r.facts_dict())}" for r in said) == text
            keys |= {r.key for r in said}
    assert keys <= set(MESSAGES) and len(keys) >= 8


def test_a_decisions_file_without_reason_facts_still_reads(
    replayed: tuple[Path, ReplaySummary], tmp_path: Path
) -> None:
    """Files written before the column (or by other tools) read as before; a cell parses to []."""
    out, _ = replayed
    older = tmp_path / "decisions.csv"
    with out.open(newline="", encoding="utf-8") as source, older.open("w", newline="") as target:
        writer = csv.writer(target)
        for row in csv.reader(source):
            writer.writerow(row[: len(DECISIONS.names)])
    with read_file(older, DECISIONS, quarantine=tmp_path / "q") as reader:
        table = reader.read_all()
        assert reader.report.rows_rejected == 0
    assert table.column_names == list(DECISIONS.names)
    assert parse_reasons(None) == []


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@st.composite
def _reason(draw: st.DrawFn) -> Reason:
    """A reason as the engine gives one: a catalog key with its facts, or free text."""
    rule = draw(_TEXT.filter(str.strip))
    weight = draw(st.floats(-2, 2, allow_nan=False))
    key = draw(st.one_of(st.just(""), st.sampled_from(sorted(MESSAGES))))
    if not key:
        return Reason(rule=rule, weight=weight, detail=draw(_TEXT))
    names = {name for _, name, _, _ in string.Formatter().parse(MESSAGES[key]["en"]) if name}
    return Reason.said(rule, weight, key, **{name: draw(_TEXT) for name in sorted(names)})


_REASONS = st.lists(_reason(), max_size=4)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_REASONS, min_size=1, max_size=5))
def test_reason_facts_read_back_from_the_csv_the_replay_writes(
    rows: list[list[Reason]], tmp_path: Path
) -> None:
    """Quotes, commas, line breaks, any Unicode in facts: the cell survives CSV and reads back."""
    path = tmp_path / "decisions.csv"
    writer = _DecisionWriter(path)
    for i, reasons in enumerate(rows):
        writer.add(f"r{i}", "warn", 0.5, "text" if reasons else None, 1.0, reasons_cell(reasons))
    writer.close()
    with read_file(path, DECISIONS) as reader:
        cells = reader.read_all().column("reason_facts").to_pylist()
    assert [parse_reasons(cell) for cell in cells] == rows


def test_the_replay_meets_the_targets_on_a_simulated_operator(
    small_operator: SimulationSummary, replayed: tuple[Path, ReplaySummary]
) -> None:
    out, summary = replayed
    score = score_replay(out, small_operator.out_dir, small_operator.out_dir / "truth")
    assert score.fraud_calls > 1000 and score.legit_inbound > 500 and score.roaming_calls > 0
    assert score.interception_rate >= 0.85, score.fraud_by_group
    assert score.legit_touched_rate <= 0.005, score.touched_by_group
    assert score.roaming_blocked == 0
    assert summary.farm_watch_runs >= 40 and summary.listings_added > 0


def test_a_decision_never_depends_on_what_came_after_it(
    small_operator: SimulationSummary, tmp_path: Path
) -> None:
    """Shuffle cdrs, replay it whole and cut after the k-th attempt in time order: the first k agree."""
    source = small_operator.out_dir
    cdrs = DataSet.open(source).read_all("cdrs")
    shuffled = cdrs.take(pa.array(np.random.default_rng(3).permutation(cdrs.num_rows)))
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    for folder in (whole, cut):
        _copy_reference(source, folder)
    write_table(whole, CDRS, shuffled, fmt="parquet")
    # Time order with ties in file order, as the replay sorts.
    times = shuffled.column("start_time").cast(pa.int64()).to_numpy()
    order = np.lexsort((np.arange(len(times)), times))
    k = len(order) * 2 // 5
    keep = np.sort(order[:k])  # the first k attempts in time order, in their file order
    write_table(cut, CDRS, shuffled.take(pa.array(keep)), fmt="csv")

    replay(whole, tmp_path / "whole.csv")
    replay(cut, tmp_path / "cut.csv")
    full, partial = _decisions(tmp_path / "whole.csv"), _decisions(tmp_path / "cut.csv")
    assert len(partial) == k
    fields = ("record_id", "action", "score", "reasons")
    assert [tuple(r[f] for f in fields) for r in full[:k]] == [
        tuple(r[f] for f in fields) for r in partial
    ]
    assert any(r["action"] != "allow" for r in partial)


def test_lists_known_before_the_replay_are_used_from_the_start(
    small_operator: SimulationSummary, tmp_path: Path
) -> None:
    cdrs = DataSet.open(small_operator.out_dir).read_all("cdrs")
    first = cdrs.slice(0, 1).to_pylist()[0]
    lists = tmp_path / "partner.csv"
    lists.write_text(
        f"kind,value,source,reason\nnumber,{first['b_number']},a partner,test\n", encoding="utf-8"
    )
    known = ReputationLists()
    known.load_csv(lists)
    replay(small_operator.out_dir, tmp_path / "d.csv", lists=known, analyze_every_s=None)
    by_id = {r["record_id"]: r for r in _decisions(tmp_path / "d.csv")}
    called_back = [r for r in cdrs.to_pylist() if r["a_number"] == first["b_number"]]
    assert called_back, "the simulated callee never calls anyone"
    assert all("a partner" in (by_id[r["record_id"]]["reasons"] or "") for r in called_back)


def test_the_replay_command(small_operator: SimulationSummary, tmp_path: Path) -> None:
    out = tmp_path / "out" / "decisions.csv"
    result = CliRunner().invoke(
        app,
        ["replay", str(small_operator.out_dir), "--out", str(out), "--truth",
         str(small_operator.out_dir / "truth"), "--analyze-every", "30m", "--json", "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["attempts"] == len(_decisions(out))
    assert figures["truth"]["roaming_blocked"] == 0
    assert figures["truth"]["interception_rate"] >= 0.85


def test_rows_that_break_the_contract_are_quarantined_and_the_rest_replayed(
    small_operator: SimulationSummary, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    _copy_reference(small_operator.out_dir, data)
    lines = (small_operator.out_dir / "cdrs.csv").read_text(encoding="utf-8").splitlines()[:200]
    lines.insert(
        5, '"bad1","yesterday",0,"voice","answered","+77011234567","+77011234568","mobile",,,,,,,'
    )
    (data / "cdrs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "decisions.csv"
    result = CliRunner().invoke(app, ["replay", str(data), "--out", str(out), "--quiet"])
    assert result.exit_code == 1
    assert len(_decisions(out)) == 199
    assert "bad1" in (tmp_path / "quarantine" / "cdrs.csv").read_text(encoding="utf-8")


def test_bad_options_are_reported(small_operator: SimulationSummary, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["replay", str(small_operator.out_dir), "--analyze-every", "soon"])
    assert result.exit_code == 2
    result = runner.invoke(
        app, ["replay", str(tmp_path / "absent"), "--out", str(tmp_path / "d.csv")]
    )
    assert result.exit_code == 2


def test_the_batch_detector_lists_only_from_the_moment_it_runs() -> None:
    subscribers = make_subscribers()
    watch = FarmWatch(subscribers)
    lists = ReputationLists()
    for i in range(4):
        watch.add(t=1000.0 + i, caller=f"+7702555{i:04d}", callee=f"+770120{i:02d}{i:03d}",
                  imsi=f"40177555000{i:04d}", imei="35875908000001", site="S001")  # fmt: skip
    assert watch.run(3600.0, lists) > 0
    listing = lists.imeis["35875908000001"]
    assert listing.since == 3600.0 and not listing.applies(3599.0)
    assert "carried 4 SIMs in one day" in listing.reason
    # Three SIMs of the batch are listed: the rest of the box is listed before it is used.
    assert "401775550000019" in lists.imsis
    assert "same activation batch" in lists.imsis["401775550000019"].reason


def test_an_engine_from_a_data_set_knows_its_network(small_operator: SimulationSummary) -> None:
    engine = ScreeningEngine.from_dataset(small_operator.out_dir)
    assert len(engine.subscribers) >= 600 and len(engine.protected) > 0
    assert engine.subscribers.roaming and engine.env.home_region == "KZ"
