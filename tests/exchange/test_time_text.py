"""Times in CSV: the text of whole seconds, put together from each day's date and a clock of
every second of a day, is the text Arrow's ``strftime`` gives each time, before 1970 too."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given
from hypothesis import strategies as st

from qalqan.exchange.writer import to_csv_text_columns

_seconds = st.lists(st.one_of(st.none(), st.integers(-(10**11), 10**11)), max_size=300)


@given(seconds=_seconds, unit=st.sampled_from(["s", "ms", "us"]))
def test_whole_seconds_are_written_as_strftime_writes_them(
    seconds: list[int | None], unit: str
) -> None:
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000}[unit]
    times = pa.array(
        [None if s is None else s * per_second for s in seconds], pa.timestamp(unit, tz="UTC")
    )
    written = to_csv_text_columns(pa.RecordBatch.from_arrays([times], names=["t"])).column(0)
    expected = pc.strftime(pc.cast(times, pa.timestamp("s", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")
    assert written.equals(expected)


def test_a_day_of_calls_reads_as_iso_8601() -> None:
    times = pa.array([1_772_409_600, 1_772_409_600 + 86_399, None], pa.timestamp("s", tz="UTC"))
    written = to_csv_text_columns(pa.RecordBatch.from_arrays([times], names=["t"])).column(0)
    assert written.to_pylist() == ["2026-03-02T00:00:00Z", "2026-03-02T23:59:59Z", None]
