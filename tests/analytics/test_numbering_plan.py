"""The engine's number facts are ``describe``'s, number for number.

The query of :mod:`qalqan.analytics.numbering_plan` replaces ``phonenumbers`` per
number in the batch analysis; it must give the same region, validity and kind as
:func:`qalqan.domain.numbers.describe`, which the real-time engine keeps using. The
numbers below are drawn to reach every branch of ``phonenumbers``' reading: every
country calling code, unassigned codes, numbers made from each region's example
numbers (valid ones, one digit off, cut short, too long), national prefixes and
transform rules written after the country code, and +7's Kazakh and Russian ranges.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import phonenumbers
import pyarrow as pa
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata

from qalqan.analytics.numbering import number_facts
from qalqan.analytics.numbering_plan import country_codes, number_facts_sql, numbering_plan
from qalqan.domain.numbers import E164_PATTERN, describe

CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
UNASSIGNED = [c for c in range(1, 1000) if c not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]


def _examples() -> list[tuple[int, str]]:
    """(country code, national number) of every example number in the metadata."""
    found = []
    for row in numbering_plan().to_pylist():
        meta = PhoneMetadata.metadata_for_region_or_calling_code(row["country_code"], row["region"])
        for name in dir(meta):
            desc = getattr(meta, name, None)
            example = getattr(desc, "example_number", None)
            if isinstance(example, str) and example:
                found.append((row["country_code"], example))
    return sorted(set(found))


EXAMPLES = _examples()
PLAIN_PREFIXES = ["0", "8", "1", "9", "90", "015", "0011", "0549", "00037680", "06"]


def _e164(code: int, national: str) -> str | None:
    """``+code national`` when that is written as E.164 (7 to 15 digits), else None."""
    number = f"+{code}{national}"
    return number if re.match(E164_PATTERN, number) else None


digits = st.text(alphabet="0123456789", min_size=1, max_size=14)


@st.composite
def national_numbers(draw: st.DrawFn) -> tuple[int, str]:
    """A country code and national digits, often close to an allocated number."""
    how = draw(st.sampled_from(["example", "mutated", "random", "prefixed", "plus7"]))
    code, example = draw(st.sampled_from(EXAMPLES))
    if how == "example":
        return code, example
    if how == "mutated":
        at = draw(st.integers(0, len(example)))
        cut = draw(st.integers(0, 2))
        return code, example[:at] + draw(st.text("0123456789", max_size=2)) + example[at + cut :]
    if how == "prefixed":
        return code, draw(st.sampled_from(PLAIN_PREFIXES)) + example
    if how == "plus7":
        lead = draw(st.sampled_from(["6", "7", "8", "9", "3", "4", "0", "00", "07", "5"]))
        return 7, lead + draw(st.text("0123456789", min_size=0, max_size=11))
    code = draw(st.sampled_from(CODES + UNASSIGNED))
    return code, draw(digits)


def _facts(numbers: list[str], *, codes: bool = True) -> dict[str, tuple[object, ...]]:
    con = duckdb.connect()
    con.register("drawn", pa.table({"number": numbers}))
    selection = country_codes(n[1:4] for n in numbers) if codes else None
    sql = number_facts_sql("SELECT DISTINCT number FROM drawn", selection)
    rows = con.execute(sql, ["KZ"]).fetchall()
    return {
        number: (region, valid, kind, domestic) for number, region, valid, kind, domestic in rows
    }


def _described(number: str) -> tuple[object, ...]:
    info = describe(number)
    return (info.region, info.valid, info.kind, info.region == "KZ")


def _assert_same(numbers: list[str], **kwargs: bool) -> None:
    facts = _facts(numbers, **kwargs)
    differ = {n: (facts[n], _described(n)) for n in set(numbers) if facts[n] != _described(n)}
    assert not differ, f"engine (left) and describe (right) differ: {differ}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(national_numbers(), min_size=1, max_size=80))
def test_engine_facts_are_describes_for_drawn_numbers(drawn: list[tuple[int, str]]) -> None:
    numbers = [n for n in (_e164(code, national) for code, national in drawn) if n]
    if numbers:
        _assert_same(numbers)


def test_every_example_number_of_every_region_with_the_whole_plan() -> None:
    """Every type's example number of every region, and each one digit longer and shorter."""
    numbers = set()
    for code, example in EXAMPLES:
        for national in (example, example + "5", example[:-1], "0" + example):
            number = _e164(code, national)
            if number:
                numbers.add(number)
    _assert_same(sorted(numbers), codes=False)


def test_national_prefixes_and_transform_rules_after_the_country_code() -> None:
    """+54 9 11…, +55 0 xx…, +81 0…, +261 0…: what ``parse`` strips, the query strips."""
    numbers = set()
    for code, example in EXAMPLES:
        for prefix in [*PLAIN_PREFIXES, "01115", "9015", "0001"]:
            number = _e164(code, prefix + example)
            if number:
                numbers.add(number)
    _assert_same(sorted(numbers))


def test_numbers_without_a_country_code_have_no_region() -> None:
    facts = _facts(["+2891234567", "+8091234567", "+9991234567"])
    assert {f[:3] for f in facts.values()} == {(None, False, "unknown")}


def test_the_query_transpiles_to_spark_with_its_patterns_intact() -> None:
    """Spark reads the anchored patterns with RLIKE; none is lost or left DuckDB-only."""
    sql = number_facts_sql("SELECT DISTINCT number FROM drawn", (7, 54, 55))
    (spark,) = sqlglot.transpile(sql, read="duckdb", write="spark")
    assert "REGEXP_MATCHES" not in spark.upper()
    assert spark.count(" RLIKE ") == sql.count("regexp_matches(")


@pytest.fixture(scope="module", params=[None, "another-country"])
def simulated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from qalqan.simulator.config import load_scenario
    from qalqan.simulator.operator import simulate

    out = tmp_path_factory.mktemp("operator")
    scenario = load_scenario(None, family=request.param, subscribers=5000, days=2, seed=3)
    simulate(out, scenario, fmt="csv")
    return out


def test_every_calling_number_of_a_simulated_operator(simulated: Path) -> None:
    """Every number of the simulated operator's call records, both sides, from anywhere."""
    con = duckdb.connect()
    files = sorted(str(p) for p in simulated.glob("cdrs*"))
    con.execute(
        "CREATE TABLE cdrs AS SELECT a_number, ingress FROM read_csv(?, all_varchar = true)"
        " UNION ALL SELECT b_number, 'international' FROM read_csv(?, all_varchar = true)",
        [files, files],
    )
    number_facts(con, "numbers", "KZ")
    rows = con.execute("SELECT number, region, valid, kind FROM numbers").fetchall()
    assert len(rows) > 1000
    differ = [r for r in rows if r[1:] != _described(r[0])[:3]]
    assert not differ
