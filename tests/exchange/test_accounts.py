"""exchange-v1.1's optional ``accounts`` table: who holds the accounts that payments name.

A data set without it is as valid as ever; a data set with it has every row checked like the
other tables' (file, line and reason, the rejected rows quarantined), including that an
account is written as its kind is (a card or bank account is ``bank:``, a SIM's balance
``msisdn:``).
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.domain.numbers import E164_PATTERN
from qalqan.exchange.reader import DataSet
from qalqan.exchange.schema import ACCOUNT_KINDS, ACCOUNT_PREFIXES
from tests.exchange.rows import accepted, cdr, data_set, quarantined, validate, write

HEADER = "account,holder_msisdn,bank,kind,opened"


def accounts(directory: Path, *lines: str, header: str = HEADER) -> Path:
    data_set(directory, cdr("r1"))
    return write(directory, "accounts.csv", "\n".join([header, *lines]) + "\n")


def test_a_data_set_without_accounts_is_as_valid_as_before(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    report, _ = validate(tmp_path)
    assert report.tables["cdrs"].ok
    assert "accounts" in report.absent and "accounts" not in report.tables
    assert accepted(tmp_path, "accounts").num_rows == 0


def test_valid_accounts_are_read_with_their_types(tmp_path: Path) -> None:
    accounts(
        tmp_path,
        "bank:KZ123456789012345678,+77011234567,Halyk,card,2019-05-01",
        "bank:KZ999,,Kaspi,bank_account,",
        "msisdn:+77021234567,+77021234567,Qalqan Mobile,sim_balance,",
        "ewallet:0012345678,+77011234567,Kaspi Gold,ewallet,2025-01-31",
        "crypto:TXyz123,,,crypto,",
    )
    report, _ = validate(tmp_path)
    assert report.tables["accounts"].ok, report.tables["accounts"].errors
    table = accepted(tmp_path, "accounts")
    assert table.column("kind").to_pylist() == [
        "card",
        "bank_account",
        "sim_balance",
        "ewallet",
        "crypto",
    ]
    assert table.column("holder_msisdn").to_pylist()[:2] == ["+77011234567", None]
    assert table.column("opened").to_pylist()[0] == date(2019, 5, 1)
    assert table.column("bank").to_pylist()[-1] is None


def test_opened_is_optional(tmp_path: Path) -> None:
    accounts(tmp_path, "bank:KZ1,+77011234567,Halyk,card", header="account,holder_msisdn,bank,kind")
    report, _ = validate(tmp_path)
    assert report.tables["accounts"].ok
    assert accepted(tmp_path, "accounts").column("opened").to_pylist() == [None]


def test_broken_rows_are_quarantined_with_file_line_and_reason(tmp_path: Path) -> None:
    accounts(
        tmp_path,
        "bank:KZ1,+77011234567,Halyk,card,",  # 2: fine
        "bank:KZ2,87011234567,Halyk,card,",  # 3: holder not E.164
        "bank:KZ3,,Halyk,savings,",  # 4: unknown kind
        "msisdn:+77011234567,,Halyk,card,",  # 5: a card is not a SIM's balance
        "KZ4,,Halyk,bank_account,",  # 6: no prefix
        "bank:KZ1,,Halyk,card,",  # 7: the same account again
        "bank:KZ5,,Halyk,card,2019-02-30",  # 8: no such day: left empty, the row kept
    )
    report, quarantine = validate(tmp_path)
    table = report.tables["accounts"]
    assert (table.rows_read, table.rows_accepted, table.rows_rejected) == (7, 2, 5)
    rows = {int(r["line"]): r for r in quarantined(quarantine, "accounts")}
    assert sorted(rows) == [3, 4, 5, 6, 7]
    assert {r["file"] for r in rows.values()} == {"accounts.csv"}
    assert "holder_msisdn '87011234567' is not an E.164 number" in rows[3]["reason"]
    assert "kind 'savings'" in rows[4]["reason"]
    assert "account 'msisdn:+77011234567' is not written as its kind 'card' is" in rows[5]["reason"]
    assert "account 'KZ4' is not an account" in rows[6]["reason"]
    assert "bank:KZ1" in rows[7]["reason"] and "line 2" in rows[7]["reason"]
    [warning] = table.warning_examples
    assert (warning.line, warning.column) == (8, "opened")
    kept = accepted(tmp_path, "accounts").column("account").to_pylist()
    assert kept == ["bank:KZ1", "bank:KZ5"]


def test_an_analysis_folder_with_its_money_trail_is_still_a_folder_of_outputs(
    tmp_path: Path,
) -> None:
    """``accounts.csv`` among Qalqan's outputs is the money trail, not the operator's table."""
    write(tmp_path, "calls.csv", "record_id,verdict,campaign_id,reasons\nr1,clear,,\n")
    write(tmp_path, "accounts.csv", "account,role,verdict\nbank:KZ1,collector,mule\n")
    report = DataSet.open(tmp_path).validate(quarantine_dir=tmp_path / "q")
    assert set(report.tables) == {"calls"} and not report.absent


# --- property: whatever the rows, each is accepted exactly when the contract allows it -----

_prefixes = sorted(set(ACCOUNT_PREFIXES.values()))
_ids = st.text("ABCKZ0123456789", min_size=1, max_size=6)
_e164 = st.from_regex(E164_PATTERN, fullmatch=True)
_account = st.one_of(
    st.builds(lambda p, i: p + i, st.sampled_from([p for p in _prefixes if p != "msisdn:"]), _ids),
    _e164.map(lambda n: "msisdn:" + n),
    _ids,  # no prefix
    st.builds(lambda p, i: p + " " + i, st.sampled_from(_prefixes), _ids),  # a space inside
)
_rows = st.lists(
    st.tuples(
        _account,
        st.one_of(st.just(""), _e164, st.sampled_from(["87011234567", "+0123", "+7 701"])),
        st.sampled_from(["", "Halyk", "Kaspi, Gold", 'Bank "One"']),
        st.sampled_from([*ACCOUNT_KINDS, "savings", "CARD", ""]),
    ),
    max_size=25,
)


def _allowed(account: str, holder: str, kind: str) -> bool:
    well_formed = re.fullmatch(
        r"(bank:\S+|msisdn:\+[1-9][0-9]{6,14}|ewallet:\S+|crypto:\S+)", account
    )
    holder_ok = holder == "" or re.fullmatch(E164_PATTERN, holder) is not None
    of_kind = kind in ACCOUNT_PREFIXES and account.startswith(ACCOUNT_PREFIXES[kind])
    return bool(well_formed) and holder_ok and of_kind


def _csv(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"') else cell


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows)
def test_each_accounts_row_is_accepted_exactly_when_the_contract_allows_it(
    rows: list[tuple[str, str, str, str]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        accounts(directory, *(",".join(_csv(c) for c in (*row, "")) for row in rows))
        report, quarantine = validate(directory)
        seen: set[str] = set()
        expected_kept: list[str] = []
        expected_lines: list[int] = []
        for line, (account, holder, _, kind) in enumerate(rows, start=2):
            if _allowed(account, holder, kind) and account not in seen:
                seen.add(account)
                expected_kept.append(account)
            else:
                expected_lines.append(line)
        table = report.tables["accounts"]
        assert table.rows_read == len(rows)
        assert table.rows_accepted + table.rows_rejected == len(rows)
        kept = accepted(directory, "accounts").column("account").to_pylist()
        assert kept == expected_kept
        held = quarantine / "accounts.csv"
        lines = (
            [int(r["line"]) for r in quarantined(quarantine, "accounts")] if held.exists() else []
        )
        assert lines == expected_lines
