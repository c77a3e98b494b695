"""The package's report for people: HTML and PDF, in Russian and in English.

The report says what the data files say, table by table, with a heading for
each in the reader's language; the files stay the evidence, the report points
to them. A table longer than :data:`MAX_REPORT_ROWS` is cut in the report (it
says so and names the file that has every row). The PDF is drawn with
reportlab in the DejaVu fonts, which cover Cyrillic, so it is made offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from jinja2 import Environment, select_autoescape

from qalqan.evidence.collect import CaseEvidence, Table

__all__ = ["FONT_DIRS", "LANGUAGES", "MAX_REPORT_ROWS", "ReportInfo", "write_html", "write_pdf"]

LANGUAGES: Final = ("ru", "en")
MAX_REPORT_ROWS: Final = 2000
FONT_DIRS: Final = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)

WORDS: Final[dict[str, dict[str, str]]] = {
    "title": {"en": "Evidence package", "ru": "Пакет доказательств"},
    "case": {"en": "Case", "ru": "Дело"},
    "status": {"en": "Status", "ru": "Статус"},
    "opened": {"en": "Opened", "ru": "Открыто"},
    "closed": {"en": "Closed", "ru": "Закрыто"},
    "made": {"en": "Package made", "ru": "Пакет сформирован"},
    "by": {"en": "by", "ru": "кем"},
    "signer": {"en": "Signing key fingerprint", "ru": "Отпечаток ключа подписи"},
    "verify": {
        "en": "Every file is listed with its SHA-256 in manifest.json, which is signed "
        "(manifest.sig). Check it with `qalqan evidence verify FOLDER --public-key KEY.pem`.",
        "ru": "Каждый файл перечислен с его SHA-256 в manifest.json, который подписан "
        "(manifest.sig). Проверка: `qalqan evidence verify ПАПКА --public-key КЛЮЧ.pem`.",
    },
    "calls": {"en": "Intercepted calls", "ru": "Перехваченные звонки"},
    "entities": {"en": "Numbers, SIMs (IMSI), handsets (IMEI), cells, accounts",
                 "ru": "Номера, SIM-карты (IMSI), аппараты (IMEI), соты, счета"},
    "farms": {"en": "SIM farms and their estimated location",
              "ru": "SIM-фермы и их расчётное местоположение"},
    "farm_tracks": {"en": "Where the equipment stood, in time order",
                    "ru": "Перемещения оборудования во времени"},
    "campaigns": {"en": "Campaigns: UTC offset and office hours",
                  "ru": "Кампании: часовой пояс и рабочие часы"},
    "money": {"en": "Money chain", "ru": "Денежная цепочка"},
    "notes": {"en": "Investigators' notes", "ru": "Заметки следователей"},
    "escalations": {"en": "Escalations to the prosecutor", "ru": "Передачи прокурору"},
    "actions": {"en": "What operators did on the calls", "ru": "Действия операторов по звонкам"},
    "audit": {"en": "Audit trail of the case", "ru": "Журнал аудита по делу"},
    "none": {"en": "none", "ru": "нет"},
    "cut": {"en": "first {n} of {total} rows; every row is in {file}",
            "ru": "первые {n} из {total} строк; все строки в {file}"},
    "file": {"en": "file", "ru": "файл"},
    "remarks": {"en": "Left out", "ru": "Не включено"},
}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInfo:
    """What the report says about the package itself."""

    made_at: datetime
    made_by: str
    signer: str


def _word(name: str, language: str) -> str:
    """The report's own word ``name`` (:data:`WORDS`) in ``language``."""
    return WORDS[name][language]


def _sections(evidence: CaseEvidence) -> list[tuple[str, Table]]:
    return [(t.name, t) for t in evidence.tables()]


def _rows(table: Table) -> Sequence[tuple[str, ...]]:
    return table.rows[:MAX_REPORT_ROWS]


def _cut(table: Table, language: str) -> str:
    if len(table.rows) <= MAX_REPORT_ROWS:
        return ""
    return _word("cut", language).format(
        n=MAX_REPORT_ROWS, total=len(table.rows), file=f"data/{table.name}.csv"
    )


_HTML = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ word('title') }}: {{ word('case') }} #{{ e.case_id }}</title>
<style>
body{font-family:"DejaVu Sans",sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}
td,th{border:1px solid #999;padding:.2em .4em;vertical-align:top;text-align:left}
th{background:#eee}.meta td{border:none}
</style></head><body>
<h1>{{ word('title') }}: {{ word('case') }} #{{ e.case_id }} — {{ e.title }}</h1>
<table class="meta">
<tr><td>{{ word('status') }}</td><td>{{ e.status }}</td></tr>
<tr><td>{{ word('opened') }}</td><td>{{ e.opened_at.isoformat() }} {{ word('by') }}: {{ e.opened_by or '' }}</td></tr>
{% if e.closed_at %}<tr><td>{{ word('closed') }}</td><td>{{ e.closed_at.isoformat() }} ({{ e.close_reason }})</td></tr>{% endif %}
<tr><td>{{ word('made') }}</td><td>{{ info.made_at.isoformat() }} {{ word('by') }}: {{ info.made_by }}</td></tr>
<tr><td>{{ word('signer') }}</td><td><code>{{ info.signer }}</code></td></tr>
</table>
<p>{{ word('verify') }}</p>
{% if e.remarks %}<p><b>{{ word('remarks') }}:</b> {{ e.remarks | join('; ') }}</p>{% endif %}
{% for key, t in sections %}
<h2>{{ word(key) }}</h2>
<p>{{ word('file') }}: <code>data/{{ t.name }}.csv</code></p>
{% if not t.rows %}<p>{{ word('none') }}</p>{% else %}
{% if cut(t) %}<p><i>{{ cut(t) }}</i></p>{% endif %}
<table><tr>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in rows(t) %}<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
{% endfor %}
</body></html>
"""


def write_html(path: Path, evidence: CaseEvidence, info: ReportInfo, language: str) -> None:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_HTML)
    path.write_text(
        template.render(
            lang=language,
            e=evidence,
            info=info,
            sections=_sections(evidence),
            word=lambda w: _word(w, language),
            cut=lambda t: _cut(t, language),
            rows=_rows,
        ),
        encoding="utf-8",
    )


def _font(name: str) -> Path:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    from qalqan.evidence.errors import EvidenceError

    raise EvidenceError(
        f"the PDF report needs the DejaVu fonts ({name}) for Cyrillic: install fonts-dejavu-core"
    )


def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(_font("DejaVuSans.ttf"))))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(_font("DejaVuSans-Bold.ttf"))))


def _widths(table: Table, total: float) -> list[float]:
    """Column widths in proportion to what the columns hold (their header, their first rows)."""
    sample = table.rows[:200]
    weights = []
    for i, name in enumerate(table.columns):
        typical = sum(len(r[i]) for r in sample) / len(sample) if sample else 0
        weights.append(min(max(len(name), typical, 6), 48))
    return [total * w / sum(weights) for w in weights]


def write_pdf(path: Path, evidence: CaseEvidence, info: ReportInfo, language: str) -> None:
    """The same report as a PDF (A4 landscape), drawn offline."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    _register_fonts()
    body = ParagraphStyle("body", fontName="DejaVuSans", fontSize=8, leading=10)
    cell = ParagraphStyle("cell", parent=body, fontSize=6, leading=7.5, wordWrap="CJK")
    heading = ParagraphStyle(
        "h", fontName="DejaVuSans-Bold", fontSize=12, leading=15, spaceBefore=8
    )
    title = ParagraphStyle("t", parent=heading, fontSize=15, leading=19)

    def word(name: str) -> str:
        return escape(_word(name, language))

    story: list[object] = [
        Paragraph(f"{word('title')}: {word('case')} #{evidence.case_id} — {escape(evidence.title)}", title),
        Paragraph(f"{word('status')}: {escape(evidence.status)}; {word('opened')}: "
                  f"{evidence.opened_at.isoformat()} ({escape(evidence.opened_by or '')})", body),
        Paragraph(f"{word('made')}: {info.made_at.isoformat()} ({escape(info.made_by)})", body),
        Paragraph(f"{word('signer')}: {escape(info.signer)}", body),
        Paragraph(word("verify"), body),
    ]  # fmt: skip
    if evidence.remarks:
        story.append(Paragraph(f"{word('remarks')}: {escape('; '.join(evidence.remarks))}", body))
    width = landscape(A4)[0] - 20 * mm
    for key, table in _sections(evidence):
        story.append(Paragraph(f"{word(key)} ({word('file')}: data/{table.name}.csv)", heading))
        if not table.rows:
            story.append(Paragraph(word("none"), body))
            continue
        if cut := _cut(table, language):
            story.append(Paragraph(escape(cut), body))
        data = [[Paragraph(escape(c), cell) for c in table.columns]]
        data += [[Paragraph(escape(v[:400]), cell) for v in r] for r in _rows(table)]
        grid = LongTable(data, colWidths=_widths(table, width), repeatRows=1)
        grid.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))  # fmt: skip
        story += [grid, Spacer(1, 4 * mm)]
    document = SimpleDocTemplate(
        str(path), pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
        topMargin=10 * mm, bottomMargin=10 * mm, title=f"{_word('title', language)} #{evidence.case_id}",
        author="Qalqan", invariant=1,
    )  # fmt: skip
    document.build(story)
