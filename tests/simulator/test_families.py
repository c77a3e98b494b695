"""Scenario families: replayable, valid, and each really does what it is meant to break."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import phonenumbers
import pytest
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.errors import ConfigError
from qalqan.exchange.reader import DataSet
from qalqan.simulator.config import load_scenario
from qalqan.simulator.families import FAMILIES
from qalqan.simulator.operator import simulate
from qalqan.simulator.population import PHONE_TACS


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def family_db(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("cdrs", "subscribers"):
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_csv('{root / (name + '.csv')}', header=true, all_varchar=true)"
        )
    for name in ("labels", "farms", "campaigns"):
        con.execute(
            f"CREATE VIEW truth_{name} AS SELECT * FROM read_csv('{root / 'truth' / (name + '.csv')}', header=true, all_varchar=true)"
        )
    return con


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every family once: 2,000 subscribers over 3 days (Monday to Wednesday)."""
    out = {}
    for name in FAMILIES:
        folder = tmp_path_factory.mktemp(name)
        simulate(folder, load_scenario(None, family=name, subscribers=2000, days=3, seed=31))
        out[name] = folder
    return out


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_is_replayable_under_a_seed(tmp_path: Path, name: str) -> None:
    scenario = load_scenario(None, family=name, subscribers=600, days=2, seed=5)
    simulate(tmp_path / "a", scenario)
    simulate(tmp_path / "b", scenario)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    other = load_scenario(None, family=name, subscribers=600, days=2, seed=6)
    simulate(tmp_path / "c", other)
    assert digest(tmp_path / "a")["cdrs.csv"] != digest(tmp_path / "c")["cdrs.csv"]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_validates_with_zero_rejections(
    made: dict[str, Path], name: str, tmp_path: Path
) -> None:
    report = DataSet.open(made[name]).validate(quarantine_dir=tmp_path / "quarantine")
    assert report.exit_code == 0
    assert report.rows_rejected == 0
    assert f"family: {name}" in (made[name] / "truth" / "scenario.yaml").read_text()


def test_family_settings_come_first_then_the_file_then_the_flags(tmp_path: Path) -> None:
    path = tmp_path / "bigger.yaml"
    path.write_text("fraud:\n  wangiri_numbers: 90\n  call_centers: 1\n")
    scenario = load_scenario(path, family="wangiri-ranges", days=2)
    assert scenario.family == "wangiri-ranges" and scenario.days == 2
    assert scenario.fraud.wangiri_numbers == 90 and scenario.fraud.call_centers == 1
    assert scenario.fraud.wangiri_burst_minutes == 30  # from the family
    with pytest.raises(ConfigError, match="unknown scenario family 'wangiri'"):
        load_scenario(None, family="wangiri")


def test_simulate_command_takes_a_family(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["simulate", str(tmp_path / "op"), "-n", "600", "-d", "1", "--family", "mimic-farms", "-q"],
    )
    assert result.exit_code == 0, result.output
    assert "family mimic-farms" in " ".join(result.output.split())
    bad = CliRunner().invoke(app, ["simulate", str(tmp_path / "x"), "--family", "nope"])
    assert bad.exit_code == 2 and "unknown scenario family 'nope'" in " ".join(bad.output.split())


def test_mimic_farms_live_like_people(made: dict[str, Path]) -> None:
    con = family_db(made["mimic-farms"])
    farm_sims = """SELECT id FROM truth_labels WHERE kind = 'sim' AND label = 'simbox'"""
    # One ordinary handset per SIM, with the TACs of common phones.
    per_imei = rows(
        con,
        f"""SELECT a_imei, count(DISTINCT a_imsi) FROM cdrs WHERE a_imsi IN ({farm_sims})
            GROUP BY a_imei""",
    )
    assert len(per_imei) > 50 and all(n == 1 for _, n in per_imei)
    assert {int(str(imei)[:8]) for imei, _ in per_imei} <= set(PHONE_TACS.tolist())
    # People outside the farm call its SIMs.
    from_outside = rows(
        con,
        f"""SELECT count(*) FROM cdrs WHERE b_imsi IN ({farm_sims})
            AND (a_imsi IS NULL OR a_imsi NOT IN ({farm_sims}))""",
    )[0][0]
    assert int(str(from_outside)) > 100
    # Each farm moves through its city within a day, over many sites.
    moves = rows(
        con,
        """SELECT l."group", count(DISTINCT substr(c.a_cell, 1, 6)),
                   count(DISTINCT (CAST(c.start_time AS TIMESTAMP)::DATE, substr(c.a_cell, 1, 6)))
            FROM cdrs c JOIN truth_labels l ON l.kind = 'sim' AND l.id = c.a_imsi
            WHERE l.label = 'simbox' GROUP BY 1""",
    )
    assert len(moves) == 3
    for _, sites, site_days in moves:
        assert int(str(sites)) >= 5 and int(str(site_days)) >= 2 * 3  # several places a day


def test_quiet_mimic_farms_text_people_outside_and_place_few_calls_per_sim(
    made: dict[str, Path],
) -> None:
    con = family_db(made["mimic-farms-quiet"])
    farm_sims = """SELECT id FROM truth_labels WHERE kind = 'sim' AND label = 'simbox'"""
    farm_numbers = f"SELECT msisdn FROM subscribers WHERE imsi IN ({farm_sims})"
    texts_out = rows(
        con,
        f"""SELECT count(*), count(DISTINCT b_number) FROM cdrs WHERE event = 'sms'
            AND a_imsi IN ({farm_sims}) AND b_number NOT IN ({farm_numbers})""",
    )[0]
    assert int(str(texts_out[0])) > 100 and int(str(texts_out[1])) > 0.9 * int(str(texts_out[0]))
    calls = rows(
        con,
        f"""SELECT count(*) / count(DISTINCT a_imsi) FROM cdrs WHERE event = 'voice'
            AND a_imsi IN ({farm_sims}) AND b_number NOT IN ({farm_numbers})""",
    )[0][0]
    assert float(str(calls)) < 5  # about three scam calls a SIM


def test_split_centers_use_every_route_at_once_and_share_carriers(made: dict[str, Path]) -> None:
    con = family_db(made["split-centers"])
    routes = rows(
        con,
        """SELECT l."group", split_part(c.ingress, ':', 1) AS kind, count(*),
                  count(DISTINCT c.a_number)
           FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
           WHERE l.label = 'fraud' AND starts_with(l."group", 'cc-') GROUP BY 1, 2""",
    )
    by_center: dict[str, dict[str, tuple[int, int]]] = {}
    for center, kind, calls, numbers in routes:
        by_center.setdefault(str(center), {})[str(kind)] = (int(str(calls)), int(str(numbers)))
    assert len(by_center) == 4
    for kinds in by_center.values():
        assert {"voip", "international", "mobile"} <= set(kinds)
        calls, numbers = kinds["voip"]
        assert numbers > 0.9 * calls  # a new random domestic caller ID nearly every call
    voip_cli = rows(
        con,
        """SELECT count(*) FILTER (WHERE NOT starts_with(c.a_number, '+7')) FROM cdrs c
           JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
           WHERE l.label = 'fraud' AND starts_with(c.ingress, 'voip:')""",
    )[0][0]
    assert voip_cli == 0
    centers = rows(
        con, "SELECT utc_offset_h, routes FROM truth_campaigns WHERE starts_with(campaign, 'cc-')"
    )
    assert len({o for o, _ in centers}) <= 2
    carriers = [
        r
        for _, routes_ in centers
        for r in str(routes_).split(";")
        if r.startswith("international:")
    ]
    assert len(carriers) > len(set(carriers))  # some carrier serves several centers


def test_wangiri_comes_from_tens_of_numbers_of_one_range_in_bursts(made: dict[str, Path]) -> None:
    con = family_db(made["wangiri-ranges"])
    calls = rows(
        con,
        """SELECT c.a_number, c.ingress, epoch(CAST(c.start_time AS TIMESTAMP)) AS t
           FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
           WHERE starts_with(l."group", 'wangiri-') ORDER BY t""",
    )
    numbers = {int(str(a)) for a, _, _ in calls}
    assert len(numbers) >= 20
    assert max(numbers) - min(numbers) < 100_000  # one range ...
    assert len({n // 100 for n in numbers}) >= 15  # ... with its numbers scattered over it
    assert len({str(i) for _, i, _ in calls}) >= 3  # across carriers
    times = [float(str(t)) for _, _, t in calls]
    bursts = [[times[0]]]
    for t in times[1:]:
        if t - bursts[-1][-1] > 3600:
            bursts.append([])
        bursts[-1].append(t)
    assert len(bursts) >= 2  # several bursts over the days
    assert max(b[-1] - b[0] for b in bursts) <= 30 * 60
    assert max(len(b) for b in bursts) >= 1000


def test_wangiri_spread_rings_few_people_from_each_block_of_its_range(
    made: dict[str, Path],
) -> None:
    con = family_db(made["wangiri-spread"])
    (calls, hundreds, busiest, carriers, transit, cut) = rows(
        con,
        """WITH w AS (
               SELECT c.* FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
               WHERE starts_with(l."group", 'wangiri-')),
           per_block AS (
               SELECT left(a_number, length(a_number) - 2) AS block,
                      time_bucket(INTERVAL 10 MINUTE, CAST(start_time AS TIMESTAMP)) AS m,
                      count(DISTINCT b_number) AS rung
               FROM w GROUP BY 1, 2)
           SELECT (SELECT count(*) FROM w),
                  (SELECT count(DISTINCT left(a_number, length(a_number) - 2)) FROM w),
                  (SELECT max(rung) FROM per_block),
                  (SELECT count(DISTINCT ingress) FROM w),
                  (SELECT count(*) FROM w WHERE starts_with(ingress, 'national:')),
                  (SELECT count(*) FROM w WHERE result IN ('busy', 'failed'))""",
    )[0]
    assert int(str(calls)) >= 2000
    assert int(str(hundreds)) >= 200  # numbers spread over the range ...
    assert int(str(busiest)) < 10  # ... so that no hundred-block rings ten people in ten minutes
    assert int(str(carriers)) >= 6 and int(str(transit)) > 0  # carriers and a domestic transit
    assert 0.1 < int(str(cut)) / int(str(calls)) < 0.3  # a fifth recorded busy or failed


def test_relatives_abroad_call_people_the_call_centers_rang(made: dict[str, Path]) -> None:
    con = family_db(made["look-alikes"])
    overlap = rows(
        con,
        """WITH rung AS (SELECT DISTINCT c.b_number FROM cdrs c JOIN truth_labels l
                         ON l.kind = 'call' AND l.id = c.record_id
                         WHERE l.label = 'fraud' AND starts_with(l."group", 'cc-'))
           SELECT count(*), count(*) FILTER (WHERE NOT starts_with(c.ingress, 'international:'))
           FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
           WHERE l."group" = 'relative_abroad' AND c.b_number IN (SELECT b_number FROM rung)""",
    )
    together, not_international = (int(str(x)) for x in overlap[0])
    assert together > 100 and not_international == 0


def test_another_country_numbers_clock_and_identifiers_follow_it(made: dict[str, Path]) -> None:
    con = family_db(made["another-country"])
    numbers = [str(r[0]) for r in rows(con, "SELECT msisdn FROM subscribers USING SAMPLE 300 ROWS")]
    for number in numbers:
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.region_code_for_number(parsed) == "AZ"
        assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
    imsis, iccids = rows(
        con,
        """SELECT count(*) FILTER (WHERE NOT starts_with(imsi, '40001')),
                  count(*) FILTER (WHERE NOT starts_with(iccid, '8999401')) FROM subscribers""",
    )[0]
    assert imsis == 0 and iccids == 0
    own = rows(
        con,
        """SELECT count(*) FILTER (WHERE starts_with(a_number, '+7')), count(*) FROM cdrs
           WHERE ingress = 'mobile'""",
    )[0]
    assert own[0] == 0 and int(str(own[1])) > 1000
    # Ordinary calls follow the day in UTC+4: quietest at 2-5 a.m. local, 22-01 UTC.
    by_hour = {
        int(str(hour)): int(str(calls))
        for hour, calls in rows(
            con,
            """SELECT hour(CAST(start_time AS TIMESTAMP)), count(*) FROM cdrs
               WHERE ingress = 'mobile' GROUP BY 1""",
        )
    }
    night = sum(by_hour.get(h, 0) for h in (22, 23, 0))
    day = sum(by_hour.get(h, 0) for h in (10, 11, 12))
    assert night * 10 < day


def test_country_must_be_one_the_simulator_knows(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("country: XX\n")
    with pytest.raises(ConfigError, match="country must be one of KZ, AZ"):
        load_scenario(path)


def test_foreign_companies_call_customers_from_a_few_numbers_and_hear_back(
    made: dict[str, Path],
) -> None:
    con = family_db(made["look-alikes"])
    calls, numbers, carriers = rows(
        con,
        """SELECT count(*), count(DISTINCT c.a_number),
                  count(*) FILTER (WHERE NOT starts_with(c.ingress, 'international:carrier'))
           FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
           WHERE l."group" = 'foreign_business'""",
    )[0]
    assert int(str(calls)) > 60 and int(str(numbers)) <= 23 and carriers == 0
    back = rows(
        con,
        """SELECT count(*) FROM cdrs WHERE ingress = 'mobile' AND b_number IN (
               SELECT c.a_number FROM cdrs c JOIN truth_labels l
               ON l.kind = 'call' AND l.id = c.record_id WHERE l."group" = 'foreign_business')""",
    )[0][0]
    assert int(str(back)) > 0


@pytest.mark.parametrize("name", ["relatives-abroad", "relatives-abroad-az"])
def test_relatives_abroad_call_like_the_center_that_rang_minutes_before(
    made: dict[str, Path], name: str
) -> None:
    con = family_db(made[name])
    calls, after_scam, numbers, callees, center_codes = rows(
        con,
        """WITH calls AS (
               SELECT c.record_id, c.a_number, c.b_number, c.ingress, l."group",
                      CAST(c.start_time AS TIMESTAMP) AS t, l.label
               FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id),
           scam AS (SELECT * FROM calls WHERE label = 'fraud' AND starts_with("group", 'cc-')
                    AND starts_with(ingress, 'international:')),
           relatives AS (SELECT * FROM calls WHERE "group" = 'relative_abroad'),
           origins AS (SELECT DISTINCT c.orig_country FROM cdrs c JOIN scam USING (record_id))
           SELECT count(*),
                  count(*) FILTER (WHERE EXISTS (
                      SELECT 1 FROM calls s WHERE s.b_number = r.b_number
                      AND s.label = 'fraud' AND starts_with(s."group", 'cc-') AND r.t > s.t
                      AND r.t <= s.t + INTERVAL 2 HOUR + INTERVAL 1 MINUTE)
                      AND r.ingress IN (SELECT ingress FROM scam)),
                  count(DISTINCT r.a_number), count(DISTINCT r.b_number),
                  count(*) FILTER (WHERE c.orig_country IN (SELECT orig_country FROM origins))
           FROM relatives r JOIN cdrs c USING (record_id)""",
    )[0]
    calls = int(str(calls))
    assert calls > 100
    # right after a scam call, over a carrier the call centers use
    assert int(str(after_scam)) >= 0.7 * calls
    # several relatives per person, each with a number of their own
    assert int(str(numbers)) >= 2 * int(str(callees))
    # from the countries the call centers' calls come from
    assert int(str(center_codes)) >= 0.8 * calls
