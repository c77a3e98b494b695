"""``qalqan content classify`` and ``clusters``: the scheme a text tells and why; texts grouped by script.

A thin adapter over :mod:`qalqan.content.schemes` (the cached classifier, in
the models folder of :class:`~qalqan.training.cache.ModelSettings`) and
:mod:`qalqan.content.text_file` (a CSV file read within bounds). A text longer
than the limit is judged on its start, and the verdict says so; a file past its
limits is one line and exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from qalqan.cli.common import console, guarded
from qalqan.content.clusters import SAME_SCRIPT, TextCluster, cluster_reports
from qalqan.content.schemes import SchemeVerdict, TextInputError, cached_classifier
from qalqan.content.text_file import MAX_ROWS, read_texts
from qalqan.domain.messages import LANGUAGES

__all__ = ["content_app"]

content_app = typer.Typer(
    name="content",
    help="Judge texts (call transcripts, SMS, posts, ads): the scam scheme they tell and why.",
    no_args_is_help=True,
    add_completion=False,
)


def _models_folder() -> Path | None:
    """Where the models are cached. (The training package is imported here, when a command
    runs, not by every ``qalqan`` command at start-up.)"""
    from qalqan.training.cache import ModelSettings

    return ModelSettings.from_env().folder


def _as_dict(row_id: str, verdict: SchemeVerdict) -> dict[str, object]:
    return {
        "id": row_id,
        "scheme": verdict.scheme,
        "title": verdict.title,
        "score": round(verdict.score, 4),
        "scam_score": round(verdict.scam_score, 4),
        "phrases": [
            {"text": p.text, "start": p.start, "end": p.end, "weight": p.weight}
            for p in verdict.phrases
        ],
        "reasons": [r.as_data() for r in verdict.reasons()],
    }


def _print(row_id: str | None, verdict: SchemeVerdict, lang: str) -> None:
    head = f"{row_id}: " if row_id is not None else ""
    console.print(
        f"{head}{verdict.scheme} ({verdict.title}) score {verdict.score:.2f}, scam {verdict.scam_score:.2f}",
        soft_wrap=True,
        markup=False,
    )
    for phrase, reason in zip(verdict.phrases, verdict.reasons()[1:], strict=False):
        where = f"[{phrase.start}:{phrase.end}] {phrase.weight:+.2f}"
        console.print(f"  {where} {reason.detail_in(lang)}", soft_wrap=True, markup=False)
    for note in verdict.notes:
        console.print(f"  note: {note.detail_in(lang)}", soft_wrap=True, markup=False)


#: The options of a CSV file of texts, as ``classify`` and ``clusters`` read it.
TextColumn = Annotated[str, typer.Option("--column", help="The file's column holding the text.")]
IdColumn = Annotated[
    str | None,
    typer.Option("--id-column", help="The file's column naming each row (default: its line)."),
]
MaxRows = Annotated[int, typer.Option("--max-rows", help="Refuse a file with more rows.", min=1)]


@content_app.command("classify")
@guarded
def classify_command(
    text: Annotated[str | None, typer.Argument(help="The text to judge (or --file).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A UTF-8 CSV file of texts.")] = None,
    column: TextColumn = "text",
    id_column: IdColumn = None,
    max_rows: MaxRows = MAX_ROWS,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per text.")] = False,
    lang: Annotated[
        str, typer.Option("--lang", help="The language of the reasons: en, ru or kk.")
    ] = "en",
) -> None:
    """Print each text's scheme, its score and the phrases that decided it."""
    if lang not in LANGUAGES:
        raise TextInputError(f"--lang {lang}: not one of {', '.join(LANGUAGES)}")
    if (text is None) == (file is None):
        raise TextInputError("give either a TEXT or --file F.csv, not both nor neither")
    rows = (
        [(None, text or "")]
        if file is None
        else [
            (r.row_id, r.text)
            for r in read_texts(file, column=column, id_column=id_column, max_rows=max_rows)
        ]
    )
    classifier = cached_classifier(_models_folder())
    for row_id, body in rows:
        verdict = classifier.classify(body)
        if as_json:
            typer.echo(json.dumps(_as_dict(row_id or "", verdict), ensure_ascii=False))
        else:
            _print(row_id, verdict, lang)


@content_app.command("clusters")
@guarded
def clusters_command(
    file: Annotated[Path, typer.Argument(help="A UTF-8 CSV file of texts (reports, transcripts).")],
    column: TextColumn = "text",
    id_column: IdColumn = None,
    max_rows: MaxRows = MAX_ROWS,
    threshold: Annotated[
        float,
        typer.Option(
            help="Jaccard similarity of two texts' shingles that ties them.", min=0.05, max=1.0
        ),
    ] = SAME_SCRIPT,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per cluster.")] = False,
) -> None:
    """Group the texts by script, largest group first, each with its scheme and phrases."""
    rows = read_texts(file, column=column, id_column=id_column, max_rows=max_rows)
    classifier = cached_classifier(_models_folder())
    found = cluster_reports(
        [(r.row_id, r.text) for r in rows], classifier=classifier, threshold=threshold
    )
    for cluster in found:
        if as_json:
            typer.echo(json.dumps(_cluster_dict(cluster), ensure_ascii=False))
            continue
        shown = ", ".join(cluster.ids[:10]) + (
            f" and {len(cluster.ids) - 10} more" if len(cluster.ids) > 10 else ""
        )
        console.print(f"{cluster.cluster_id}: {cluster.summary()}", soft_wrap=True, markup=False)
        console.print(f"  ids: {shown}", soft_wrap=True, markup=False)
        console.print(f"  example: {cluster.example[:200]}", soft_wrap=True, markup=False)


def _cluster_dict(cluster: TextCluster) -> dict[str, object]:
    return {
        "cluster_id": cluster.cluster_id,
        "ids": list(cluster.ids),
        "scheme": cluster.scheme,
        "share": round(cluster.score, 4),
        "report_category": cluster.report_category,
        "example": cluster.example,
        "phrases": [p.text for p in cluster.phrases],
    }
