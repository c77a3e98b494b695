"""``qalqan media check``: an operator's ONNX model scores a recording (no detector ships).

A thin adapter over :func:`qalqan.content.media.check_media`: the score is printed,
written as a JSON report beside the recording (``FILE.media.json``) and, with
``--case N --as ACCOUNT``, added to that case as a note by that account, through the
case store's own :func:`qalqan.cases.add_note` (which checks the account may write
notes and audits it). The command line's ``SYSTEM`` actor has the admin's rights, and
an admin writes no case notes, so the note is a named account's. Unusable files and models are one
line and exit code 2 (:func:`qalqan.cli.common.guarded`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from qalqan.cli.common import console, guarded

__all__ = ["media_app"]

media_app = typer.Typer(
    name="media",
    help="Score a recording with an operator's ONNX model (Qalqan ships no deepfake detector).",
    no_args_is_help=True,
    add_completion=False,
)


@media_app.command("check")
@guarded
def check_command(
    file: Annotated[Path, typer.Argument(help="A PCM WAV recording, mono 16 kHz.")],
    model: Annotated[
        Path,
        typer.Option(
            "--model", help="An ONNX model taking a mono 16 kHz float32 waveform ([N] or [1, N])."
        ),
    ],
    case: Annotated[
        int | None, typer.Option("--case", help="Add the score to this case as a note.")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="The account the note is written by, with --case: an analyst, operator or "
            "supervisor (the command line's own SYSTEM actor has the admin's rights, which "
            "write no case notes).",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="QALQAN_CASES_DB",
            help="The case store for --case (default: db in the settings file's cases table).",
            show_envvar=True,
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.01, max=3600, help="Seconds the model may run.")
    ] = 60.0,
    score_index: Annotated[
        int,
        typer.Option("--score-index", min=0, help="Which value of the first output is the score."),
    ] = 0,
    lang: Annotated[
        str, typer.Option("--lang", help="The reason's language: ru, kk or en.")
    ] = "ru",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run the model on the recording; write FILE.media.json beside it; optionally note a case."""
    from qalqan.content.media import check_media, write_report

    if case is not None and as_user is None:
        raise typer.BadParameter(
            "--case needs --as ACCOUNT, who writes the note", param_hint="--as"
        )
    result = check_media(file, model, time_limit_s=time_limit, score_index=score_index)
    report = write_report(result)
    note = None
    if case is not None:
        note = _note_case(case, db, str(as_user), f"{result.reasons[0].detail} Report: {report}")
    if as_json:
        console.print_json(
            json.dumps({**result.as_data(), "report": str(report), "case_note": note})
        )
        return
    console.print(f"{escape(str(file))}: score {result.score:.4f} ({result.inference_s:.2f} s)")
    console.print(f"  {escape(result.reasons[0].detail_in(lang))}")
    console.print(f"  report: {escape(str(report))}")
    if note is not None:
        console.print(f"  note {note} added to case {case}")


def _note_case(case: int, db: str | None, name: str, text: str) -> int:
    """Add ``text`` to case ``case`` as a note by the account ``name``; the note's id."""
    from qalqan.cases import add_note
    from qalqan.cases.store import CaseStore
    from qalqan.cases.users import actor_named
    from qalqan.cli.cases import _configured_store, _database_errors

    with (
        _database_errors(),
        CaseStore.open(db or _configured_store()) as store,
        store.transaction() as session,
    ):
        actor = actor_named(session, name)
        if actor is None:
            raise typer.BadParameter(f"no account named '{name}'", param_hint="--as")
        return add_note(session, actor, case, text).id
