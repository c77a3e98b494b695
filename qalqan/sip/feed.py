"""A data set's call attempts as INVITEs: a sipp feed that tests a SIP integration against replay.

    summary = write_feed(Path("data"), Path("feed"))
    # feed/attempts.csv   sipp injection file (-inf), SEQUENTIAL: one line per call attempt
    # feed/scenario.xml   sipp scenario: INVITE, the final answer, ACK
    # feed/sip.yaml       the SIP settings that read the INVITEs back (qalqan serve --sip-config)

Every call attempt ``qalqan replay`` screens (voice and SMS alike; the same reader,
:func:`~qalqan.screening.replay.sorted_cdrs` and
:func:`~qalqan.screening.replay.recorded_calls`, so the same set in the same order)
becomes one INVITE that carries what replay gives the engine, in the headers a real
network uses for it (the Kamailio guide, "What Qalqan reads from the INVITE"):

- the callee in the Request-URI (``sip:+E164@host;user=phone``) and ``To``;
- the caller in ``P-Asserted-Identity`` and ``From`` (``tel:+E164``), or
  ``sip:anonymous@anonymous.invalid`` when the CDR has none;
- the ingress as an RFC 4904 trunk group (``tgrp``) in the Contact, which ``sip.yaml``'s
  ``trunk_groups`` maps back to the CDR's ``ingress``;
- the attempt's time in ``Date`` (``sip.yaml`` sets ``client_time_skew_s: inf`` so the node
  believes it: for a replay only, never for live traffic);
- for mobile calls, the cell in ``P-Access-Network-Info``, the IMEI in the Contact's
  ``+sip.instance`` (RFC 7254) and the IMSI in ``imsi_header``;
- the attestation of ``identity_attest`` in ``P-Attestation-Indicator``;
- the record id before ``///`` in the ``Call-ID`` (sipp keeps its own call id after it),
  percent-encoded where it has characters a Call-ID cannot.

Play it one call at a time to keep replay's order (the engine's state depends on it)::

    sipp 127.0.0.1:5060 -sf feed/scenario.xml -inf feed/attempts.csv -m N -l 1 -r 200

and compare the answers' ``X-Qalqan-Action`` with ``qalqan replay --no-outcomes
--analyze-every off``: a redirect server never sees a call end, and runs no batch detector.

What a feed cannot carry is counted, never silently dropped: a cell id with a character
the header cannot hold (``;``, a quote, a line break) or an IMEI that is not 15 digits
(no RFC 7254 IMEI URN) goes unsaid, and :class:`FeedSummary` says how often.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import quote

import yaml

from qalqan.domain.model import CallAttempt, Ingress, IngressClass
from qalqan.exchange.limits import ReadLimits
from qalqan.exchange.reader import DataSet, TableReport
from qalqan.screening.network import guess_home_region, load_network
from qalqan.screening.replay import recorded_calls, sorted_cdrs
from qalqan.sip.radio import format_instance_imei, format_sip_date

__all__ = [
    "ANONYMOUS",
    "FeedSummary",
    "feed_fields",
    "feed_record_id",
    "scenario_xml",
    "sip_yaml",
    "trunk_group_label",
    "write_feed",
]

ANONYMOUS: Final = "sip:anonymous@anonymous.invalid"
"""The caller URI of an attempt that presented no number (RFC 3323)."""
TRUNK_CONTEXT: Final = "feed.invalid"
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9\-._!~*'()+]")
_CALL_ID_SAFE = "-._!~*'()+"
_CSV_UNSAFE = re.compile(r"[;\r\n\"\\]")
_IMSI = re.compile(r"\d{6,15}")


@dataclass(slots=True, kw_only=True)
class FeedSummary:
    """What a feed holds, and what of the data set it could not say."""

    attempts: int = 0
    by_ingress: Counter[str] = field(default_factory=Counter)
    rows_rejected: int = 0
    cells_unsaid: int = 0
    imeis_unsaid: int = 0
    imsis_unsaid: int = 0
    trunk_groups: dict[str, str] = field(default_factory=dict)
    """Trunk group label → the ingress it stands for (as ``sip.yaml`` maps it)."""
    region: str | None = None
    attempts_csv: Path | None = None
    scenario: Path | None = None
    sip_config: Path | None = None


def trunk_group_label(ingress: Ingress, taken: dict[str, str]) -> str:
    """The RFC 4904 trunk group label standing for ``ingress``, unique among ``taken``."""
    text = str(ingress)
    for label, known in taken.items():
        if known == text:
            return label
    base = _LABEL_UNSAFE.sub("-", text.replace(":", "-")) or "trunk"
    label, n = base, 1
    while label in taken:
        n += 1
        label = f"{base}-{n}"
    taken[label] = text
    return label


def feed_record_id(record_id: str) -> str:
    """``record_id`` as it can stand in a Call-ID (percent-encoded); ``unquote`` gives it back."""
    return quote(record_id, safe=_CALL_ID_SAFE)


def feed_fields(attempt: CallAttempt, label: str, summary: FeedSummary) -> list[str]:
    """The fields of ``attempt``'s line of ``attempts.csv`` (see :func:`scenario_xml`); what
    an INVITE cannot carry is left empty and counted in ``summary``."""
    caller = f"tel:{attempt.caller}" if attempt.caller else ANONYMOUS
    cell = imei = imsi = ""
    if attempt.ingress.kind is IngressClass.MOBILE:
        if attempt.cell:
            if _CSV_UNSAFE.search(attempt.cell) or len(attempt.cell) > 64:
                summary.cells_unsaid += 1
            else:
                cell = attempt.cell
        if attempt.imei:
            urn = format_instance_imei(attempt.imei)
            if urn is None:
                summary.imeis_unsaid += 1
            else:
                imei = urn.strip('"<>').removeprefix("urn:gsma:imei:")
        if attempt.imsi:
            if _IMSI.fullmatch(attempt.imsi):
                imsi = attempt.imsi
            else:
                summary.imsis_unsaid += 1
    return [
        feed_record_id(attempt.record_id or str(summary.attempts + 1)),
        attempt.callee,
        caller,
        label,
        format_sip_date(attempt.time),
        cell,
        imei,
        imsi,
        attempt.attest or "",
    ]


def write_feed(
    data_dir: Path,
    out_dir: Path,
    *,
    quarantine: Path | None = None,
    work_dir: Path | None = None,
    memory_limit: str | None = None,
    limits: ReadLimits | None = None,
    imsi_header: str = "P-Qalqan-IMSI",
) -> FeedSummary:
    """Write ``attempts.csv``, ``scenario.xml`` and ``sip.yaml`` for ``data_dir`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = DataSet.open(data_dir, limits=limits)
    summary = FeedSummary(
        region=guess_home_region(load_network(dataset, quarantine=quarantine).subscribers)
    )
    report = TableReport(table="cdrs")
    scratch = Path(tempfile.mkdtemp(prefix="qalqan-feed-", dir=work_dir))
    csv_path = out_dir / "attempts.csv"
    try:
        with csv_path.open("w", encoding="utf-8", newline="\n") as out:
            out.write("SEQUENTIAL\n")
            batches = sorted_cdrs(
                dataset, scratch, quarantine=quarantine, memory_limit=memory_limit, report=report
            )
            ingresses: dict[str, Ingress] = {}
            for batch in batches:
                for call in recorded_calls(batch, ingresses):
                    attempt = call.attempt
                    label = trunk_group_label(attempt.ingress, summary.trunk_groups)
                    out.write(";".join(feed_fields(attempt, label, summary)) + ";\n")
                    summary.attempts += 1
                    summary.by_ingress[attempt.ingress.kind.value] += 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary.rows_rejected = report.rows_rejected
    summary.attempts_csv = csv_path
    summary.scenario = out_dir / "scenario.xml"
    summary.scenario.write_text(scenario_xml(imsi_header=imsi_header), encoding="utf-8")
    summary.sip_config = out_dir / "sip.yaml"
    summary.sip_config.write_text(sip_yaml(summary, imsi_header=imsi_header), encoding="utf-8")
    return summary


def sip_yaml(summary: FeedSummary, *, imsi_header: str) -> str:
    """The SIP settings (YAML) that read a feed back: its trunk groups, region, time skew."""
    settings: dict[str, object] = {
        "trunk_groups": dict(sorted(summary.trunk_groups.items())),
        "client_time_skew_s": float("inf"),
        "imsi_header": imsi_header,
    }
    if summary.region:
        settings["region"] = summary.region
    head = (
        "# SIP settings that read back a feed of recorded calls (qalqan sip-feed).\n"
        "# client_time_skew_s: inf believes every INVITE's Date: for a replay only.\n"
    )
    return head + yaml.safe_dump(settings, sort_keys=False, allow_unicode=True)


_FINALS: Final = (302, 400, 403, 404, 416, 420, 480, 481, 500, 503, 603, 608)
"""Final answers the scenario takes; any of them is followed by the ACK."""


def scenario_xml(*, imsi_header: str = "P-Qalqan-IMSI") -> str:
    """The sipp scenario of a feed: an INVITE from ``attempts.csv``'s fields, the answer, the ACK.

    Fields: 0 record id, 1 callee, 2 caller URI, 3 trunk group, 4 Date, 5 cell, 6 IMEI
    (8-6-1 digits), 7 IMSI, 8 attestation.
    """
    # sipp's [branch-N] is the branch of the message N places earlier: the INVITE's, past the
    # optional 100 and the finals (RFC 3261 §17.1.1.3: the ACK of a non-2xx shares its branch).
    answers = "\n".join(
        f'  <recv response="{status}" optional="true" next="answered"/>' for status in _FINALS[:-1]
    )
    last = f'  <recv response="{_FINALS[-1]}" next="answered"/>'
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!--
  A data set's call attempts as INVITEs (qalqan sip-feed): one INVITE per line of
  attempts.csv, in order; the screening answer (302, or 603/608 for a blocked call) is
  taken and ACKed. Play with -inf attempts.csv -l 1 to keep the order.
-->
<scenario name="qalqan recorded calls">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[field1]@[remote_ip]:[remote_port];user=phone SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <[field2]>;tag=[call_number]
      To: <sip:[field1]@[remote_ip]:[remote_port];user=phone>
      Call-ID: [field0]///[call_id]
      CSeq: 1 INVITE
      Contact: <sip:sbc;tgrp=[field3];trunk-context={TRUNK_CONTEXT}@[local_ip]:[local_port];transport=[transport]>;+sip.instance="<urn:gsma:imei:[field6]>"
      P-Asserted-Identity: <[field2]>
      Date: [field4]
      P-Access-Network-Info: 3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=[field5]
      {imsi_header}: [field7]
      P-Attestation-Indicator: [field8]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>

  <recv response="100" optional="true"/>
{answers}
{last}

  <label id="answered"/>

  <send>
    <![CDATA[

      ACK sip:[field1]@[remote_ip]:[remote_port];user=phone SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-{len(_FINALS) + 2}]
      From: <[field2]>;tag=[call_number]
      To: <sip:[field1]@[remote_ip]:[remote_port];user=phone>[peer_tag_param]
      Call-ID: [field0]///[call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""
