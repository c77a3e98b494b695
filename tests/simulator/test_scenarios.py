"""The simulated operator behaves as the scenarios say: each test checks one thing a detector relies on."""

from __future__ import annotations

import duckdb
import numpy as np
import phonenumbers
import pytest

from qalqan.simulator.operator import SimulationSummary


def one(db: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = db.execute(sql).fetchone()
    assert row is not None
    return row[0]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def test_record_ids_are_unique_and_time_ordered(db: duckdb.DuckDBPyConnection) -> None:
    assert one(db, "SELECT count(*) - count(DISTINCT record_id) FROM cdrs") == 0
    unordered = one(
        db,
        """SELECT count(*) FROM (SELECT start_time < lag(start_time) OVER (ORDER BY CAST(substr(record_id, 2) AS BIGINT)) AS back FROM cdrs) WHERE back""",
    )
    assert unordered == 0


def test_every_cell_reference_exists(db: duckdb.DuckDBPyConnection) -> None:
    dangling = one(
        db,
        "SELECT count(*) FROM cdrs WHERE (a_cell IS NOT NULL AND a_cell NOT IN (SELECT cell_id FROM cells)) OR (b_cell IS NOT NULL AND b_cell NOT IN (SELECT cell_id FROM cells))",
    )
    assert dangling == 0


def test_mobile_fields_only_on_mobile_ingress(db: duckdb.DuckDBPyConnection) -> None:
    assert (
        one(db, "SELECT count(*) FROM cdrs WHERE ingress <> 'mobile' AND a_imsi IS NOT NULL") == 0
    )
    assert (
        one(
            db,
            "SELECT count(*) FROM cdrs WHERE ingress = 'mobile' AND (a_imsi IS NULL OR a_imei IS NULL OR a_cell IS NULL)",
        )
        == 0
    )


def test_identifiers_carry_valid_check_digits(db: duckdb.DuckDBPyConnection) -> None:
    imeis = [
        r[0]
        for r in db.execute("SELECT DISTINCT a_imei FROM cdrs WHERE a_imei IS NOT NULL").fetchall()
    ]
    assert imeis and all(len(i) == 15 and luhn_ok(i) for i in imeis)
    iccids = [r[0] for r in db.execute("SELECT iccid FROM subscribers").fetchall()]
    assert all(len(i) == 19 and i.startswith("89997") and luhn_ok(i) for i in iccids)
    assert (
        one(
            db,
            "SELECT count(*) FROM subscribers WHERE NOT starts_with(imsi, '40177') OR length(imsi) <> 15",
        )
        == 0
    )


def test_subscriber_numbers_are_valid_kazakh_mobiles(db: duckdb.DuckDBPyConnection) -> None:
    numbers = [
        r[0] for r in db.execute("SELECT msisdn FROM subscribers USING SAMPLE 300 ROWS").fetchall()
    ]
    for number in numbers:
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.region_code_for_number(parsed) == "KZ"
        assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
    assert one(db, "SELECT count(*) - count(DISTINCT msisdn) FROM subscribers") == 0


def test_roamers_call_home_over_international_routes_while_registered_abroad(
    db: duckdb.DuckDBPyConnection,
) -> None:
    calls = db.execute(
        """SELECT c.record_id, c.ingress, c.orig_country,
                  EXISTS (SELECT 1 FROM roaming r WHERE r.imsi = s.imsi
                          AND c.start_time BETWEEN r.start_time AND r.end_time) AS abroad
           FROM cdrs c JOIN truth_labels l ON l.id = c.record_id AND l.kind = 'call' AND l."group" = 'roamer_home'
           JOIN subscribers s ON s.msisdn = c.a_number"""
    ).fetchall()
    assert len(calls) > 20
    assert all(
        ingress.startswith("international:") and country and abroad
        for _, ingress, country, abroad in calls
    )


def test_nobody_uses_the_radio_network_while_abroad(db: duckdb.DuckDBPyConnection) -> None:
    home_calls_abroad = one(
        db,
        """SELECT count(*) FROM cdrs c JOIN roaming r ON r.imsi = c.a_imsi
           WHERE c.ingress = 'mobile' AND c.start_time BETWEEN r.start_time AND r.end_time""",
    )
    assert home_calls_abroad == 0


def test_rotating_farm_uses_each_sim_about_twice(db: duckdb.DuckDBPyConnection) -> None:
    farm = one(db, "SELECT farm_id FROM truth_farms WHERE kind = 'rotating'")
    per_sim = [
        r[0]
        for r in db.execute(
            f"""SELECT count(*) FROM cdrs c JOIN truth_labels l ON l.kind = 'sim' AND l.id = c.a_imsi
                WHERE l."group" = '{farm}' AND c.event = 'voice' GROUP BY c.a_imsi"""
        ).fetchall()
    ]
    assert len(per_sim) > 30
    assert 1.5 <= float(np.mean(per_sim)) <= 3.0
    # one IMEI a channel: each IMEI carries many SIMs
    sims_per_imei = one(
        db,
        f"""SELECT min(n) FROM (SELECT count(DISTINCT a_imsi) AS n FROM cdrs c
            JOIN truth_labels l ON l.kind = 'sim' AND l.id = c.a_imsi WHERE l."group" = '{farm}' GROUP BY a_imei)""",
    )
    assert int(sims_per_imei) >= 3  # type: ignore[call-overload]


def test_evasive_farm_changes_imei_moves_and_fakes_a_life(db: duckdb.DuckDBPyConnection) -> None:
    farm = one(db, "SELECT farm_id FROM truth_farms WHERE kind = 'evasive'")
    where = f"""FROM cdrs c JOIN truth_labels l ON l.kind = 'sim' AND l.id = c.a_imsi WHERE l."group" = '{farm}'"""
    assert (
        one(db, f"SELECT max(n) FROM (SELECT count(DISTINCT a_imsi) AS n {where} GROUP BY a_imei)")
        == 1
    )
    sites = one(
        db,
        f"SELECT count(DISTINCT k.site_id) {where.replace('WHERE', 'JOIN cells k ON k.cell_id = c.a_cell WHERE')}",
    )
    assert int(sites) >= 2  # type: ignore[call-overload]
    received = one(
        db,
        f"""SELECT count(*) FROM cdrs c JOIN truth_labels l ON l.kind = 'sim' AND l.id = c.b_imsi
            WHERE l."group" = '{farm}'""",
    )
    assert int(received) > 10  # type: ignore[call-overload]


def test_bypass_box_never_receives_and_never_texts(db: duckdb.DuckDBPyConnection) -> None:
    farm = one(db, "SELECT farm_id FROM truth_farms WHERE kind = 'bypass'")
    sims = f"""SELECT id FROM truth_labels WHERE kind = 'sim' AND "group" = '{farm}'"""
    assert one(db, f"SELECT count(*) FROM cdrs WHERE a_imsi IN ({sims}) AND event = 'voice'") > 100
    assert one(db, f"SELECT count(*) FROM cdrs WHERE b_imsi IN ({sims})") == 0
    assert one(db, f"SELECT count(*) FROM cdrs WHERE a_imsi IN ({sims}) AND event = 'sms'") == 0


def test_call_centers_work_their_own_office_hours(db: duckdb.DuckDBPyConnection) -> None:
    centers = db.execute(
        "SELECT campaign, CAST(utc_offset_h AS DOUBLE), hours_local FROM truth_campaigns WHERE starts_with(campaign, 'cc-')"
    ).fetchall()
    assert len(centers) == 3
    for campaign, offset, hours in centers:
        begin, end = (int(h[:2]) for h in hours.split("-"))
        local_hours = [
            r[0]
            for r in db.execute(
                f"""SELECT (hour(CAST(c.start_time AS TIMESTAMP)) + {offset} + 24) % 24
                    FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
                    WHERE l."group" = '{campaign}' AND c.ingress <> 'mobile'"""
            ).fetchall()
        ]
        assert local_hours, campaign
        inside = sum(begin <= h < end for h in local_hours) / len(local_hours)
        assert inside > 0.97, (campaign, inside)


def test_spoofed_calls_present_protected_and_unallocated_numbers(
    db: duckdb.DuckDBPyConnection,
) -> None:
    fraud = """FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id WHERE l.label = 'fraud'"""
    registry_hits = one(
        db,
        f"SELECT count(*) {fraud} AND c.a_number IN (SELECT number FROM registry WHERE policy = 'inbound_only')",
    )
    assert int(registry_hits) > 0  # type: ignore[call-overload]
    numbers = [
        r[0]
        for r in db.execute(
            f"SELECT DISTINCT c.a_number {fraud} AND c.a_number IS NOT NULL AND c.ingress <> 'mobile'"
        ).fetchall()
    ]
    invalid = [n for n in numbers if not phonenumbers.is_valid_number(phonenumbers.parse(n))]
    assert invalid, "some call centers present unallocated numbers"
    # legitimate banks call only over their registered trunks
    assert (
        one(
            db,
            """SELECT count(*) FROM cdrs c JOIN registry r ON r.number = c.a_number
           JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
           WHERE l."group" = 'bank_outbound' AND r.policy <> 'route:' || c.ingress""",
        )
        == 0
    )


def test_wangiri_rings_once_and_some_call_back(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute(
        """SELECT c.duration_s, c.result, c.ingress FROM cdrs c JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
           WHERE starts_with(l."group", 'wangiri-')"""
    ).fetchall()
    assert len(rows) > 100
    assert all(d == "0" and r == "no_answer" and i.startswith("international:") for d, r, i in rows)


def test_elderly_are_targeted_more_often(
    db: duckdb.DuckDBPyConnection, operator_data: SimulationSummary
) -> None:
    year = operator_data.scenario.start.year
    share = db.execute(
        f"""SELECT avg(CASE WHEN CAST(s.birth_year AS INT) <= {year - 65} THEN 1 ELSE 0 END) FILTER (WHERE l.label = 'fraud'),
                   avg(CASE WHEN CAST(s.birth_year AS INT) <= {year - 65} THEN 1 ELSE 0 END) FILTER (WHERE l.label IS NULL)
            FROM cdrs c JOIN subscribers s ON s.msisdn = c.b_number
            LEFT JOIN truth_labels l ON l.kind = 'call' AND l.id = c.record_id
            WHERE c.ingress <> 'mobile'"""
    ).fetchone()
    assert share is not None
    assert share[0] > 1.5 * share[1]


def test_money_flows_from_victims_to_mules_and_on_to_crypto(db: duckdb.DuckDBPyConnection) -> None:
    mules = one(
        db,
        """SELECT count(*) FROM payments p JOIN truth_labels l ON l.kind = 'account' AND l.id = p.payee
           WHERE p.channel = 'bank_transfer' AND l.label = 'mule'""",
    )
    assert int(mules) > 0  # type: ignore[call-overload]
    assert (
        one(
            db,
            "SELECT count(*) FROM payments WHERE channel = 'crypto' AND starts_with(payee, 'crypto:')",
        )
        > 0
    )


@pytest.mark.parametrize(
    "trap", ["taxi_courier", "corporate_sales", "gsm_gateway", "m2m", "shared_handset"]
)
def test_look_alike_sims_are_labelled_legit_and_active(
    db: duckdb.DuckDBPyConnection, trap: str
) -> None:
    active = one(
        db,
        f"""SELECT count(DISTINCT c.a_imsi) FROM cdrs c JOIN truth_labels l ON l.kind = 'sim' AND l.id = c.a_imsi
            WHERE l.label = 'legit' AND l."group" = '{trap}'""",
    )
    assert int(active) > 0  # type: ignore[call-overload]


def test_gsm_gateway_sims_are_old_corporate_and_stay_in_their_ports(
    db: duckdb.DuckDBPyConnection,
) -> None:
    rows = db.execute(
        """SELECT s.imsi, s.plan, CAST(s.activated AS DATE), count(DISTINCT c.a_imei), count(DISTINCT k.site_id)
           FROM subscribers s JOIN truth_labels l ON l.kind = 'sim' AND l.id = s.imsi AND l."group" = 'gsm_gateway'
           JOIN cdrs c ON c.a_imsi = s.imsi JOIN cells k ON k.cell_id = c.a_cell GROUP BY ALL"""
    ).fetchall()
    assert rows
    for _, plan, activated, imeis, sites in rows:
        assert plan == "corporate" and activated.year < 2026 and imeis == 1 and sites == 1
