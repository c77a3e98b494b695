"""``qalqan sip-feed``: a data set's call attempts as INVITEs for sipp, to test a SIP integration.

A thin adapter over :func:`qalqan.sip.feed.write_feed`, which does the work and can be
called in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qalqan.cli.common import (
    EXIT_BAD_DATA,
    MaxGzipBytes,
    MaxGzipRatio,
    MaxLineBytes,
    MaxQuarantineBytes,
    MaxRejectedRows,
    console,
    err_console,
    guarded,
)
from qalqan.exchange.limits import DEFAULT_LIMITS, ReadLimits

__all__ = ["sip_feed_command"]


@guarded
def sip_feed_command(
    data_dir: Annotated[
        Path, typer.Argument(help="The data set whose calls to play (exchange-v1).")
    ],
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the feed to (created).")],
    imsi_header: Annotated[
        str, typer.Option(help="Header carrying the calling SIM's IMSI (sip.imsi_header).")
    ] = "P-Qalqan-IMSI",
    quarantine: Annotated[
        Path | None, typer.Option(help="Where rejected rows go (default: OUT_DIR/quarantine).")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Scratch space for sorting (default: a temporary folder).")
    ] = None,
    max_rejected_rows: MaxRejectedRows = DEFAULT_LIMITS.max_rejected_rows,
    max_quarantine_bytes: MaxQuarantineBytes = DEFAULT_LIMITS.max_quarantine_bytes,
    max_line_bytes: MaxLineBytes = DEFAULT_LIMITS.max_line_bytes,
    max_gzip_ratio: MaxGzipRatio = DEFAULT_LIMITS.max_gzip_ratio,
    max_gzip_bytes: MaxGzipBytes = DEFAULT_LIMITS.max_gzip_bytes,
) -> None:
    """Write every call attempt `qalqan replay` screens as one INVITE for sipp, in the same order.

    OUT_DIR gets attempts.csv (sipp -inf), scenario.xml (sipp -sf) and sip.yaml (qalqan serve
    --sip-config: the trunk groups, the region and a Date believed whatever its age, for a
    replay only). Compare the answers' X-Qalqan-Action with `qalqan replay --no-outcomes
    --analyze-every off` of the same data set.
    """
    from qalqan.sip.feed import write_feed

    quarantine = quarantine or out_dir / "quarantine"
    summary = write_feed(
        data_dir,
        out_dir,
        quarantine=quarantine,
        work_dir=work_dir,
        imsi_header=imsi_header,
        limits=ReadLimits(
            max_rejected_rows=max_rejected_rows,
            max_quarantine_bytes=max_quarantine_bytes,
            max_line_bytes=max_line_bytes,
            max_gzip_ratio=max_gzip_ratio,
            max_gzip_bytes=max_gzip_bytes,
        ),
    )
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in summary.by_ingress.most_common())
    console.print(f"{summary.attempts:,} call attempts ({kinds}) → {out_dir}", soft_wrap=True)
    unsaid = {
        "cells": summary.cells_unsaid,
        "IMEIs (not 15 digits)": summary.imeis_unsaid,
        "IMSIs": summary.imsis_unsaid,
    }
    for what, n in unsaid.items():
        if n:
            err_console.print(f"[yellow]{n:,} {what} could not be carried by an INVITE[/]")
    console.print(
        f"serve:  qalqan serve --data REFERENCE_TABLES --sip-config {summary.sip_config}\n"
        f"play:   sipp 127.0.0.1:5060 -sf {summary.scenario} -inf {summary.attempts_csv} "
        f"-m {summary.attempts} -l 1 -r 200 -trace_msg\n"
        f"expect: qalqan replay {data_dir} --no-outcomes --analyze-every off",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    if summary.rows_rejected:
        err_console.print(
            f"[yellow]{summary.rows_rejected:,} rows broke the contract and were left out; "
            f"see {quarantine}[/]"
        )
        raise typer.Exit(EXIT_BAD_DATA)
