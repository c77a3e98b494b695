"""A money flow drawn as SVG on the server: victims → collecting mules → SIM balances and
e-wallets → crypto addresses, with the amounts, and the same as table rows for screen readers.

No script and nothing fetched: the picture is markup the page carries, made
here from a :class:`~qalqan.cases.money.MoneyFlow` (already bounded: a few
nodes a column, the rest folded into "other N accounts"). Each column's
nodes are as tall as the money through them (a node whose amount is not
known is drawn thin), each edge as wide as the money it carried (dashed
when its amount is not known). A SIM balance with a farm links to the
farm's page. Every piece of text is escaped: account names come from feeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Final

from markupsafe import Markup, escape

from qalqan.cases.money import COLUMNS, FlowNode, MoneyFlow
from qalqan.cases.views import Money
from qalqan.console.formats import money, phone
from qalqan.console.i18n import translate

__all__ = ["FlowRow", "flow_context", "flow_rows", "flow_svg", "node_label"]

WIDTH: Final = 1150
NODE_W: Final = 14
COLUMN_X: Final = (10, 285, 560, 835)
TOP: Final = 62
"""Room above the nodes for the columns' titles."""
SPREAD: Final = 360.0
"""Height the largest column's money is drawn over."""
SLOT: Final = 58
"""Height a node's label needs: nodes are at least this far apart."""
GAP: Final = 10
MAX_LABEL: Final = 26
"""Characters of an account shown in the picture (the table has it whole)."""
COLOURS: Final = ("#7fb3ff", "#ffb84d", "#ff7a7a", "#c89bff")
"""A colour per column: victims, collectors, balances, crypto."""

Say = Callable[..., str]
"""``t(key, **values)``: the console's words in the reader's language."""


def node_label(node: FlowNode, t: Say) -> str:
    """What a node is called: a victim's number in groups, an account, or "other N …"."""
    if not node.label:  # the rest of a column; a count of 0: accounts only the next one names
        return t("money_other", n=node.others) if node.others else t("money_other_some")
    return phone(node.label) if node.role == "victim" else node.label


def _amount(amount: Decimal | None, currency: str, t: Say) -> str:
    """An amount as the console writes money, kept on one line (no-break spaces)."""
    if amount is None:
        return t("money_unknown")
    return money([Money(amount, currency)]).replace(" ", "\u00a0")


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowRow:
    """One edge of the flow, as the table beside the picture says it."""

    source: str
    source_column: str
    target: str
    target_column: str
    amount: str
    farm_id: str | None
    farm_alert_id: int | None


def flow_rows(flow: MoneyFlow, t: Say) -> list[FlowRow]:
    """The flow's edges, column by column, largest first."""
    nodes = {n.key: n for n in flow.nodes}
    ordered = sorted(
        flow.edges,
        key=lambda e: (nodes[e.source].column, -(e.amount or Decimal(0)), e.source, e.target),
    )
    return [
        FlowRow(
            source=node_label(nodes[e.source], t),
            source_column=t("money_col_" + COLUMNS[nodes[e.source].column]),
            target=node_label(nodes[e.target], t),
            target_column=t("money_col_" + COLUMNS[nodes[e.target].column]),
            amount=_amount(e.amount, flow.currency, t),
            farm_id=nodes[e.target].farm_id,
            farm_alert_id=nodes[e.target].farm_alert_id,
        )
        for e in ordered
    ]


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _layout(flow: MoneyFlow) -> tuple[dict[str, tuple[float, float]], float, float]:
    """Each node's (top, height), the scale (pixels per unit of money) and the picture's height."""
    totals = [sum((n.amount or Decimal(0) for n in flow.column(c)), Decimal(0)) for c in range(4)]
    largest = max(totals) if any(totals) else Decimal(1)
    scale = SPREAD / float(largest)
    placed: dict[str, tuple[float, float]] = {}
    bottom = float(TOP)
    for column in range(len(COLUMNS)):
        y = float(TOP)
        for node in flow.column(column):
            height = max(4.0, float(node.amount or 0) * scale)
            placed[node.key] = (y, height)
            y += max(height, SLOT) + GAP
        bottom = max(bottom, y)
    return placed, scale, bottom + 10


def _text(x: float, y: float, words: str, *, size: int = 15, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" '
        f'fill="#f2f5f8" stroke="#1b232e" stroke-width="3" paint-order="stroke">'
        f"{escape(words)}</text>"
    )


def _header(x: float, words: str) -> list[str]:
    """A column's title, on two lines when it is long (split at the space nearest its middle)."""
    if len(words) <= 20 or " " not in words:
        return [_text(x, 36, words, size=16, weight="bold")]
    spaces = [i for i, c in enumerate(words) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(words) / 2))
    return [
        _text(x, 18, words[:cut], size=16, weight="bold"),
        _text(x, 38, words[cut + 1 :], size=16, weight="bold"),
    ]


def flow_svg(flow: MoneyFlow, t: Say, *, title: str) -> Markup:
    """The flow as one ``<svg>`` element, titled and described for assistive technology."""
    placed, scale, height = _layout(flow)
    nodes = {n.key: n for n in flow.nodes}
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="money-flow" role="img" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" width="100%" '
        f'aria-labelledby="money-flow-title money-flow-desc" font-family="sans-serif">',
        f'<title id="money-flow-title">{escape(title)}</title>',
        '<desc id="money-flow-desc">'
        + escape(
            t("money_desc", victims=flow.victims, lost=_amount(flow.lost, flow.currency, t),
              preventable=_amount(flow.preventable, flow.currency, t))
        )
        + "</desc>",
    ]  # fmt: skip
    for column, name in enumerate(COLUMNS):
        out += _header(COLUMN_X[column], t("money_col_" + name))
    out += _edges(flow, nodes, placed, scale)
    for node in flow.nodes:
        out.append(_node(node, placed[node.key], flow.currency, t))
    out.append("</svg>")
    return Markup("".join(out))


def _edges(
    flow: MoneyFlow,
    nodes: dict[str, FlowNode],
    placed: dict[str, tuple[float, float]],
    scale: float,
) -> list[str]:
    """Each edge as a curve as wide as its money, stacked down its two ends in node order."""
    order = {key: i for i, key in enumerate(n.key for n in flow.nodes)}
    out_at = {key: y for key, (y, _) in placed.items()}
    in_at = dict(out_at)
    drawn = []
    for edge in sorted(flow.edges, key=lambda e: (order[e.source], order[e.target])):
        source, target = nodes[edge.source], nodes[edge.target]
        width = max(1.5, float(edge.amount or 0) * scale)
        y0 = out_at[edge.source] + width / 2
        y1 = in_at[edge.target] + width / 2
        out_at[edge.source] += width
        in_at[edge.target] += width
        x0 = COLUMN_X[source.column] + NODE_W
        x1 = COLUMN_X[target.column]
        middle = (x0 + x1) / 2
        dashed = ' stroke-dasharray="4 3"' if edge.amount is None else ""
        drawn.append(
            f'<path d="M{x0},{y0:.1f} C{middle},{y0:.1f} {middle},{y1:.1f} {x1},{y1:.1f}" '
            f'fill="none" stroke="{COLOURS[source.column]}" stroke-opacity="0.45" '
            f'stroke-width="{width:.1f}"{dashed}/>'
        )
    return drawn


def _node(node: FlowNode, place: tuple[float, float], currency: str, t: Say) -> str:
    y, height = place
    x = COLUMN_X[node.column]
    name = node_label(node, t)
    said = _amount(node.amount, currency, t)
    parts = [
        f'<g class="money-node {node.role or "other"}">',
        f"<title>{escape(name)} — {escape(said)}</title>",
        f'<rect x="{x}" y="{y:.1f}" width="{NODE_W}" height="{height:.1f}" '
        f'fill="{COLOURS[node.column]}"/>',
        _text(x + NODE_W + 5, y + 15, _short(name), weight="bold" if node.label else "normal"),
        _text(x + NODE_W + 5, y + 33, said, size=14),
    ]
    if node.farm_id:
        farm = t("money_farm", farm=node.farm_id)
        link = _text(x + NODE_W + 5, y + 51, farm, size=14)
        if node.farm_alert_id is not None:
            link = (
                f'<a href="/alerts/{node.farm_alert_id}" class="farm-link">'
                + link.replace('fill="#f2f5f8"', 'fill="#8cc8ff" text-decoration="underline"')
                + "</a>"
            )
        parts.append(link)
    parts.append("</g>")
    return "".join(parts)


def flow_context(flow: MoneyFlow | None, lang: str, *, top: int) -> dict[str, object] | None:
    """What the ``money_flow.html`` part shows: the totals, the picture and its table."""
    if flow is None:
        return None
    t = partial(translate, lang)
    return {
        "flow": flow,
        "lost": _amount(flow.lost, flow.currency, t),
        "preventable": _amount(flow.preventable, flow.currency, t),
        "svg": flow_svg(flow, t, title=t("money_flow_of", campaigns=", ".join(flow.campaigns))),
        "rows": flow_rows(flow, t),
        "top": top,
    }
