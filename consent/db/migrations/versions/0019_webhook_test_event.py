"""Webhook deliveries may carry the test event ("webhook.test") an administrator sends

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 15:20:00.000000

Only the CHECK constraint on webhook_deliveries.event_type changes. SQLite cannot alter a
CHECK constraint: the table is rebuilt as in 0007 (webhook_attempts references it).
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types
from consent.db.migrations.sqlite_rebuild import rebuild_statements, run_with_foreign_keys_off

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OLD_EVENTS = ("consent.created", "consent.withdrawn", "consent.expired")
NEW_EVENTS = (*OLD_EVENTS, "webhook.test")


def _deliveries(events):
    """webhook_deliveries as models.py defines it, with the event types given."""
    listed = ", ".join(f"'{event}'" for event in events)
    metadata = sa.MetaData()
    # What the foreign key names, for CREATE TABLE to render it (not created here).
    sa.Table("webhook_endpoints", metadata, sa.Column("id", sa.String(length=40), primary_key=True))
    return sa.Table(
        "webhook_deliveries",
        metadata,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("lease_until", consent.db.types.UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", consent.db.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "(state = 'sending') = (lease_until IS NOT NULL AND claim_token IS NOT NULL)",
            name="ck_webhook_deliveries_lease_while_sending",
        ),
        sa.CheckConstraint(f"event_type IN ({listed})", name="ck_webhook_deliveries_event_known"),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'delivered', 'dead', 'cancelled')",
            name="ck_webhook_deliveries_state_known",
        ),
        sa.CheckConstraint("attempts >= 0", name="ck_webhook_deliveries_attempts_counted"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="fk_webhook_deliveries_endpoint_id_webhook_endpoints",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )


def _set_events(events):
    listed = ", ".join(f"'{event}'" for event in events)
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("ck_webhook_deliveries_event_known"), "webhook_deliveries", type_="check"
        )
        op.create_check_constraint(
            op.f("ck_webhook_deliveries_event_known"),
            "webhook_deliveries",
            f"event_type IN ({listed})",
        )
        return
    # sqlite.org/lang_altertable.html#otheralter, as in 0007: foreign keys off (webhook_attempts
    # references the table), every reference checked before commit (sqlite_rebuild).
    bind = op.get_bind()
    create = str(sa.schema.CreateTable(_deliveries(events)).compile(dialect=bind.dialect))
    statements = rebuild_statements(
        "webhook_deliveries",
        revision="0019",
        create=create,
        columns="id, endpoint_id, event_type, payload, state, attempts, next_attempt_at, "
        "lease_until, claim_token, created_at, finished_at",
        indexes={
            "ix_webhook_deliveries_due": "(state, next_attempt_at)",
            "ix_webhook_deliveries_endpoint_id": "(endpoint_id)",
        },
    )
    run_with_foreign_keys_off(bind, revision="0019", statements=statements)


def upgrade():
    _set_events(NEW_EVENTS)


def downgrade():
    # Test deliveries (and their attempts) cannot stay under the old constraint.
    statements = (
        "DELETE FROM webhook_attempts WHERE delivery_id IN "
        "(SELECT id FROM webhook_deliveries WHERE event_type = 'webhook.test')",
        "DELETE FROM webhook_deliveries WHERE event_type = 'webhook.test'",
    )
    if op.get_bind().dialect.name == "sqlite":
        raw = op.get_bind().connection.dbapi_connection
        for statement in statements:
            raw.execute(statement)
        raw.commit()
    else:
        for statement in statements:
            op.execute(statement)
    _set_events(OLD_EVENTS)
