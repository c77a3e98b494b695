"""Reputation lists from `qalqan analyze` output and from partners' CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest

from qalqan.errors import ConfigError, UnreadableFileError
from qalqan.screening.network import Subscribers
from qalqan.screening.reputation import Listing, ReputationLists


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_findings_of_qalqan_analyze_become_listings(tmp_path: Path) -> None:
    _write(
        tmp_path / "sims.csv",
        "imsi,msisdn,score,verdict,farm_id,reasons\n"
        '"401770000000001","+77011111111",0.98,"simbox","F0001","x"\n'
        '"401770000000002","+77011111112",0.3,"suspect",,\n'
        '"401770000000003","+77011111113",0.0,"clear",,\n',
    )
    _write(
        tmp_path / "farms.csv",
        "farm_id,n_sims,imeis,lat,lon,first_seen,last_seen,sites,cells,score,reasons\n"
        '"F0001",3,"353325102745886;353325103097154",47.1,51.8,"2026-03-02T05:07:39Z",'
        '"2026-03-06T13:38:01Z","S00056","C00056-1;C00056-2",1,"..."\n',
    )
    _write(
        tmp_path / "calls.csv",
        "record_id,verdict,campaign_id,reasons,ingress,start_time,reason_facts\n"
        '"r1","fraud","C0001","wangiri.one_ring_burst: one-ring burst: 440 of 440 ended calls '
        'from +371250000xx in the last 1h rang off unanswered, 440 people rung",'
        '"international:w6","2026-03-02T18:24:00Z","[{""rule"":""wangiri.one_ring_burst"",'
        '""key"":""wangiri.one_ring_burst"",""facts"":{""one_ring"":""440"",""ended"":""440"",'
        '""range"":""+371250000xx"",""window"":""1h"",""callees"":""440""},""weight"":0.9}]"\n'
        '"r2","spoofed",,"spoofed_cli.unallocated: presents +77991234567, which lies in no '
        'allocated number range","international:w1","2026-03-02T18:25:00Z","[{""rule"":'
        '""spoofed_cli.unallocated"",""key"":""spoofed_cli.unallocated"",""facts"":{""caller"":'
        '""+77991234567""},""weight"":0.9}]"\n',
    )
    lists = ReputationLists()
    added = lists.load_analysis(tmp_path)
    assert lists.counts() == {"number": 1, "number_range": 1, "imsi": 1, "imei": 2, "cell": 2}
    assert added == len(lists) == 7
    imsi = lists.imsis["401770000000001"]
    assert imsi.source == "qalqan analyze" and "F0001" in imsi.reason
    assert lists.number_listing("+37125000042", 0.0) is not None
    assert lists.number_listing("+77991234567", 0.0) is None  # a borrowed number is not listed


def test_a_farms_handset_that_ordinary_sims_used_elsewhere_is_not_listed(tmp_path: Path) -> None:
    """A modem carrying a real phone's IMEI: the farm's equipment, but no mark of it."""
    _write(
        tmp_path / "farms.csv",
        "farm_id,n_sims,imeis,lat,lon,first_seen,last_seen,sites,cells,score,reasons,shared_imeis\n"
        '"F0001",3,"353325102745886;353325103097154;356938035643809",47.1,51.8,'
        '"2026-03-02T05:07:39Z","2026-03-06T13:38:01Z","S00056","C00056-1",1,"...",'
        '"356938035643809"\n',
    )
    lists = ReputationLists()
    lists.load_analysis(tmp_path)
    assert sorted(lists.imeis) == ["353325102745886", "353325103097154"]
    assert "C00056-1" in lists.cells


def test_a_partners_csv(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "partner.csv",
        "kind,value,source,reason,weight,since,until\n"
        "imei,358759081234567,Dala Bank,farm seen in Almaty,,,\n"
        "number_range,+37125000,,Wangiri range,0.95,2026-03-02T00:00:00Z,2026-03-09T00:00:00Z\n"
        "cell,C00056-1,Dala Bank,,,,\n",
    )
    lists = ReputationLists()
    assert lists.load_csv(path) == 3
    wangiri = lists.ranges["+37125000"]
    assert wangiri.source == "partner.csv" and wangiri.weight == 0.95
    assert not wangiri.applies(0.0) and wangiri.applies(wangiri.since + 1)
    assert lists.imeis["358759081234567"].describe() == "listed by Dala Bank (farm seen in Almaty)"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("phone,+77011234567,x,y", "kind 'phone' is not one of"),
        ("number,77011234567,x,y", "not an E.164 number"),
        ("number_range,+7,x,y", "not a number range"),
        ("imei,,x,y", "empty value"),
        ("imsi,401,x,y,2", "weight '2'"),
    ],
)
def test_a_bad_row_names_its_line(tmp_path: Path, row: str, message: str) -> None:
    path = _write(tmp_path / "bad.csv", f"kind,value,source,reason,weight\nimei,1,a,b,\n{row}\n")
    with pytest.raises(ConfigError, match=rf"bad.csv:3: .*{message}"):
        ReputationLists().load_csv(path)


def test_the_first_word_stands_and_ranges_match_the_longest_prefix() -> None:
    lists = ReputationLists()
    assert lists.add(Listing(kind="number_range", value="+3712", source="a", reason="wide"))
    assert lists.add(Listing(kind="number_range", value="+371250", source="b", reason="narrow"))
    assert not lists.add(Listing(kind="number_range", value="+371250", source="c", reason="again"))
    found = lists.number_listing("+37125000001", 0.0)
    assert found is not None and found.source == "b"


def test_missing_inputs(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError):
        ReputationLists().load_analysis(tmp_path / "absent")
    with pytest.raises(UnreadableFileError):
        ReputationLists().load_csv(tmp_path / "absent.csv")


def test_a_protection_list_in_either_shape(tmp_path: Path) -> None:
    subscribers = Subscribers()
    subscribers.load_protection_list(
        _write(tmp_path / "plain.txt", "+77011234567  # grandma\n\n+77011234568\n")
    )
    subscribers.load_protection_list(
        _write(tmp_path / "list.csv", "msisdn,protect\n+77011234569,no\n+77011234570,yes\n")
    )
    assert subscribers.protection_opt_in == {"+77011234567", "+77011234568", "+77011234570"}
    assert subscribers.protection_opt_out == {"+77011234569"}
    with pytest.raises(ConfigError, match=r"plain2\.txt:1"):
        subscribers.load_protection_list(_write(tmp_path / "plain2.txt", "8 701 123 45 67\n"))
