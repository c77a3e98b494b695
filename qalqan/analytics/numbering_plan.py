"""The numbering plan as data, and one SQL query that reads every number by it.

:func:`qalqan.domain.numbers.describe` asks ``phonenumbers`` about one number at a
time (about 200 µs each: 76 s for the 364,000 distinct calling numbers of ten million
call records). The answers come from a few hundred rows of metadata — per country
calling code its regions, per region its number types, each a digit pattern and its
possible lengths — so the same answers can be computed by the engine for all numbers
at once: :func:`numbering_plan` lays the metadata out as a table, and
:func:`number_facts_sql` writes it into one query that gives each number its region,
validity and kind exactly as ``describe`` does.

What ``describe`` does, step by step, and where each step is in the query:

1. the country calling code is the 1 to 3 leading digits that name one (codes are
   prefix-free); no code, no facts (region NULL, not valid);
2. a national prefix written after the country code (``+7 8 701…``) is stripped the
   way ``phonenumbers.parse`` strips it, transform rules included (Argentina, Brazil,
   Japan and four others), and only when what is left has a possible length;
3. the region is the only region of the code, or, for a shared code, the first region
   whose leading digits start the number, or without leading digits whose patterns
   match it (the main region first);
4. the kind is the first number type whose lengths and pattern fit, in
   ``phonenumbers``' precedence; a number is valid when it has a kind;
5. a number no region claims still belongs to its code's main region, and on +7 to
   Kazakhstan for the 6xx and 7xx ranges, to Russia for the rest.

Patterns are written into the query as constants (the engine compiles each once; a
pattern read from a column is compiled per row, 36 µs each) and anchored
(``^(?:…)$``) so that the query transpiles to Spark's ``RLIKE`` unchanged in meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import phonenumbers
import pyarrow as pa
from phonenumbers import PhoneMetadata, PhoneNumberType

from qalqan.domain.numbers import E164_PATTERN, KIND_NAMES

__all__ = ["NUMBER_TYPES", "number_facts_sql", "numbering_plan"]

#: Number types in the order ``phonenumbers`` tests them (``_number_type_helper``):
#: the first that fits names the number, fixed line and mobile last.
NUMBER_TYPES: tuple[tuple[str, int], ...] = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
    ("fixed_line", PhoneNumberType.FIXED_LINE),
    ("mobile", PhoneNumberType.MOBILE),
)

#: +7 is shared: Kazakhstan holds the ranges whose national number starts with these
#: digits, Russia the rest (as :func:`qalqan.domain.numbers._region_by_prefix`).
SHARED_PLUS7 = {"country_code": 7, "leads": "67", "region": "KZ", "others": "RU"}

_NON_GEO = "001"


def _desc_columns(name: str, desc: object) -> dict[str, object]:
    pattern = getattr(desc, "national_number_pattern", None) if desc is not None else None
    lengths = list(getattr(desc, "possible_length", ()) or ()) if desc is not None else []
    return {f"{name}_pattern": pattern or None, f"{name}_lengths": lengths}


def _plan_row(code: int, region: str, rank: int) -> dict[str, object] | None:
    meta = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if meta is None:
        return None
    general = meta.general_desc
    row: dict[str, object] = {
        "country_code": code,
        "region": region,
        "rank": rank,
        "leading_digits": meta.leading_digits,
        "national_prefix_for_parsing": meta.national_prefix_for_parsing or None,
        "national_prefix_transform_rule": meta.national_prefix_transform_rule or None,
        "same_mobile_and_fixed_line_pattern": bool(meta.same_mobile_and_fixed_line_pattern),
        "general_local_lengths": list(getattr(general, "possible_length_local_only", ()) or ()),
    }
    row.update(_desc_columns("general", general))
    for name, number_type in NUMBER_TYPES:
        row.update(_desc_columns(name, _desc_of(meta, number_type)))
    return row


def _desc_of(meta: PhoneMetadata, number_type: int) -> object:
    return {
        PhoneNumberType.PREMIUM_RATE: meta.premium_rate,
        PhoneNumberType.TOLL_FREE: meta.toll_free,
        PhoneNumberType.SHARED_COST: meta.shared_cost,
        PhoneNumberType.VOIP: meta.voip,
        PhoneNumberType.PERSONAL_NUMBER: meta.personal_number,
        PhoneNumberType.PAGER: meta.pager,
        PhoneNumberType.UAN: meta.uan,
        PhoneNumberType.VOICEMAIL: meta.voicemail,
        PhoneNumberType.FIXED_LINE: meta.fixed_line,
        PhoneNumberType.MOBILE: meta.mobile,
    }[number_type]


@lru_cache(maxsize=1)
def numbering_plan() -> pa.Table:
    """One row per (country calling code, region): its patterns, lengths and prefixes.

    ``rank`` 0 is the code's main region, then the others in the order ``phonenumbers``
    tries them; non-geographic codes (+800, +882, …) have region ``001``.
    """
    rows = []
    for code, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        for rank, region in enumerate(regions):
            row = _plan_row(code, region, rank)
            if row is not None:
                rows.append(row)
    return pa.Table.from_pylist(rows)


# --- the query ------------------------------------------------------------------------


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ints(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in values)


def _fits(column: str, pattern: str | None, lengths: Sequence[int]) -> str:
    """SQL: ``column`` has one of ``lengths`` (when given) and fully matches ``pattern``."""
    if not pattern:
        return "FALSE"
    match = f"regexp_matches({column}, {_lit('^(?:' + pattern + ')$')})"
    if not lengths:
        return match
    return f"(length({column}) IN ({_ints(lengths)}) AND {match})"


def _kind(column: str, row: dict[str, object]) -> str:
    """SQL: the kind of ``column`` by one region's metadata, 'unknown' when none fits."""

    def fits(name: str) -> str:
        return _fits(column, row[f"{name}_pattern"], row[f"{name}_lengths"])  # type: ignore[arg-type]

    names = {name: KIND_NAMES[number_type] for name, number_type in NUMBER_TYPES}
    whens = [f"WHEN NOT {fits('general')} THEN 'unknown'"]
    whens += [f"WHEN {fits(name)} THEN '{names[name]}'" for name, _ in NUMBER_TYPES[:8]]
    both = KIND_NAMES[PhoneNumberType.FIXED_LINE_OR_MOBILE]
    if row["same_mobile_and_fixed_line_pattern"]:
        whens.append(f"WHEN {fits('fixed_line')} THEN '{both}'")
    else:
        fixed = f"CASE WHEN {fits('mobile')} THEN '{both}' ELSE '{names['fixed_line']}' END"
        whens.append(f"WHEN {fits('fixed_line')} THEN {fixed}")
        whens.append(f"WHEN {fits('mobile')} THEN '{names['mobile']}'")
    return "CASE " + " ".join(whens) + " ELSE 'unknown' END"


def _by_code(rows: Iterable[dict[str, object]], expr: object, default: str) -> str:
    """SQL: CASE on the country code, one branch per row that has an expression."""
    branches = []
    for row in rows:
        sql = expr(row)  # type: ignore[operator]
        if sql is not None:
            branches.append(f"WHEN {row['country_code']} THEN {sql}")
    if not branches:
        return default
    return "CASE cc " + " ".join(branches) + f" ELSE {default} END"


def _country_code(plan: list[dict[str, object]]) -> str:
    """SQL: the country calling code leading the digits ``d``, NULL when none does."""
    codes = sorted({str(row["country_code"]) for row in plan})
    whens = []
    for size in (1, 2, 3):
        sized = ", ".join(_lit(c) for c in codes if len(c) == size)
        lead = f"substr(d, 1, {size})"
        whens.append(f"WHEN {lead} IN ({sized}) THEN CAST({lead} AS INTEGER)")
    return "CASE " + " ".join(whens) + " END"


def _prefix(row: dict[str, object]) -> str:
    return _lit("^(?:" + str(row["national_prefix_for_parsing"]) + ")")


def _transformed(row: dict[str, object]) -> str | None:
    """SQL: the national number after a transform rule, NULL when its last group is unused."""
    rule = row["national_prefix_transform_rule"]
    prefix = row["national_prefix_for_parsing"]
    if not rule or not prefix:
        return None
    last = re.compile(str(prefix)).groups
    parts = []
    for piece in re.split(r"(\\\d)", str(rule)):
        if re.fullmatch(r"\\\d", piece):
            parts.append(f"regexp_extract(raw, {_prefix(row)}, {piece[1]})")
        elif piece:
            parts.append(_lit(piece))
    rest = f"substr(raw, length(regexp_extract(raw, {_prefix(row)}, 0)) + 1)"
    expansion = " || ".join([*parts, rest])
    return f"CASE WHEN regexp_extract(raw, {_prefix(row)}, {last}) <> '' THEN {expansion} END"


def _stripping(main: list[dict[str, object]]) -> dict[str, str]:
    """SQL of each step of a national prefix's stripping, by the code's main region."""
    with_prefix = [row for row in main if row["national_prefix_for_parsing"]]

    def general(column: str, row: dict[str, object]) -> str:
        return _fits(column, row["general_pattern"], ())  # type: ignore[arg-type]

    def possible(row: dict[str, object]) -> str:
        lengths = row["general_lengths"]
        local = row["general_local_lengths"] or [-1]
        return (
            f"((length(cand) IN ({_ints(lengths)}) OR length(cand) > {max(lengths)})"  # type: ignore[call-overload, arg-type]
            f" AND length(cand) NOT IN ({_ints(local)}))"  # type: ignore[arg-type]
        )

    strip = _by_code(
        with_prefix,
        lambda r: f"substr(raw, length(regexp_extract(raw, {_prefix(r)}, 0)) + 1)",
        "raw",
    )
    return {
        "matched": _by_code(with_prefix, lambda r: f"regexp_matches(raw, {_prefix(r)})", "FALSE"),
        "stripped": f"coalesce({_by_code(with_prefix, _transformed, 'NULL')}, {strip})",
        "lost": _by_code(
            with_prefix, lambda r: f"({general('raw', r)} AND NOT {general('s', r)})", "FALSE"
        ),
        "possible": _by_code(main, possible, "FALSE"),
    }


def _region_choice(plan: list[dict[str, object]]) -> str:
    """SQL: the region ``phonenumbers.region_code_for_number`` names, NULL when none."""
    by_code: dict[int, list[dict[str, object]]] = {}
    for row in plan:
        by_code.setdefault(int(row["country_code"]), []).append(row)  # type: ignore[call-overload]

    def choice(row: dict[str, object]) -> str:
        regions = by_code[int(row["country_code"])]  # type: ignore[call-overload]
        if len(regions) == 1:
            return _lit(str(row["region"]))
        whens = []
        for region in regions:
            digits = region["leading_digits"]
            claims = (
                f"regexp_matches(nsn, {_lit('^(?:' + str(digits) + ')')})"
                if digits
                else f"{_kind('nsn', region)} <> 'unknown'"
            )
            whens.append(f"WHEN {claims} THEN {_lit(str(region['region']))}")
        return "CASE " + " ".join(whens) + " END"

    return _by_code([r for r in plan if r["rank"] == 0], choice, "NULL")


def _kind_of_choice(plan: list[dict[str, object]]) -> str:
    """SQL: the number's kind by the metadata of its chosen region."""
    non_geo = [row for row in plan if row["region"] == _NON_GEO]
    geo = " ".join(
        f"WHEN {_lit(str(row['region']))} THEN {_kind('nsn', row)}"
        for row in plan
        if row["region"] != _NON_GEO
    )
    by_non_geo = _by_code(non_geo, lambda r: _kind("nsn", r), "'unknown'")
    by_geo = f"CASE chosen {geo} ELSE 'unknown' END" if geo else "'unknown'"
    return f"CASE WHEN chosen = '{_NON_GEO}' THEN {by_non_geo} ELSE {by_geo} END"


def _region(main: list[dict[str, object]]) -> str:
    """SQL: the chosen region of a valid number, else the region its code belongs to."""
    plus7 = SHARED_PLUS7
    fallback = _by_code(
        [row for row in main if row["region"] != _NON_GEO],
        lambda r: _lit(str(r["region"])),
        "NULL",
    )
    return (
        f"CASE WHEN kind <> 'unknown' AND chosen <> '{_NON_GEO}' THEN chosen"
        f" WHEN cc = {plus7['country_code']} THEN CASE WHEN regexp_matches(nsn, '^0*[{plus7['leads']}]')"
        f" THEN '{plus7['region']}' ELSE '{plus7['others']}' END"
        f" ELSE {fallback} END"
    )


def country_codes(leads: Iterable[str]) -> tuple[int, ...]:
    """The country calling codes that begin numbers whose first digits are ``leads``.

    ``leads`` are the first three digits after the ``+`` of each distinct number (a
    few hundred): the query then carries the patterns of these countries only, which
    the engine compiles in milliseconds instead of the whole world's in seconds.
    """
    known = {str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
    found = set()
    for lead in leads:
        for size in (1, 2, 3):
            if lead[:size] in known:
                found.add(int(lead[:size]))
                break
    return tuple(sorted(found))


@lru_cache(maxsize=16)
def number_facts_sql(numbers: str, codes: tuple[int, ...] | None = None) -> str:
    """One query giving ``number, region, valid, kind, domestic`` for the numbers of ``numbers``.

    ``numbers`` is a query with one column ``number``; ``codes`` the country calling
    codes among them (all when None: a number of another code would be read as having
    none). The query takes one parameter, the operator's home region (``domestic`` is
    ``region = home``). DuckDB dialect, transpiled to Spark by sqlglot.
    """
    plan = numbering_plan().to_pylist()
    if codes is not None:
        plan = [row for row in plan if row["country_code"] in set(codes)]
    main = [row for row in plan if row["rank"] == 0]
    strip = _stripping(main)
    return f"""
WITH n0 AS (SELECT number, CASE WHEN regexp_matches(number, {_lit(E164_PATTERN)})
                          THEN substr(number, 2) END AS d FROM ({numbers}) AS src),
n1 AS (SELECT number, d, {_country_code(numbering_plan().to_pylist())} AS cc FROM n0),
n2 AS (SELECT number, cc, substr(d, length(CAST(cc AS VARCHAR)) + 1) AS raw FROM n1),
n3 AS (SELECT number, cc, raw, {strip["matched"]} AS matched FROM n2),
n4 AS (SELECT number, cc, raw, matched,
              CASE WHEN matched THEN {strip["stripped"]} END AS s FROM n3),
n5 AS (SELECT number, cc, raw,
              CASE WHEN NOT matched THEN raw WHEN {strip["lost"]} THEN raw ELSE s END AS cand
       FROM n4),
n6 AS (SELECT number, cc,
              CASE WHEN cand = raw THEN raw WHEN {strip["possible"]} THEN cand ELSE raw END AS nsn
       FROM n5),
n7 AS (SELECT number, cc, nsn, {_region_choice(plan)} AS chosen FROM n6),
n8 AS (SELECT number, cc, nsn, chosen, coalesce({_kind_of_choice(plan)}, 'unknown') AS kind
       FROM n7),
n9 AS (SELECT number, {_region(main)} AS region, kind <> 'unknown' AS valid, kind FROM n8)
SELECT number, region, valid, kind, coalesce(region = ?, FALSE) AS domestic FROM n9
"""
