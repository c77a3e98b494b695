"""Small exchange-v1 data sets written by the tests themselves, line by line.

Every test states the exact bytes of its files, so that the line numbers and
reasons it expects can be read straight off the test.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pyarrow as pa

from qalqan.exchange.reader import DataSet
from qalqan.exchange.report import ValidationReport

CDR_COLUMNS = (
    "record_id",
    "start_time",
    "duration_s",
    "event",
    "result",
    "a_number",
    "b_number",
    "ingress",
    "a_imsi",
    "a_imei",
    "a_cell",
    "b_imsi",
    "b_cell",
)
CDR_HEADER = ",".join(CDR_COLUMNS)

CELLS = "cell_id,site_id,lat,lon,region\nC1,S1,43.25,76.95,Almaty\nC2,S1,43.26,76.94,Almaty\n"


def cdr(record_id: str, **cells: str) -> str:
    """One valid CDR line (a mobile call from cell C1 to cell C2); keyword arguments override."""
    row = {
        "record_id": record_id,
        "start_time": "2026-03-02T07:15:02Z",
        "duration_s": "30",
        "event": "voice",
        "result": "answered",
        "a_number": "+77011234567",
        "b_number": "+77021234567",
        "ingress": "mobile",
        "a_imsi": "401011234567890",
        "a_imei": "356938035643809",
        "a_cell": "C1",
        "b_imsi": "",
        "b_cell": "C2",
    }
    unknown = set(cells) - set(row)
    assert not unknown, f"not a cdrs column: {unknown}"
    row.update(cells)
    return ",".join(row[c] for c in CDR_COLUMNS)


def cdrs_text(*lines: str, header: str = CDR_HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def write(directory: Path, name: str, text: str) -> Path:
    """Write a table file; ``name`` carries the suffix (``cdrs.csv``, ``cdrs.csv.gz``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    return path


def data_set(directory: Path, *lines: str, cells: bool = True) -> Path:
    """A data set folder with ``cdrs.csv`` made of ``lines`` (and ``cells.csv`` with C1, C2)."""
    write(directory, "cdrs.csv", cdrs_text(*lines))
    if cells:
        write(directory, "cells.csv", CELLS)
    return directory


def validate(directory: Path) -> tuple[ValidationReport, Path]:
    """Validate with the quarantine in ``directory/quarantine``."""
    quarantine = directory / "quarantine"
    return DataSet.open(directory).validate(quarantine_dir=quarantine), quarantine


def accepted(directory: Path, table: str = "cdrs") -> pa.Table:
    return DataSet.open(directory).read_all(table)


def quarantined(quarantine: Path, table: str = "cdrs") -> list[dict[str, str]]:
    """The rows of a quarantine file, as the operator would open it."""
    with open(quarantine / f"{table}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def ids(table: pa.Table) -> list[str]:
    return [str(v) for v in table.column("record_id").to_pylist()]
