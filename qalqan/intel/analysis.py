"""The indicators of a ``qalqan analyze`` output folder, ready to share.

What the screening engine would list from the folder — SIM-box SIMs and their
numbers, farm handsets and cells, the number ranges of Wangiri bursts — is
taken from :meth:`~qalqan.screening.reputation.ReputationLists.load_analysis`
itself, so a partner is sent exactly what this operator screens with, and
numbers merely *presented* by spoofed calls are left out for the same reason
(they belong to innocent people). To those the feed adds what only
investigators use: each farm's estimated location, the mule accounts, e-wallets,
SIM balances and crypto addresses of ``accounts.csv``, and the campaigns' facts
(size, office day, UTC offset, farms). Each value is tied to its campaign when
the folder says which: a farm's values to the campaign its calls made up, a
range to the campaign of its one-ring calls.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from qalqan.domain.messages import parse_reasons
from qalqan.domain.model import SimVerdict
from qalqan.errors import UnreadableFileError
from qalqan.intel.model import CampaignFacts, Feed, Indicator, clip, parse_value
from qalqan.screening.reputation import Listing, ReputationLists

__all__ = ["feed_of_analysis"]


def _rows(path: Path) -> Iterator[dict[str, str]]:
    if not path.exists():
        return
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
    except OSError as exc:
        raise UnreadableFileError(path, exc.strerror or str(exc)) from None


def _int(text: str | None) -> int:
    try:
        return int(float(text or 0))
    except ValueError:
        return 0


def _campaign(row: dict[str, str]) -> CampaignFacts:
    start = end = None
    for reason in parse_reasons(row.get("reason_facts")):
        facts = reason.facts_dict()
        if reason.rule == "campaign.office_day" and facts.get("start") and facts.get("end"):
            start, end = _int(facts["start"]), _int(facts["end"])
    offset = row.get("utc_offset_h") or ""
    return CampaignFacts(
        campaign_id=row["campaign_id"],
        kind=row.get("kind") or "",
        calls=_int(row.get("n_calls")),
        victims=_int(row.get("n_victims")),
        utc_offset_h=float(offset) if offset else None,
        office_start=start,
        office_end=end,
        farms=tuple(filter(None, (row.get("farm_ids") or "").split(";"))),
        first_seen=row.get("first_seen") or "",
        last_seen=row.get("last_seen") or "",
        reasons=clip(row.get("reasons") or ""),
    )


def _wangiri_blocks(out_dir: Path) -> dict[str, tuple[str, str]]:
    """Prefix of each Wangiri range → the range as written (``+222450000xx``) and its campaign."""
    blocks: dict[str, tuple[str, str]] = {}
    for row in _rows(out_dir / "calls.csv"):
        if "wangiri." not in (row.get("reason_facts") or ""):
            continue
        for reason in parse_reasons(row.get("reason_facts")):
            block = (
                reason.facts_dict().get("range", "") if reason.rule.startswith("wangiri.") else ""
            )
            if block.rstrip("x") != block and block.rstrip("x") not in blocks:
                blocks[block.rstrip("x")] = (block, row.get("campaign_id") or "")
    return blocks


def _campaign_of_values(out_dir: Path, campaigns: tuple[CampaignFacts, ...]) -> dict[str, str]:
    """Value → campaign, for a farm's SIMs, numbers, handsets and cells."""
    of_farm = {farm: c.campaign_id for c in reversed(campaigns) for farm in c.farms}
    found: dict[str, str] = {}
    for row in _rows(out_dir / "sims.csv"):
        campaign = of_farm.get(row.get("farm_id") or "")
        if campaign and row.get("verdict") == SimVerdict.SIMBOX:
            found[row.get("imsi") or ""] = campaign
            found[row.get("msisdn") or ""] = campaign
    for row in _rows(out_dir / "farms.csv"):
        campaign = of_farm.get(row.get("farm_id") or "")
        for value in (row.get("imeis") or "").split(";") + (row.get("cells") or "").split(";"):
            if campaign and value:
                found[value] = campaign
    found.pop("", None)
    return found


def _screened(
    listing: Listing, of_value: dict[str, str], blocks: dict[str, tuple[str, str]]
) -> Indicator:
    if listing.kind != "number_range":
        value, campaign = listing.value, of_value.get(listing.value, "")
    else:  # the list keeps the prefix; feeds write the range with an x a digit
        value, campaign = blocks.get(listing.value, (listing.value + "xx", ""))
    return Indicator(
        kind=listing.kind,
        value=value,
        source=listing.source,
        reason=listing.reason,
        campaign=campaign,
    )


def _farm_places(out_dir: Path, source: str, of_value: dict[str, str]) -> Iterator[Indicator]:
    for row in _rows(out_dir / "farms.csv"):
        if not row.get("lat") or not row.get("lon"):
            continue
        farm = row.get("farm_id") or "?"
        imeis = (row.get("imeis") or "").split(";")
        yield Indicator(
            kind="location",
            value=parse_value("location", f"{row['lat']},{row['lon']}"),
            source=source,
            reason=f"estimated location of farm {farm} of {row.get('n_sims') or '?'} SIMs",
            campaign=of_value.get(imeis[0], ""),
        )


def _accounts(out_dir: Path, source: str) -> Iterator[Indicator]:
    for row in _rows(out_dir / "accounts.csv"):
        if row.get("verdict") != "mule":
            continue
        try:
            value = parse_value("account", row.get("account"))
        except ValueError:
            continue  # an account id no partner's format can carry is kept at home
        role = row.get("role") or "mule"
        reason = clip(f"mule account ({role}): {row.get('reasons') or ''}".rstrip(": "))
        yield Indicator(kind="account", value=value, source=source, reason=reason)


def feed_of_analysis(out_dir: Path, *, source: str = "qalqan analyze") -> Feed:
    """The feed of one ``qalqan analyze`` output folder; ``source`` names who says so."""
    lists = ReputationLists()
    lists.load_analysis(out_dir, source=source)
    campaigns = tuple(_campaign(row) for row in _rows(out_dir / "campaigns.csv"))
    of_value = _campaign_of_values(out_dir, campaigns)
    blocks = _wangiri_blocks(out_dir)
    screened = [
        _screened(listing, of_value, blocks)
        for table in (lists.numbers, lists.ranges, lists.imsis, lists.imeis, lists.cells)
        for listing in table.values()
    ]
    return Feed(
        source=source,
        indicators=(
            *screened,
            *_farm_places(out_dir, source, of_value),
            *_accounts(out_dir, source),
        ),
        campaigns=campaigns,
    )
