"""Citizens' reports: what the public application's form and API file.

One row per report (deduplicated by its fingerprint within a day), linked to
the live campaign its number is one of and to the queue's alert made for it
(:mod:`qalqan.cases.reports`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHANNELS = "'call', 'sms', 'video_call', 'messenger', 'ad', 'web'"
_CATEGORIES = "'bank_security', 'police', 'investment', 'egov', 'operator', 'relative', 'other'"


def upgrade() -> None:
    op.create_table(
        "citizen_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("callback", sa.String(length=20), nullable=True),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("attachment_type", sa.String(length=16), nullable=True),
        sa.Column("attachment_sha256", sa.String(length=64), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            f"channel IN ({_CHANNELS})", name=op.f("ck_citizen_reports_channel_known")
        ),
        sa.CheckConstraint(
            f"category IN ({_CATEGORIES})", name=op.f("ck_citizen_reports_category_known")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_citizen_reports_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_reports")),
    )
    with op.batch_alter_table("citizen_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_citizen_reports_number_received", ["number", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_citizen_reports_fingerprint", ["fingerprint", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("citizen_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_reports_fingerprint")
        batch_op.drop_index("ix_citizen_reports_number_received")
    op.drop_table("citizen_reports")
