"""The request's stage, stored (issue 18): what the records say apart from the date, kept by
each event (consents/stage.py), so that the worklist counts and filters from one indexed table.
Filled here from the records for every existing request; nothing recorded changes. And when
a tablet link was first opened (signing_links.opened_at), for the request page's timeline.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from consent.db.types import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The same rules as consents/stage.py computed_stage, in SQL both databases run.
FILL = """
UPDATE consent_requests SET stage = CASE
  WHEN (SELECT erased_at FROM patients WHERE patients.id = consent_requests.patient_id)
       IS NOT NULL THEN 'erased'
  WHEN NOT EXISTS (SELECT 1 FROM consents c WHERE c.request_id = consent_requests.id)
       THEN CASE WHEN EXISTS (SELECT 1 FROM pending_decisions p
                              WHERE p.request_id = consent_requests.id)
                 THEN 'waiting_confirmation' ELSE 'waiting_patient' END
  WHEN EXISTS (SELECT 1 FROM consents c JOIN consent_uses u ON u.consent_id = c.id
               WHERE c.request_id = consent_requests.id AND u.withdrawal_id IS NOT NULL)
       THEN CASE WHEN EXISTS (SELECT 1 FROM consents c JOIN consent_uses u ON u.consent_id = c.id
                              WHERE c.request_id = consent_requests.id AND u.granted
                                AND u.withdrawal_id IS NULL)
                 THEN 'partly_withdrawn' ELSE 'withdrawn' END
  ELSE 'decided'
END
"""


def upgrade():
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "stage", sa.String(length=24), nullable=False, server_default="waiting_patient"
            )
        )
    op.execute(FILL)
    # When a tablet link was first opened: for the request page's timeline (unknown before).
    with op.batch_alter_table("signing_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opened_at", UTCDateTime(), nullable=True))
    # E-mail when a signature waits for the clinician's confirmation; cancelled if no longer.
    _email_checks(NEW_KINDS, NEW_STATES, digests=True)
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_requests_team_stage", ["team_id", "stage", "expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_consent_requests_team_created", ["team_id", "created_at", "id"], unique=False
        )


OLD_KINDS = "'consent.withdrawn'"
NEW_KINDS = "'consent.withdrawn', 'signature.waiting', 'consents.expiring'"
OLD_STATES = "'pending', 'sent', 'dead'"
NEW_STATES = "'pending', 'sent', 'dead', 'cancelled'"


def _email_checks(kinds, states, *, digests):
    # email_outbox is named by no foreign key: batch mode may recreate it on SQLite. A digest
    # (consents.expiring) names no request.
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.alter_column("request_id", existing_type=sa.String(length=40), nullable=digests)
        batch_op.drop_constraint(op.f("ck_email_outbox_kind_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_email_outbox_state_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_email_outbox_kind_known"), f"kind IN ({kinds})")
        batch_op.create_check_constraint(
            op.f("ck_email_outbox_state_known"), f"state IN ({states})"
        )


def downgrade():
    # Not in batch mode: recreating consent_requests on SQLite would trip the foreign keys of
    # the rows that name it; SQLite (3.35+) and PostgreSQL drop the column in place.
    op.drop_index("ix_consent_requests_team_created", table_name="consent_requests")
    op.drop_index("ix_consent_requests_team_stage", table_name="consent_requests")
    op.drop_column("consent_requests", "stage")
    op.drop_column("signing_links", "opened_at")
    op.execute("DELETE FROM email_outbox WHERE kind IN ('signature.waiting', 'consents.expiring')")
    op.execute("UPDATE email_outbox SET state = 'dead' WHERE state = 'cancelled'")
    _email_checks(OLD_KINDS, OLD_STATES, digests=False)
