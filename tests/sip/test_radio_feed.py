"""What a feed's INVITE says is read back as the very call attempt replay screens.

For any call attempt a CDR can record, the INVITE that :mod:`qalqan.sip.feed` writes for it
(its scenario, with the fields of its line of ``attempts.csv`` filled in as sipp does),
parsed and read with the feed's own SIP settings, gives back the same time, caller,
callee, ingress, IMSI, IMEI, cell and attestation; and the record id before ``///`` in the
Call-ID.
"""

from __future__ import annotations

import dataclasses
import re
import string
from datetime import UTC, datetime
from urllib.parse import unquote

import yaml
from hypothesis import given
from hypothesis import strategies as st

from qalqan.domain.model import CallAttempt, Ingress, IngressClass
from qalqan.sip.config import SipConfig
from qalqan.sip.feed import FeedSummary, feed_fields, scenario_xml, sip_yaml, trunk_group_label
from qalqan.sip.message import Request, parse_message
from qalqan.sip.redirect import call_attempt

_INVITE = re.compile(r"<!\[CDATA\[\s*(INVITE .*?)\]\]>", re.DOTALL)

numbers = st.from_regex(r"\+7(70[0-9]|747|77[0-9])[0-9]{7}", fullmatch=True)
ingresses = st.one_of(
    st.just(Ingress(kind=IngressClass.MOBILE, route="")),
    st.builds(
        Ingress,
        kind=st.sampled_from(
            [IngressClass.NATIONAL, IngressClass.INTERNATIONAL, IngressClass.VOIP]
        ),
        route=st.text(alphabet=string.ascii_letters + string.digits + "-_.", max_size=12),
    ),
)


@st.composite
def attempts(draw: st.DrawFn) -> CallAttempt:
    ingress = draw(ingresses)
    mobile = ingress.kind is IngressClass.MOBILE
    radio = st.none() if not mobile else st.none() | st.just(0)
    return CallAttempt(
        time=draw(
            st.datetimes(
                min_value=datetime(2000, 1, 1),
                max_value=datetime(2099, 1, 1),
                timezones=st.just(UTC),
            )
        ).replace(microsecond=0),
        caller=draw(st.none() | numbers),
        callee=draw(numbers),
        ingress=ingress,
        imsi=None if draw(radio) is None else draw(st.from_regex(r"401[0-9]{12}", fullmatch=True)),
        imei=None if draw(radio) is None else draw(st.from_regex(r"[0-9]{15}", fullmatch=True)),
        cell=None
        if draw(radio) is None
        else draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9\-_.]{0,20}", fullmatch=True)),
        record_id=draw(st.text(min_size=1, max_size=20).filter(lambda s: s.isprintable())),
        attest=draw(st.sampled_from([None, "A", "B", "C"])),
    )


def _invite(fields: list[str]) -> bytes:
    match = _INVITE.search(scenario_xml())
    assert match is not None
    text = match.group(1)
    for n, value in enumerate(fields):
        text = text.replace(f"[field{n}]", value)
    for key, value in {
        "remote_ip": "192.0.2.1",
        "remote_port": "5060",
        "local_ip": "192.0.2.10",
        "local_port": "5070",
        "transport": "UDP",
        "branch": "z9hG4bK-1",
        "call_number": "1",
        "call_id": "1-1@192.0.2.10",
    }.items():
        text = text.replace(f"[{key}]", value)
    lines = [line.strip() for line in text.strip().splitlines()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@given(attempts())
def test_an_attempt_fed_as_an_invite_is_read_back_as_itself(attempt: CallAttempt) -> None:
    summary = FeedSummary(region="KZ")
    label = trunk_group_label(attempt.ingress, summary.trunk_groups)
    fields = feed_fields(attempt, label, summary)
    config = SipConfig.from_mapping(yaml.safe_load(sip_yaml(summary, imsi_header="P-Qalqan-IMSI")))
    request = parse_message(_invite(fields))
    assert isinstance(request, Request)
    read = call_attempt(request, source_host="192.0.2.10", config=config)
    assert read is not None
    assert request.call_id is not None
    assert unquote(request.call_id.split("///", 1)[0]) == attempt.record_id
    assert dataclasses.replace(read, record_id=attempt.record_id) == attempt
