"""A campaign whose complaints retell one text gives its alert the scheme they tell."""

from __future__ import annotations

import pytest

from qalqan.cases.ingest.reasons import scheme_of
from qalqan.domain.messages import Reason
from qalqan.domain.model import ReportCategory


@pytest.mark.parametrize("key", ["analysis.campaign.script", "analysis.campaign.script.text"])
def test_the_campaigns_script_reason_names_its_scheme(key: str) -> None:
    facts = {"category": "police", "reports": 4, "total": 5}
    if key.endswith(".text"):
        facts |= {"texts": 3, "scheme": "police", "phrases": "«следователь»"}
    said = Reason.said("campaign.script", 3.0, key, **facts)
    assert scheme_of([said]) == ReportCategory.POLICE
