"""The money trail: what each campaign's victims paid, the mules' accounts and the payments.

``qalqan analyze`` writes the money trail per campaign: ``campaign_money.csv``
(victims who paid, lost, preventable), ``accounts.csv`` (collecting mules and
the SIM balances, e-wallets and crypto addresses they fed, each with its
campaign, a SIM balance with its farm) and ``victim_payments.csv`` (every
transfer into a collecting mule). Three tables keep them by feed, so the
console can draw a campaign's or a case's money flow and the dashboard can add
up what was lost and what could have been kept.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = sa.Numeric(precision=18, scale=2)


def upgrade() -> None:
    op.create_table(
        "campaign_money",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("victims_paid", sa.Integer(), nullable=False),
        sa.Column("victims_called", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("lost", _MONEY, nullable=False),
        sa.Column("preventable", _MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("calls_before_payment", sa.Integer(), nullable=False),
        sa.Column("first_payment", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_payment", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "campaign_id", name=op.f("pk_campaign_money")),
    )
    op.create_table(
        "money_accounts",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=True),
        sa.Column("fed_by", sa.String(length=200), nullable=True),
        sa.Column("amount_in", _MONEY, nullable=True),
        sa.Column("payers", sa.Integer(), nullable=True),
        sa.Column("victims", sa.Integer(), nullable=True),
        sa.Column("farm_id", sa.String(length=64), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "role IN ('collector', 'sim_balance', 'ewallet', 'crypto')",
            name=op.f("ck_money_accounts_role_known"),
        ),
        sa.PrimaryKeyConstraint("source", "account", name=op.f("pk_money_accounts")),
    )
    with op.batch_alter_table("money_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_money_accounts_campaign", ["source", "campaign_id", "role"], unique=False
        )
    op.create_table(
        "victim_payments",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=200), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payer", sa.String(length=200), nullable=False),
        sa.Column("victim", sa.String(length=20), nullable=True),
        sa.Column("mule", sa.String(length=200), nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=True),
        sa.Column("called_by", sa.String(length=64), nullable=True),
        sa.Column("call_record", sa.String(length=200), nullable=True),
        sa.Column("minutes_after_call", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_victim_payments_amount_not_negative")),
        sa.PrimaryKeyConstraint("source", "payment_id", name=op.f("pk_victim_payments")),
    )
    with op.batch_alter_table("victim_payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_victim_payments_campaign", ["source", "campaign_id", "mule"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("victim_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_victim_payments_campaign")
    op.drop_table("victim_payments")
    with op.batch_alter_table("money_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_money_accounts_campaign")
    op.drop_table("money_accounts")
    op.drop_table("campaign_money")
