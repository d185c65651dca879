"""Notification settings: a team's withdrawal e-mails to the whole team, and a person's own
switch for notification e-mails

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 15:30:00.000000

Two columns with defaults (informing clinician only; e-mails on): nothing stored changes.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "teams",
        sa.Column(
            "withdrawal_notices_to_team", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.add_column(
        "accounts",
        sa.Column("notification_emails", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade():
    # In place, not in batch mode: rebuilding accounts or teams would break the references to
    # them (SQLite refuses to drop a referenced table). SQLite drops a column in place since
    # 3.35, as PostgreSQL does.
    op.drop_column("accounts", "notification_emails")
    op.drop_column("teams", "withdrawal_notices_to_team")
