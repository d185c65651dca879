"""Sessions that end everywhere, and failed log-ins kept per account and address

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00.000000

accounts.session_version: every session cookie names the version it was opened under; logging
out, a new password or disabling the account adds one, and every older session, on every worker,
is over (accounts.disabled_at, from 0011, ends them too).
accounts.last_login_at: the failed attempts since then are shown at the next log-in.
login_failures: one row per wrong password for an existing account, with the address it came
from; the delay before the next try grows per (account, address) pair, never for the account as
a whole (no one locks the owner out). Nothing recorded is changed.
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("last_login_at", consent.db.types.UTCDateTime(), nullable=True))
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("address", sa.String(45), nullable=False),
        sa.Column("attempted_at", consent.db.types.UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_login_failures_pair", "login_failures", ["account_id", "address", "attempted_at"]
    )


def downgrade():
    op.drop_index("ix_login_failures_pair", table_name="login_failures")
    op.drop_table("login_failures")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch rebuild of accounts would drop
    # a table that others reference, which SQLite refuses while foreign keys are enforced.
    for column in ("last_login_at", "session_version"):
        op.drop_column("accounts", column)
