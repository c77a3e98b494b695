"""What an INVITE says beyond the numbers: when, from which cell and handset, how well attested.

Pure readers of single header values, each bounded in what it reads and never raising on
what a caller sends (anything unreadable is None), and their writers, so that a feed of
INVITEs (:mod:`qalqan.sip.feed`) says exactly what these read back:

- :func:`parse_sip_date` / :func:`format_sip_date`: the RFC 3261 ``Date`` header, RFC 1123
  form in GMT (``Sat, 13 Nov 2010 23:29:00 GMT``), one-second resolution;
- :func:`parse_access_cell` / :func:`format_access_network`: the serving cell of a
  mobile-originated call from ``P-Access-Network-Info`` (3GPP TS 24.229 §7.2A.4:
  ``3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=<cell>``), a value marked ``network-provided``
  (added by the P-CSCF) preferred to the handset's own;
- :func:`parse_instance_imei` / :func:`format_instance_imei`: the handset's IMEI from the
  Contact's ``+sip.instance`` (RFC 7254 ``urn:gsma:imei:TAC-SNR-D``: 8, 6 and 1 digits,
  the 15 digits of the IMEI as the CDRs keep it);
- :func:`parse_imsi`: the SIM's IMSI from the header the operator configures (no
  standard INVITE header carries it);
- :func:`parse_attestation`: the STIR/SHAKEN attestation the SBC verified, from
  ``P-Attestation-Indicator`` (ATIS-1000082) or the ``verstat`` parameter of the asserted
  identity (TS 24.229) when it names a level (``TN-Validation-Passed-A``).

These headers are believed as ``P-Asserted-Identity`` is: the SBC in front of Qalqan
removes them from whatever it does not trust.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from qalqan.domain.model import ATTESTATIONS

__all__ = [
    "MAX_CELL_CHARS",
    "format_access_network",
    "format_instance_imei",
    "format_sip_date",
    "parse_access_cell",
    "parse_attestation",
    "parse_imsi",
    "parse_instance_imei",
    "parse_sip_date",
]

MAX_CELL_CHARS = 64
"""The longest cell id believed; a real one (MCC, MNC, TAC, cell identity) is under 20."""
_MAX_VALUE_CHARS = 512
"""Header values longer than this are not read at all."""

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT"
)
_CELL_PARAMS = ("utran-cell-id-3gpp", "cgi-3gpp")
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_INSTANCE = re.compile(r'\+sip\.instance\s*=\s*"<([^">]{1,128})>"', re.IGNORECASE)
_IMEI_URN = re.compile(r"urn:gsma:imei:(\d{8})-(\d{6})-(\d)(?:;.*)?", re.IGNORECASE)
_IMSI = re.compile(r"\d{6,15}")
_VERSTAT = re.compile(r"[;?&]verstat=TN-Validation-Passed-([ABC])(?=$|[;>&?\s])", re.IGNORECASE)


# --- Date ---------------------------------------------------------------------------------


def parse_sip_date(value: str | None) -> datetime | None:
    """The moment a ``Date`` header names (UTC), or None when it is not RFC 1123 in GMT.

    A weekday that does not match the date is a broken clock: None.

    >>> parse_sip_date("Mon, 02 Mar 2026 00:01:19 GMT")
    datetime.datetime(2026, 3, 2, 0, 1, 19, tzinfo=datetime.timezone.utc)
    >>> parse_sip_date("Tue, 02 Mar 2026 00:01:19 GMT") is None
    True
    """
    if value is None or len(value) > 64:
        return None
    match = _DATE.fullmatch(value.strip())
    if match is None:
        return None
    day, dd, month, yyyy, hh, mm, ss = match.groups()
    try:
        moment = datetime(
            int(yyyy), _MONTHS.index(month) + 1, int(dd), int(hh), int(mm), int(ss), tzinfo=UTC
        )
    except ValueError:
        return None
    if _DAYS[moment.weekday()] != day:
        return None
    return moment


def format_sip_date(moment: datetime) -> str:
    """``moment`` as a ``Date`` header value (RFC 1123, GMT, whole seconds)."""
    utc = moment.astimezone(UTC)
    return (
        f"{_DAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT"
    )


# --- P-Access-Network-Info ----------------------------------------------------------------


def _access_params(value: str) -> tuple[str, dict[str, str]] | None:
    """The access type and the parameters (names lower-cased) of one header value."""
    if len(value) > _MAX_VALUE_CHARS:
        return None
    access, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for raw in rest.split(";"):
        name, sep, text = raw.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        params.setdefault(name, text if sep else "")
    return access.strip(), params


def parse_access_cell(values: list[str]) -> str | None:
    """The serving cell the ``P-Access-Network-Info`` values name, or None.

    The value of a 3GPP radio access (``3GPP-E-UTRAN-FDD``, ``3GPP-NR-TDD``, ...) with a
    ``utran-cell-id-3gpp`` (or GERAN's ``cgi-3gpp``) is taken as the operator's cell id,
    as the ``cells`` table keeps it; one marked ``network-provided`` wins over the
    handset's own (TS 24.229: the P-CSCF adds it, the handset could write anything).

    >>> parse_access_cell(["3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=C00048-2"])
    'C00048-2'
    """
    found: str | None = None
    for value in values[:4]:
        read = _access_params(value)
        if read is None or not read[0].upper().startswith("3GPP-"):
            continue
        params = read[1]
        cell = next((params[name] for name in _CELL_PARAMS if params.get(name)), None)
        if cell is None or len(cell) > MAX_CELL_CHARS or not cell.isprintable():
            continue
        if "network-provided" in params:
            return cell
        found = found or cell
    return found


def format_access_network(cell: str, *, access: str = "3GPP-E-UTRAN-FDD") -> str:
    """A ``P-Access-Network-Info`` value naming ``cell`` (quoted when it is not a token)."""
    shown = cell if _TOKEN.fullmatch(cell) else '"' + cell.replace('"', "") + '"'
    return f"{access}; utran-cell-id-3gpp={shown}"


# --- +sip.instance (IMEI) -----------------------------------------------------------------


def parse_instance_imei(contacts: list[str]) -> str | None:
    """The 15-digit IMEI of the first Contact whose ``+sip.instance`` is an RFC 7254 IMEI URN.

    >>> parse_instance_imei(['<sip:u@192.0.2.1>;+sip.instance="<urn:gsma:imei:35209900-176148-0>"'])
    '352099001761480'
    """
    for value in contacts[:4]:
        if len(value) > _MAX_VALUE_CHARS:
            continue
        for match in _INSTANCE.finditer(value):
            urn = _IMEI_URN.fullmatch(match.group(1).strip())
            if urn is not None:
                return "".join(urn.groups())
    return None


def format_instance_imei(imei: str) -> str | None:
    """The ``+sip.instance`` value (quotes included) of a 15-digit IMEI; None for any other."""
    if len(imei) != 15 or not (imei.isdigit() and imei.isascii()):
        return None
    return f'"<urn:gsma:imei:{imei[:8]}-{imei[8:14]}-{imei[14]}>"'


# --- IMSI ---------------------------------------------------------------------------------


def parse_imsi(value: str | None) -> str | None:
    """The IMSI a header value holds: 6 to 15 digits, optionally as ``imsi:...``; else None."""
    if value is None or len(value) > 64:
        return None
    text = value.strip()
    if text[:5].lower() == "imsi:":
        text = text[5:]
    return text if _IMSI.fullmatch(text) and text.isascii() else None


# --- attestation --------------------------------------------------------------------------


def parse_attestation(indicator: str | None, identities: list[str]) -> str | None:
    """The attestation (A, B or C) the SBC verified, or None.

    ``indicator`` is the ``P-Attestation-Indicator`` value (ATIS-1000082); else the
    ``verstat`` parameter of an asserted identity (``identities``: the
    ``P-Asserted-Identity`` values, then ``From``) when it names the level
    (``TN-Validation-Passed-A``). A bare ``TN-Validation-Passed`` names no level, and a
    failed validation is no attestation: None.

    >>> parse_attestation(" a ", [])
    'A'
    >>> parse_attestation(None, ["<tel:+77011234567;verstat=TN-Validation-Passed-C>"])
    'C'
    """
    if indicator is not None and len(indicator) <= 8:
        level = indicator.strip().upper()
        if level in ATTESTATIONS:
            return level
    for value in identities[:4]:
        if len(value) > _MAX_VALUE_CHARS:
            continue
        match = _VERSTAT.search(value)
        if match is not None:
            return match.group(1).upper()
    return None
