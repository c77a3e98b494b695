"""The money trail as the console shows it: a campaign's or a case's flow, and the totals.

    flow = campaign_money_flow(session, actor, alert_id)   # a campaign alert's
    flow = case_money_flow(session, actor, case_id)        # the campaigns a case touches
    totals = money_totals(session, actor)                  # lost and preventable, top campaigns

A flow has four columns — victims → collecting mules → SIM balances and
e-wallets → crypto addresses — and the money between them. **Its size is
bounded whatever the campaign**: each column keeps its ``top`` accounts by
amount and folds the rest into one "other N accounts" node, and every query
groups in the database (the payments are never loaded one by one), so a
campaign with 100,000 payments draws as many nodes and edges as one with ten.

Amounts: what victims paid is known from their payments; what a collector
paid a SIM balance or an e-wallet, and a wallet a crypto address, is known
when the data set's payments were given to the ingest (else the edge is
there without its amount, ``None``).

A case's campaigns are those it holds as findings, those its calls were
grouped into, those whose mules' accounts it names (by hand or as an
outcome's "paid to") and those whose SIM balances feed one of its farms.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.errors import NotFoundError
from qalqan.cases.models import (
    Alert,
    AlertEntity,
    AlertKind,
    CampaignMoney,
    CaseEntity,
    CaseFinding,
    Entity,
    EntityKind,
    Episode,
    Loss,
    MoneyAccount,
    MoneyRole,
    VictimPayment,
)
from qalqan.cases.roles import Actor, Permission, authorize
from qalqan.cases.store import clock_of

__all__ = [
    "COLUMNS",
    "DEFAULT_TOP",
    "MAX_CASE_CAMPAIGNS",
    "CampaignLoss",
    "FlowEdge",
    "FlowNode",
    "MoneyFlow",
    "MoneyTotals",
    "campaign_money_flow",
    "case_money_flow",
    "money_totals",
]

COLUMNS: Final = ("victims", "collectors", "balances", "crypto")
"""The flow's columns, left to right."""
DEFAULT_TOP: Final = 8
"""Accounts a column shows by name; the rest are one "other" node."""
MAX_CASE_CAMPAIGNS: Final = 20
"""A case's flow adds up at most this many campaigns (those that lost most)."""

Campaign = tuple[str, str]
"""(source, campaign id)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowNode:
    key: str
    column: int
    """Index into :data:`COLUMNS`."""
    label: str
    """The account (a victim: their number), or empty for the "other" node."""
    amount: Decimal | None
    """Money through it (a victim: paid; others: received), None when not known."""
    others: int = 0
    """For the "other" node: how many accounts it stands for."""
    role: str = ""
    """``victim`` or a :class:`~qalqan.cases.models.MoneyRole`."""
    farm_id: str | None = None
    farm_alert_id: int | None = None
    """A SIM balance's farm, and that farm's alert (for a link) when the store has it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowEdge:
    source: str
    target: str
    amount: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyFlow:
    campaigns: tuple[str, ...]
    """The campaigns it adds up, by id."""
    left_out: tuple[str, ...] = ()
    """Campaigns the case touches whose money is in another currency: not added up."""
    currency: str
    lost: Decimal
    preventable: Decimal
    victims: int
    transfers: int
    nodes: tuple[FlowNode, ...]
    edges: tuple[FlowEdge, ...]

    def column(self, index: int) -> list[FlowNode]:
        return [n for n in self.nodes if n.column == index]


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignLoss:
    source: str
    campaign_id: str
    alert_id: int | None
    """The campaign's alert, when its findings were ingested too."""
    lost: Decimal
    preventable: Decimal
    currency: str
    victims: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyTotals:
    lost: dict[str, Decimal] = field(default_factory=dict)
    """Currency → what victims paid the campaigns' mules."""
    preventable: dict[str, Decimal] = field(default_factory=dict)
    """Currency → of it, paid after the campaign's first flagged call to the payer."""
    campaigns: int = 0
    top: tuple[CampaignLoss, ...] = ()
    """The campaigns that took most, most first."""


def _among(columns: tuple[Any, Any], campaigns: Collection[Campaign]) -> ColumnElement[bool]:
    return tuple_(*columns).in_(sorted(campaigns))


def _payments_of(campaigns: Collection[Campaign]) -> ColumnElement[bool]:
    return _among((VictimPayment.source, VictimPayment.campaign_id), campaigns)


_PAYER: Final = func.coalesce(VictimPayment.victim, VictimPayment.payer)
"""Who paid: the victim's number when known, else their account."""


class _Builder:
    """One flow, column by column; every query is grouped and limited in the database."""

    def __init__(self, session: Session, campaigns: Collection[Campaign], top: int) -> None:
        self.session = session
        self.campaigns = campaigns
        self.top = top
        self.nodes: dict[str, FlowNode] = {}
        self.edges: dict[tuple[str, str], Decimal | None] = {}

    def node(self, node: FlowNode) -> str:
        self.nodes.setdefault(node.key, node)
        return node.key

    def edge(self, source: str, target: str, amount: Decimal | None) -> None:
        if amount is not None and amount <= 0:
            return
        kept = self.edges.get((source, target))
        if (source, target) in self.edges and kept is not None and amount is not None:
            amount += kept
        self.edges[source, target] = amount

    def other(self, column: int, count: int, amount: Decimal | None, role: str) -> str:
        key = f"{column}:*"
        if key in self.nodes:
            return key
        return self.node(
            FlowNode(key=key, column=column, label="", amount=amount, others=count, role=role)
        )

    def victims_and_collectors(self) -> list[str]:
        """Columns 0 and 1, and the payments between them; the collectors shown by name."""
        paid = _payments_of(self.campaigns)
        session, top = self.session, self.top
        total_victims, total = session.execute(
            select(func.count(func.distinct(_PAYER)), func.coalesce(func.sum(VictimPayment.amount), 0))
            .where(paid)
        ).one()  # fmt: skip
        victims = session.execute(
            select(_PAYER, func.sum(VictimPayment.amount).label("paid"))
            .where(paid).group_by(_PAYER).order_by(func.sum(VictimPayment.amount).desc(), _PAYER)
            .limit(top)
        ).all()  # fmt: skip
        mules = session.execute(
            select(VictimPayment.mule, func.sum(VictimPayment.amount))
            .where(paid).group_by(VictimPayment.mule)
            .order_by(func.sum(VictimPayment.amount).desc(), VictimPayment.mule).limit(top)
        ).all()  # fmt: skip
        n_mules = session.scalar(select(func.count(func.distinct(VictimPayment.mule))).where(paid))
        shown_victims = [v for v, _ in victims]
        shown_mules = [m for m, _ in mules]
        for victim, amount in victims:
            self.node(FlowNode(key=f"0:{victim}", column=0, label=victim, amount=amount,
                               role="victim"))  # fmt: skip
        for mule, amount in mules:
            self.node(FlowNode(key=f"1:{mule}", column=1, label=mule, amount=amount,
                               role=MoneyRole.COLLECTOR.value))  # fmt: skip
        rest_victims = Decimal(total) - sum((a for _, a in victims), Decimal(0))
        rest_mules = Decimal(total) - sum((a for _, a in mules), Decimal(0))
        if total_victims > len(victims):
            self.other(0, total_victims - len(victims), rest_victims, "victim")
        if (n_mules or 0) > len(mules):
            self.other(1, (n_mules or 0) - len(mules), rest_mules, MoneyRole.COLLECTOR.value)
        mule_key = case(
            (VictimPayment.mule.in_(shown_mules), VictimPayment.mule), else_=literal("")
        )
        shown_pairs = session.execute(
            select(_PAYER, mule_key, func.sum(VictimPayment.amount))
            .where(paid, _PAYER.in_(shown_victims)).group_by(_PAYER, mule_key)
        ).all()  # fmt: skip
        from_shown: dict[str, Decimal] = {}
        for victim, mule, amount in shown_pairs:
            target = f"1:{mule}" if mule else "1:*"
            self.edge(f"0:{victim}", target, amount)
            from_shown[target] = from_shown.get(target, Decimal(0)) + amount
        for mule, amount in mules:  # what the rest of the victims paid each collector shown
            self.edge("0:*", f"1:{mule}", amount - from_shown.get(f"1:{mule}", Decimal(0)))
        if "1:*" in self.nodes and "0:*" in self.nodes:
            self.edge("0:*", "1:*", rest_mules - from_shown.get("1:*", Decimal(0)))
        return shown_mules

    def fed(self, column: int, roles: Sequence[str], feeders: Sequence[str]) -> list[str]:
        """Column 2 (SIM balances, e-wallets) or 3 (crypto): the accounts ``feeders`` (the
        previous column's named nodes) or the others paid."""
        session, top = self.session, self.top
        where = and_(
            _among((MoneyAccount.source, MoneyAccount.campaign_id), self.campaigns),
            MoneyAccount.role.in_(roles),
        )
        amount = func.coalesce(MoneyAccount.amount_in, 0)
        shown = session.execute(
            select(MoneyAccount.account, MoneyAccount.amount_in, MoneyAccount.role,
                   MoneyAccount.fed_by, MoneyAccount.farm_id, MoneyAccount.source)
            .where(where).order_by(amount.desc(), MoneyAccount.account).limit(top)
        ).all()  # fmt: skip
        farms = self._farm_alerts({(r.source, r.farm_id) for r in shown if r.farm_id})
        previous = column - 1
        for r in shown:
            key = self.node(
                FlowNode(key=f"{column}:{r.account}", column=column, label=r.account,
                         amount=r.amount_in, role=r.role, farm_id=r.farm_id,
                         farm_alert_id=farms.get((r.source, r.farm_id or "")))
            )  # fmt: skip
            self.edge(self._feeder(previous, r.fed_by, feeders), key, r.amount_in)
        names = [r.account for r in shown]
        feeder = case((MoneyAccount.fed_by.in_(feeders), MoneyAccount.fed_by), else_=literal(""))
        rest = session.execute(
            select(feeder, func.count(), func.sum(MoneyAccount.amount_in),
                   func.count(MoneyAccount.amount_in), func.min(MoneyAccount.role))
            .where(where, MoneyAccount.account.not_in(names)).group_by(feeder)
        ).all()  # fmt: skip
        count = sum(n for _, n, _, _, _ in rest)
        if count:
            known = all(k == n for _, n, _, k, _ in rest)
            total = sum((s or Decimal(0) for _, _, s, _, _ in rest), Decimal(0))
            other = self.other(column, count, total if known else None, rest[0][4])
            for fed_by, n, paid, k, _ in rest:
                self.edge(self._feeder(previous, fed_by, feeders), other, paid if k == n else None)
        return names

    def _feeder(self, column: int, account: str | None, shown: Sequence[str]) -> str:
        """The node in ``column`` that stands for ``account``: its own, else the "other" one."""
        if account and account in shown:
            return f"{column}:{account}"
        return self.other(column, 0, None, "")

    def _farm_alerts(self, farms: Collection[tuple[str, str]]) -> dict[tuple[str, str], int]:
        if not farms:
            return {}
        found = self.session.execute(
            select(Alert.source, Alert.source_ref, Alert.id).where(
                Alert.kind == AlertKind.SIM_FARM.value,
                tuple_(Alert.source, Alert.source_ref).in_(sorted(farms)),
            )
        ).all()
        return {(source, ref): ident for source, ref, ident in found}


def _one_currency(
    session: Session, campaigns: Collection[Campaign]
) -> tuple[set[Campaign], tuple[str, ...]]:
    """The campaigns paid in the currency that lost most, and the ids of the others: money in
    two currencies is not added up."""
    paid = session.execute(
        select(CampaignMoney.source, CampaignMoney.campaign_id, CampaignMoney.currency,
               CampaignMoney.lost)
        .where(_among((CampaignMoney.source, CampaignMoney.campaign_id), campaigns))
    ).all()  # fmt: skip
    lost: dict[str, Decimal] = {}
    for _, _, currency, amount in paid:
        lost[currency] = lost.get(currency, Decimal(0)) + amount
    if len(lost) <= 1:
        return set(campaigns), ()
    main = max(sorted(lost), key=lambda c: lost[c])
    kept = {(s, c) for s, c, currency, _ in paid if currency == main}
    return kept, tuple(sorted(c for _, c, currency, _ in paid if currency != main))


def _flow(session: Session, campaigns: Collection[Campaign], top: int) -> MoneyFlow | None:
    """The flow of ``campaigns`` (None when the store holds no money of theirs)."""
    if not campaigns:
        return None
    campaigns, left_out = _one_currency(session, campaigns)
    figures = session.execute(
        select(func.sum(CampaignMoney.lost), func.sum(CampaignMoney.preventable),
               func.sum(CampaignMoney.victims_paid), func.sum(CampaignMoney.transfers),
               func.min(CampaignMoney.currency), func.count())
        .where(_among((CampaignMoney.source, CampaignMoney.campaign_id), campaigns))
    ).one()  # fmt: skip
    lost, preventable, victims, transfers, currency, found = figures
    if not found:
        return None
    builder = _Builder(session, campaigns, max(1, top))
    collectors = builder.victims_and_collectors()
    balances = builder.fed(2, (MoneyRole.SIM_BALANCE.value, MoneyRole.EWALLET.value), collectors)
    builder.fed(3, (MoneyRole.CRYPTO.value,), balances)
    return MoneyFlow(
        campaigns=tuple(sorted(c for _, c in campaigns)),
        left_out=left_out,
        currency=currency,
        lost=lost,
        preventable=preventable,
        victims=victims,
        transfers=transfers,
        nodes=tuple(sorted(builder.nodes.values(), key=_node_order)),
        edges=tuple(
            FlowEdge(source=s, target=t, amount=a)
            for (s, t), a in builder.edges.items()
            if s in builder.nodes and t in builder.nodes
        ),
    )


def _node_order(node: FlowNode) -> tuple[int, bool, Decimal, str]:
    """By column, the "other" node last, the largest amount first."""
    return (node.column, not node.label, -(node.amount or Decimal(0)), node.label)


def campaign_money_flow(
    session: Session, actor: Actor, alert_id: int, *, top: int = DEFAULT_TOP
) -> MoneyFlow | None:
    """The money flow of a campaign alert (None when analysis found none of its money).

    Permission: ``view_alert``; audited, as it names victims.
    """
    actor = authorize(session, actor, Permission.VIEW_ALERT, f"alert:{alert_id}")
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFoundError("alert", alert_id)
    if alert.kind != AlertKind.CAMPAIGN.value:
        return None
    flow = _flow(session, {(alert.source, alert.source_ref)}, top)
    _audit(session, actor, f"alert:{alert_id}", flow)
    return flow


def _case_campaigns(session: Session, case_id: int) -> set[Campaign]:
    """The campaigns a case touches (see the module's doc), those that lost most first."""
    alerts = (
        select(Episode.alert_id)
        .where(Episode.case_id == case_id)
        .union(select(CaseFinding.alert_id).where(CaseFinding.case_id == case_id))
    )
    held = session.execute(
        select(Alert.source, Alert.source_ref).where(
            Alert.id.in_(alerts), Alert.kind == AlertKind.CAMPAIGN.value
        )
    ).all()
    found: set[Campaign] = {(source, ref) for source, ref in held}
    named = session.scalars(
        select(Entity.value)
        .join(AlertEntity, AlertEntity.entity_id == Entity.id)
        .where(AlertEntity.alert_id.in_(alerts), Entity.kind == EntityKind.CAMPAIGN.value)
    ).all()
    found |= {(v.rsplit("/", 1)[0], v.rsplit("/", 1)[1]) for v in named if "/" in v}
    accounts = (
        select(Entity.value)
        .join(AlertEntity, AlertEntity.entity_id == Entity.id)
        .where(AlertEntity.alert_id.in_(alerts), Entity.kind == EntityKind.ACCOUNT.value)
        .union(
            select(Entity.value)
            .join(CaseEntity, CaseEntity.entity_id == Entity.id)
            .where(CaseEntity.case_id == case_id, Entity.kind == EntityKind.ACCOUNT.value),
            select(Entity.value)
            .join(Loss, Loss.account_id == Entity.id)
            .where(Loss.alert_id.in_(alerts)),
        )
    )
    farms = select(Alert.source, Alert.source_ref).where(
        Alert.id.in_(alerts), Alert.kind == AlertKind.SIM_FARM.value
    )
    fed = session.execute(
        select(MoneyAccount.source, MoneyAccount.campaign_id).where(
            MoneyAccount.campaign_id.is_not(None),
            or_(
                MoneyAccount.account.in_(accounts),
                tuple_(MoneyAccount.source, MoneyAccount.farm_id).in_(farms),
            ),
        )
    ).all()
    found |= {(source, campaign) for source, campaign in fed if campaign}
    if len(found) <= MAX_CASE_CAMPAIGNS:
        return found
    largest = session.execute(
        select(CampaignMoney.source, CampaignMoney.campaign_id)
        .where(_among((CampaignMoney.source, CampaignMoney.campaign_id), found))
        .order_by(CampaignMoney.lost.desc(), CampaignMoney.campaign_id)
        .limit(MAX_CASE_CAMPAIGNS)
    ).all()
    return {(source, campaign) for source, campaign in largest}


def case_money_flow(
    session: Session, actor: Actor, case_id: int, *, top: int = DEFAULT_TOP
) -> MoneyFlow | None:
    """The money flow of the campaigns a case touches (None when there is none).

    Permission: ``view_case``; audited, as it names victims.
    """
    actor = authorize(session, actor, Permission.VIEW_CASE, f"case:{case_id}")
    flow = _flow(session, _case_campaigns(session, case_id), top)
    _audit(session, actor, f"case:{case_id}", flow)
    return flow


def _audit(session: Session, actor: Actor, target: str, flow: MoneyFlow | None) -> None:
    if flow is None:
        return
    audit.append(session, actor, "view_money", target, at=clock_of(session),
                 details={"campaigns": list(flow.campaigns)})  # fmt: skip


def money_totals(session: Session, actor: Actor, *, top: int = 5) -> MoneyTotals:
    """What every campaign's victims paid, how much of it was preventable, and the campaigns
    that took most. Aggregates only. Permission: ``view_sla`` (the dashboard's)."""
    actor = authorize(session, actor, Permission.VIEW_SLA, "dashboard")
    by_currency = session.execute(
        select(CampaignMoney.currency, func.sum(CampaignMoney.lost),
               func.sum(CampaignMoney.preventable), func.count())
        .group_by(CampaignMoney.currency).order_by(CampaignMoney.currency)
    ).all()  # fmt: skip
    largest = session.execute(
        select(CampaignMoney, Alert.id)
        .outerjoin(
            Alert,
            and_(Alert.kind == AlertKind.CAMPAIGN.value, Alert.source == CampaignMoney.source,
                 Alert.source_ref == CampaignMoney.campaign_id),
        )
        .order_by(CampaignMoney.lost.desc(), CampaignMoney.source, CampaignMoney.campaign_id)
        .limit(max(0, top))
    ).all()  # fmt: skip
    return MoneyTotals(
        lost={c: lost for c, lost, _, _ in by_currency},
        preventable={c: kept for c, _, kept, _ in by_currency},
        campaigns=sum(n for _, _, _, n in by_currency),
        top=tuple(
            CampaignLoss(
                source=m.source,
                campaign_id=m.campaign_id,
                alert_id=alert_id,
                lost=m.lost,
                preventable=m.preventable,
                currency=m.currency,
                victims=m.victims_paid,
            )
            for m, alert_id in largest
        ),
    )
