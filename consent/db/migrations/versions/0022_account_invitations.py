"""Account invitations: an administrator invites a person, who chooses their password through
a single-use link e-mailed to them (issue 18, point 5)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 16:00:00.000000

A new table (only the SHA-256 of each token), two columns of the e-mail outbox (the
invitation, and its token sealed with the vault until the e-mail is sent), a new outbox kind
and three new admin journal actions. Nothing stored changes.
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

OLD_KINDS = "'consent.withdrawn', 'signature.waiting', 'consents.expiring'"
NEW_KINDS = OLD_KINDS + ", 'account.invited'"
OLD_ACTIONS = (
    "account.invited",
    "account.disabled",
    "account.enabled",
    "membership.added",
    "membership.removed",
    "team.notices_changed",
    "api_key.created",
    "api_key.revoked",
    "integration.created",
    "webhook_endpoint.registered",
    "webhook_endpoint.deleted",
    "webhook_endpoint.test_event",
    "signing_key.rotated",
    "log.audited",
)
NEW_ACTIONS = (
    "account.invited",
    "account.invitation_resent",
    "account.invitation_cancelled",
    "account.invitation_accepted",
    *OLD_ACTIONS[1:],
)


def upgrade():
    op.create_table(
        "account_invitations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", consent.db.types.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", consent.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_invitations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_account_invitations_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_account_invitations_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_invitations_token_hash")),
    )
    with op.batch_alter_table("account_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_invitations_account_id"), ["account_id"])
    # email_outbox and admin_journal are named by no foreign key: batch mode may recreate them
    # on SQLite.
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invitation_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("secret_sealed", sa.LargeBinary(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_email_outbox_invitation_id_account_invitations"),
            "account_invitations",
            ["invitation_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_email_outbox_invitation_id"), ["invitation_id"])
        batch_op.drop_constraint(op.f("ck_email_outbox_kind_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_email_outbox_kind_known"), f"kind IN ({NEW_KINDS})"
        )
    _journal_check(NEW_ACTIONS)


def _journal_check(actions):
    with op.batch_alter_table("admin_journal", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_admin_journal_action_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_admin_journal_action_known"), f"action IN {actions!r}"
        )


def downgrade():
    # Nothing recorded is ever lost: the admin journal and the outbox keep what they hold, so
    # 0022 cannot be undone once an invitation was made.
    made = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT (SELECT count(*) FROM account_invitations)"
                " + (SELECT count(*) FROM admin_journal WHERE action IN ("
                "'account.invited', 'account.invitation_resent',"
                " 'account.invitation_cancelled', 'account.invitation_accepted'))"
            )
        )
        .scalar()
    )
    if made:
        raise RuntimeError("invitations are recorded (and journalled); 0022 cannot be undone.")
    _journal_check(OLD_ACTIONS)
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_email_outbox_kind_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_email_outbox_kind_known"), f"kind IN ({OLD_KINDS})"
        )
        batch_op.drop_index(batch_op.f("ix_email_outbox_invitation_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_email_outbox_invitation_id_account_invitations"), type_="foreignkey"
        )
        batch_op.drop_column("secret_sealed")
        batch_op.drop_column("invitation_id")
    op.drop_table("account_invitations")
