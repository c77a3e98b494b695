"""Complaints read by their text: the script a call center's victims retell joins its sources.

Each call center of these operators dials over routes of its own, each route drawing its
own victims, so no victim or caller ID ties two routes: only the office day (which all the
centers here share) and the script their complaints tell can. The reporters chose ``other``
(a channel without categories, such as the public form): only the texts tell the script.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from qalqan.analytics import campaigns as campaigns_module
from qalqan.analytics.campaigns import Campaign
from tests.analytics.test_campaign_centers import Operator, campaigns_of

BANK = "Позвонили якобы из службы безопасности банка, просили перевести деньги на безопасный счёт"
BANK_RETOLD = (
    "Мужчина представился сотрудником службы безопасности банка, сказал что по моей карте "
    "подозрительная операция и попросил назвать код из смс"
)
POLICE = "Звонил «следователь», сказал что на меня оформляют кредит, велел перевести сбережения"
DELIVERY = "Курьер сообщил что посылка задержана на складе, попросили оплатить доставку по ссылке"
TECH_SUPPORT = (
    "Позвонила техподдержка, сказали что компьютер заражён вирусом и надо установить "
    "программу удалённого доступа"
)
ADVERTS = "Звонят с рекламой, прошу проверить номер"


def route(
    op: Operator, who: str, name: str, text: str, *, category: str = "other", offset: int = 3
) -> None:
    """A route of call center ``who`` with victims of its own, whose complaints say ``text``."""
    first = len(op.reports)
    op.center(who, offset=offset, start=9, routes={name: 1.0})
    for report in op.reports[first:]:
        report["category"], report["text"] = category, text
    assert len(op.reports) - first >= 4  # enough complaints on each route to tell its script


def test_complaints_retelling_one_text_join_their_sources() -> None:
    """Delivery and tech-support scripts are both ``other`` in the exchange format: the category
    tells the two centers nothing, the texts each center's victims retell do."""
    op = Operator(rng=np.random.default_rng(21))
    route(op, "cc1", "international:a1", DELIVERY)
    route(op, "cc1", "international:a2", DELIVERY)
    route(op, "cc2", "international:b1", TECH_SUPPORT)
    route(op, "cc2", "international:b2", TECH_SUPPORT)
    found, campaigns = op.group()
    assert op.ari(found) == pytest.approx(1.0)
    for campaign in campaigns:
        assert campaign.report_categories.keys() == {"other"}
        (script,) = campaign.scripts  # one text cluster, counted in campaigns.csv's ``scripts``
        assert campaign.scripts[script] >= 8


def test_texts_tell_the_category_the_reporters_did_not_choose() -> None:
    """Bank security retold in two wordings (two text clusters) is one script, police another."""
    op = Operator(rng=np.random.default_rng(22))
    route(op, "cc1", "international:a1", BANK)
    route(op, "cc1", "international:a2", BANK_RETOLD)
    route(op, "cc2", "international:b1", POLICE)
    route(op, "cc2", "international:b2", POLICE)
    found, campaigns = op.group()
    assert op.ari(found) == pytest.approx(1.0)
    (bank,) = campaigns_of(op, found, "cc1")
    campaign = next(c for c in campaigns if c.campaign_id == bank)
    # (a victim of both centers, drawn by chance, complains of both)
    assert script_reason(campaign)["category"] == "bank_security"
    assert len([n for n in campaign.scripts.values() if n >= 4]) == 2  # two texts, one campaign


def test_different_texts_keep_no_sources_apart() -> None:
    """One center whose victims on each route word their complaints differently: one campaign."""
    op = Operator(rng=np.random.default_rng(23))
    route(op, "cc1", "international:a1", DELIVERY)
    route(op, "cc1", "international:a2", TECH_SUPPORT)
    found, campaigns = op.group()
    assert len(campaigns_of(op, found, "cc1")) == 1
    (campaign,) = campaigns
    assert len(campaign.scripts) == 2


def test_legitimate_texts_tell_no_script() -> None:
    """Complaints about sales calls that reach a center's sources tie nothing and name no
    script; a reporter's own category is kept whatever the text says."""
    op = Operator(rng=np.random.default_rng(24))
    route(op, "cc1", "international:a1", ADVERTS)
    route(op, "cc1", "international:a2", ADVERTS)
    route(op, "cc2", "international:b1", ADVERTS, category="police", offset=7)
    found, campaigns = op.group()
    assert op.ari(found) == pytest.approx(1.0)
    (adverts,) = (c for c in campaigns if c.campaign_id in campaigns_of(op, found, "cc1"))
    (police,) = (c for c in campaigns if c.campaign_id in campaigns_of(op, found, "cc2"))
    assert adverts.report_categories["other"] >= 8 and adverts.scripts == {}
    assert not [r for r in adverts.said if r.rule == "campaign.script"]
    assert police.report_categories["police"] >= 4 and police.scripts == {}
    (reason,) = (r for r in police.said if r.rule == "campaign.script")
    assert reason.key == "analysis.campaign.script"
    assert reason.facts_dict()["category"] == "police"


def script_reason(campaign: Campaign) -> dict[str, str]:
    (reason,) = (r for r in campaign.said if r.rule == "campaign.script")
    assert reason.key == "analysis.campaign.script.text"
    return reason.facts_dict()


def test_the_script_reason_quotes_the_main_texts_phrases() -> None:
    op = Operator(rng=np.random.default_rng(25))
    route(op, "cc1", "international:a1", BANK)
    route(op, "cc1", "international:a2", BANK)
    _, campaigns = op.group()
    (campaign,) = campaigns
    facts = script_reason(campaign)
    assert facts["category"] == "bank_security" and facts["scheme"] == "bank_security"
    assert facts["reports"] == facts["texts"] == str(sum(campaign.report_categories.values()))
    assert "«безопасный счёт»" in facts["phrases"]
    (reason,) = (r for r in campaign.said if r.rule == "campaign.script")
    texts = {lang: reason.detail_in(lang) for lang in ("en", "ru", "kk")}
    assert texts["en"].startswith("complaints tell one script: bank_security")
    assert "retell one text of the bank_security scheme: «безопасный счёт»" in texts["en"]
    assert "пересказывают один текст схемы bank_security: «безопасный счёт»" in texts["ru"]
    assert "bank_security схемасының бір мәтінін қайталайды: «безопасный счёт»" in texts["kk"]
    assert reason.detail in campaign.reasons()


@pytest.mark.parametrize("bound", ["MAX_REPORT_TEXTS", "MAX_REPORT_CHARS"])
def test_the_texts_read_are_bounded(
    bound: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Past either bound, the earliest complaints are read by their text and a warning says so;
    one text told many times costs its characters once."""
    op = Operator(rng=np.random.default_rng(26))
    route(op, "cc1", "international:a1", BANK)
    earliest = sorted(op.reports, key=lambda r: (str(r["time"]), str(r["report_id"])))
    for n, report in enumerate(earliest):
        report["text"] = f"{BANK} ({n // 2})"  # each text twice, of 93 characters
    # four complaints, or two distinct texts: the fifth complaint is a third text
    monkeypatch.setattr(campaigns_module, bound, 4 if bound == "MAX_REPORT_TEXTS" else 2 * 93 + 50)
    with caplog.at_level(logging.WARNING, logger="qalqan.analytics.campaigns"):
        _, (campaign,) = op.group()
    assert "the texts of the first 4 (victims' first, then the earliest) are read" in caplog.text
    # the rest keep the category their reporters chose (``other``)
    assert campaign.report_categories["bank_security"] == 4
    assert campaign.report_categories["other"] == len(op.reports) - 4


def test_complaints_naming_a_caller_id_cannot_crowd_out_the_victims_texts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Anyone can send a complaint naming a caller ID, dated as they like; the victims'
    complaints (the callees of the fraud calls, within three days) are read first."""
    op = Operator(rng=np.random.default_rng(27))
    route(op, "cc1", "international:a1", BANK)
    victims = len(op.reports)
    caller = next(str(c["a_number"]) for c in op.calls)
    earliest = min(op.calls, key=lambda c: c["t"])["t"]
    for n in range(40):  # earlier than any victim's, each a text of its own
        op.reports.append(
            {"report_id": f"flood{n}", "time": earliest, "reporter": f"+7702{n:07d}",
             "reported_number": caller, "category": "other", "text": f"{ADVERTS} {n}"}
        )  # fmt: skip
    monkeypatch.setattr(campaigns_module, "MAX_REPORT_TEXTS", victims)
    _, (campaign,) = op.group()
    assert campaign.report_categories["bank_security"] == victims
    assert campaign.report_categories["other"] == 40
