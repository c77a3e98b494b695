"""The public application in-process: the check, the reports, their bounds, and what is never said."""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from qalqan.cases import CaseStore
from qalqan.cases.reports import CitizenReport
from qalqan.public import PublicSettings
from qalqan.public.i18n import LANGUAGES, language_of
from qalqan.public.pow import solve
from qalqan.public.uploads import UploadError, read_screenshot
from tests.cases.feeds import BANK_HOTLINE, FARM_SIMS, victim_number
from tests.public.conftest import REPLAYED, client_for, face_over

if TYPE_CHECKING:
    from httpx import Response
    from starlette.testclient import TestClient

ASKER = "203.0.113.7"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CHALLENGE = re.compile(r'name="challenge" value="([^"]+)"')


def _report(client: TestClient, number: str = BANK_HOTLINE, **changes: object) -> Response:
    token = client.get("/v1/challenge").json()["challenge"]
    body = {
        "number": number,
        "channel": "call",
        "category": "bank_security",
        "text": "служба безопасности банка, назовите код",
        "challenge": token,
        "solution": solve(token),
        **changes,
    }
    answer: Response = client.post("/v1/reports", json=body)
    return answer


def test_a_farms_number_is_danger_and_nothing_personal_is_said(fed: CaseStore) -> None:
    client = client_for(face_over(fed))
    farm_number = FARM_SIMS[0][1]
    answer = client.get(f"/v1/check/{farm_number}", headers={"Accept-Language": "en"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["level"] == "danger"
    keys = {r["key"] for r in body["reasons"]}
    assert {"public.farm_sim", "public.campaign"} <= keys
    said = answer.text
    assert FARM_SIMS[0][0] not in said and FARM_SIMS[0][2] not in said  # IMSI, IMEI
    assert not any(victim_number(k) in said for k in range(8))  # whom it called


def test_the_page_speaks_the_language_of_the_switch_or_the_browser(fed: CaseStore) -> None:
    client = client_for(face_over(fed))
    kk = client.get(
        "/check",
        params={"number": "8 701 123 45 67"},
        headers={"Accept-Language": "kk-KZ,kk;q=0.9"},
    )
    assert 'lang="kk"' in kk.text and "Нөмір туралы жаман ештеңе белгісіз" in kk.text
    ru = client.get("/check", params={"number": BANK_HOTLINE, "lang": "ru"})
    assert 'lang="ru"' in ru.text and "Опасно" in ru.text
    assert "Схема обмана: Служба безопасности банка" in ru.text  # the campaign's scheme
    remembered = client.get("/", headers={"Accept-Language": "en"})
    assert 'lang="ru"' in remembered.text  # the switch's choice outlives the browser's


def test_a_client_over_its_budget_gets_429_with_retry_after_while_others_are_served(
    fed: CaseStore,
) -> None:
    # a token every 20 s: however slow the machine, the bucket cannot refill within the test
    face = face_over(fed, PublicSettings(pow_difficulty=8, check_rate=0.05, check_burst=3))
    greedy, patient = client_for(face, "198.51.100.1"), client_for(face, "198.51.100.2")
    codes = [greedy.get("/v1/check/+77011234567").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = greedy.get("/v1/check/+77011234567")
    assert 10 <= int(refused.headers["Retry-After"]) <= 20  # the seconds until its next token
    assert refused.json()["error"]["code"] == "rate_limited"
    assert patient.get("/v1/check/+77011234567").status_code == 200
    assert 'qalqan_public_checks_total{outcome="limited"} 3' in greedy.get("/metrics").text


def test_a_bad_number_is_refused_in_the_one_error_shape(fed: CaseStore) -> None:
    answer = client_for(face_over(fed)).get("/v1/check/not-a-number")
    assert answer.status_code == 400
    assert answer.json()["error"] | {"message": None} == {
        "status": 400,
        "code": "invalid_number",
        "message": None,
        "field": "number",
    }


def test_every_lookup_is_counted_by_outcome_and_no_log_names_the_asker(
    fed: CaseStore, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(face_over(fed), ASKER)
    with caplog.at_level(logging.DEBUG):
        client.get(f"/v1/check/{BANK_HOTLINE}")
        client.get("/v1/check/+77011234567")
        client.get("/v1/check/nonsense")
        assert _report(client).status_code == 201
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "number check" in logged  # the lookups are logged ...
    assert ASKER not in logged  # ... without who asked
    metrics = client.get("/metrics").text
    assert 'qalqan_public_checks_total{outcome="danger"} 1' in metrics
    assert 'qalqan_public_checks_total{outcome="unknown"} 1' in metrics
    assert 'qalqan_public_checks_total{outcome="invalid"} 1' in metrics
    assert 'qalqan_public_reports_total{outcome="queued"} 1' in metrics


def test_a_report_with_its_work_done_is_filed_and_queued_and_a_replay_refused(
    fed: CaseStore,
) -> None:
    client = client_for(face_over(fed))
    token = client.get("/v1/challenge").json()["challenge"]
    body = {
        "number": BANK_HOTLINE,
        "channel": "sms",
        "category": "bank_security",
        "text": "x",
        "challenge": token,
        "solution": solve(token),
    }
    first = client.post("/v1/reports", json=body)
    assert first.status_code == 201 and first.json()["outcome"] == "queued"
    again = client.post("/v1/reports", json=body)
    assert again.status_code == 403
    assert again.json()["error"] == REPLAYED


def test_a_report_without_its_work_done_is_refused(fed: CaseStore) -> None:
    from tests.public.test_pow import _unsolving

    client = client_for(face_over(fed))
    token = client.get("/v1/challenge").json()["challenge"]
    unsolved = _report(client, challenge=token, solution=_unsolving(token, 8))
    assert unsolved.status_code == 403
    assert unsolved.json()["error"]["message"] == "unsolved"
    missing = _report(client, challenge="", solution="1")
    assert missing.status_code == 403
    assert missing.json()["error"]["message"] == "malformed"
    assert 'qalqan_public_reports_total{outcome="pow_refused"} 2' in client.get("/metrics").text


def test_a_full_memory_of_spent_challenges_asks_to_retry_when_room_comes(
    fed_sqlite: CaseStore,
) -> None:
    client = client_for(face_over(fed_sqlite, PublicSettings(pow_difficulty=8, max_spent=1)))
    assert _report(client).status_code == 201
    busy = _report(client, text="another")
    assert busy.status_code == 503 and 295 <= int(busy.headers["retry-after"]) <= 300
    assert busy.json()["error"]["message"] == "busy"
    csrf, challenge = _form(client)
    page = client.post(
        "/report",
        data={"csrf": csrf, "number": BANK_HOTLINE, "challenge": challenge,
              "solution": solve(challenge)},
    )  # fmt: skip
    assert page.status_code == 503 and "retry-after" in page.headers
    assert "Сервис сейчас перегружен" in page.text


def test_reports_without_their_work_done_do_not_use_up_everyones_report_budget(
    fed_sqlite: CaseStore,
) -> None:
    from tests.public.test_pow import _unsolving

    face = face_over(
        fed_sqlite, PublicSettings(pow_difficulty=8, global_rate=0.01, global_burst=30)
    )  # 3 reports
    for i in range(20):  # a flood from many addresses, none of it solved
        flooder = client_for(face, f"198.51.100.{i}")
        token = flooder.get("/v1/challenge").json()["challenge"]
        unsolved = _report(flooder, challenge=token, solution=_unsolving(token, 8))
        assert unsolved.status_code == 403
    served = [_report(client_for(face, f"192.0.2.{i}"), text=f"t{i}") for i in range(4)]
    assert [x.status_code for x in served] == [201, 201, 201, 429]  # solved ones do use it
    assert served[3].json()["error"]["code"] == "rate_limited"
    assert int(served[3].headers["retry-after"]) >= 1


def test_the_same_report_twice_is_one_report(fed: CaseStore) -> None:
    client = client_for(face_over(fed))
    first = _report(client, number="+77079998877").json()
    second = _report(client, number="+77079998877").json()
    assert first["outcome"] == "filed" and second["outcome"] == "duplicate"
    assert first["report_id"] == second["report_id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"number": "12"}, "number"),
        ({"channel": "fax"}, "channel"),
        ({"category": "x"}, "category"),
        ({"time": "yesterday"}, "time"),
        ({"text": "x" * 2001}, "text"),
        ({"callback": "abc"}, "callback"),
    ],
)
def test_a_bad_field_is_refused_naming_it(
    fed: CaseStore, changes: dict[str, str], field: str
) -> None:
    answer = _report(client_for(face_over(fed)), **changes)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == field


def test_bodies_are_bounded_before_they_are_read(fed: CaseStore) -> None:
    client = client_for(face_over(fed, PublicSettings(pow_difficulty=8, max_body_bytes=1000)))
    big = client.post(
        "/v1/reports",
        content=b"{" + b" " * 2000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 413
    not_json = client.post(
        "/v1/reports", content=b"number=1", headers={"Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415


def _form(client: TestClient, lang: str = "ru") -> tuple[str, str]:
    page = client.get("/report", params={"lang": lang})
    return CSRF.search(page.text).group(1), CHALLENGE.search(page.text).group(1)  # type: ignore[union-attr]


def _png_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (43.0, 15.0, 0.0)}  # GPS latitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_the_form_needs_its_csrf_token(fed: CaseStore) -> None:
    client = client_for(face_over(fed))
    _, challenge = _form(client)
    answer = client.post(
        "/report",
        data={
            "csrf": "guessed",
            "number": BANK_HOTLINE,
            "challenge": challenge,
            "solution": solve(challenge),
        },
    )
    assert answer.status_code == 403
    assert "Форма устарела" in answer.text


def test_the_form_files_a_report_with_its_screenshot_re_encoded_without_exif(
    fed: CaseStore,
) -> None:
    client = client_for(face_over(fed))
    csrf, challenge = _form(client, "kk")
    photo = _png_with_exif()
    assert b"PhoneMaker" in photo
    answer = client.post(
        "/report?lang=kk",
        data={
            "csrf": csrf,
            "number": "8 707 999 88 77",
            "channel": "messenger",
            "category": "police",
            "text": "полициядан",
            "challenge": challenge,
            "solution": solve(challenge),
        },
        files={"screenshot": ("photo.txt", photo, "text/plain")},
    )
    assert answer.status_code == 201, answer.text
    assert "Рахмет" in answer.text
    from sqlalchemy import select

    with fed.transaction() as s:
        row = s.execute(select(CitizenReport)).scalar_one()
    assert row.attachment is not None and row.attachment.startswith(b"\x89PNG")
    assert b"PhoneMaker" not in row.attachment and b"Exif" not in row.attachment
    assert row.attachment_type == "image/png" and len(row.attachment_sha256 or "") == 64
    assert Image.open(io.BytesIO(row.attachment)).size == (40, 30)


@pytest.mark.parametrize(
    "upload",
    [b"MZ\x90\x00 not an image", b"\x89PNG\r\n\x1a\n broken", b"GIF89a" + b"\x00" * 20],
)
def test_what_is_not_an_accepted_image_is_refused(fed: CaseStore, upload: bytes) -> None:
    client = client_for(face_over(fed))
    csrf, challenge = _form(client, "en")
    answer = client.post(
        "/report",
        data={
            "csrf": csrf,
            "number": BANK_HOTLINE,
            "challenge": challenge,
            "solution": solve(challenge),
        },
        files={"screenshot": ("x.png", upload, "image/png")},
    )
    assert answer.status_code == 400
    assert "screenshot" in answer.text


def test_a_picture_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    from qalqan.public.uploads import UploadError, read_screenshot

    image = Image.new("1", (5000, 5000))
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert len(out.getvalue()) < 100_000
    with pytest.raises(UploadError, match="pixels"):
        read_screenshot(out.getvalue())


def test_the_public_app_knows_nothing_of_the_console() -> None:
    import ast
    from pathlib import Path

    import qalqan.public

    for path in Path(qalqan.public.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("qalqan.console"), path


def test_a_reports_text_is_tagged_by_the_scheme_classifier_when_one_is_wired(
    fed_sqlite: CaseStore,
) -> None:
    from sqlalchemy import select

    from qalqan.public import PublicFace

    told: list[str] = []

    def scheme_of(text: str) -> str:
        told.append(text)
        return "bank_security"

    face = PublicFace(
        store=fed_sqlite,
        registry=face_over(fed_sqlite).registry,
        settings=face_over(fed_sqlite).settings,
        tag_scheme=scheme_of,
    )
    assert _report(client_for(face), number="+77079998877").status_code == 201
    with fed_sqlite.transaction() as s:
        row = s.execute(select(CitizenReport)).scalar_one()
    assert told == [row.text] and row.scheme == "bank_security"


def test_a_json_report_past_its_own_bound_is_refused_before_it_is_read(
    fed_sqlite: CaseStore,
) -> None:
    client = client_for(face_over(fed_sqlite))
    answer = client.post(
        "/v1/reports",
        content=b'{"text": "' + b"x" * 20_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"


def test_hostile_sizes_are_refused_cheaply(fed_sqlite: CaseStore) -> None:
    client = client_for(face_over(fed_sqlite))
    long_number = client.get("/v1/check/" + "7" * 10_000)
    assert long_number.status_code == 400
    assert "at most 32" in long_number.json()["error"]["message"]
    huge_language = client.get("/", headers={"Accept-Language": "xx," * 5_000 + "kk"})
    assert huge_language.status_code == 200 and 'lang="ru"' in huge_language.text
    page = client.get("/check", params={"number": "<b>" * 100})
    assert page.status_code == 400 and "<b><b>" not in page.text


@given(st.text(max_size=300))
def test_any_accept_language_picks_one_of_the_pages_languages(header: str) -> None:
    assert language_of(None, header) in LANGUAGES


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_any_upload_is_an_image_re_encoded_or_refused_saying_why(data: bytes) -> None:
    for prefix in (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x00\x00\x00\x00WEBP"):
        try:
            stored = read_screenshot(prefix + data)
        except UploadError:
            continue
        assert stored.data.startswith(b"\x89PNG") and stored.media_type == "image/png"


def test_every_answer_forbids_framing_foreign_scripts_caching_and_the_referer(
    fed_sqlite: CaseStore,
) -> None:
    client = client_for(face_over(fed_sqlite))
    for answer in (
        client.get("/check", params={"number": BANK_HOTLINE}),
        client.get(f"/v1/check/{BANK_HOTLINE}"),
        client.post("/v1/reports", content=b"x" * 10, headers={"Content-Type": "text/plain"}),
    ):
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"


def test_every_word_a_page_uses_is_in_every_language() -> None:
    from pathlib import Path

    import qalqan.public
    from qalqan.public.i18n import WORDS

    templates = Path(qalqan.public.__file__).parent / "templates"
    used = set()
    for page in templates.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bw\.([a-z_]+)", text))
        used |= set(re.findall(r'\bw\["([a-z_.]+)"', text))
        used |= {f"{p}." for p in re.findall(r'\bw\["([a-z_]+)\." ~', text)}
    from qalqan.domain.model import ReportCategory, ReportChannel
    from qalqan.public.checks import Level

    values = {"channel.": ReportChannel, "category.": ReportCategory, "level.": Level}
    for prefix in [key for key in used if key.endswith(".")]:
        used |= {f"{prefix}{value.value}" for value in values[prefix]}
    used = {key for key in used if not key.endswith(".")}
    assert used and used <= set(WORDS), used - set(WORDS)
    assert all(set(by_lang) == set(LANGUAGES) for by_lang in WORDS.values())


def test_a_kept_image_is_bounded_in_size_however_it_compresses() -> None:
    import os

    from qalqan.public.uploads import MAX_SIDE

    tall = io.BytesIO()
    Image.new("RGB", (1080, 4000), (0, 0, 0)).save(tall, format="PNG")
    kept = read_screenshot(tall.getvalue())
    assert max(Image.open(io.BytesIO(kept.data)).size) == MAX_SIDE
    noise = io.BytesIO()
    Image.frombytes("RGB", (1600, 1600), os.urandom(1600 * 1600 * 3)).save(
        noise, format="JPEG", quality=20
    )
    assert len(noise.getvalue()) < 2 * 1024 * 1024
    with pytest.raises(UploadError, match="too detailed"):
        read_screenshot(noise.getvalue())  # half a megabyte of JPEG, about 7 MB as PNG


def test_an_ipv6_client_is_its_64_so_new_addresses_in_it_get_no_new_budget(
    fed: CaseStore,
) -> None:
    face = face_over(fed, PublicSettings(pow_difficulty=8, check_rate=0.05, check_burst=3))
    same_64 = [client_for(face, f"2001:db8:1:2::{n:x}") for n in range(1, 6)]
    codes = [c.get("/v1/check/+77011234567").status_code for c in same_64]
    assert codes == [200, 200, 200, 429, 429]
    neighbour = client_for(face, "2001:db8:1:3::1")  # another /64: another subscriber
    assert neighbour.get("/v1/check/+77011234567").status_code == 200
    # an IPv4 client seen through an IPv4-mapped address is that IPv4 client
    v4, mapped = client_for(face, "198.51.100.7"), client_for(face, "::ffff:198.51.100.7")
    assert [v4.get("/v1/check/+77011234567").status_code for _ in range(3)] == [200] * 3
    assert mapped.get("/v1/check/+77011234567").status_code == 429
