"""Accounts an administrator disabled

Revision ID: 0011_sign_on
Revises: 0010
Create Date: 2026-12-07 12:00:00.000000

An administrator disables an account (the admin pages): it can no longer log in or sign on,
and its API keys stop working. The hospital sign-on's link, (issuer, subject) unique, came
with 0010 (accounts.oidc_issuer, accounts.oidc_subject). A new nullable column: nothing
stored changes, on SQLite it is added in place (no table rebuild).
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

# revision identifiers, used by Alembic.
revision = "0011_sign_on"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "accounts", sa.Column("disabled_at", consent.db.types.UTCDateTime(), nullable=True)
    )


def downgrade():
    # SQLite 3.35+ and PostgreSQL drop a column in place.
    op.drop_column("accounts", "disabled_at")
