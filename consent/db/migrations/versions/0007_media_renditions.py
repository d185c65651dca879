"""Media renditions: publishable copies of media items, signed and logged

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 02:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

import consent.db.types
from consent.db.migrations.sqlite_rebuild import rebuild_statements, run_with_foreign_keys_off

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _log_leaves(kinds):
    """log_leaves as models.py defines it, with the leaf kinds given."""
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    return sa.Table(
        "log_leaves",
        sa.MetaData(),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("logged_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"kind IN ({listed})", name="ck_log_leaves_kind_known"),
        sa.CheckConstraint('"index" >= 0', name="ck_log_leaves_index_not_negative"),
        sa.PrimaryKeyConstraint("index", name="pk_log_leaves"),
        sa.UniqueConstraint("record_id", name="uq_log_leaves_record_id"),
    )


OLD_KINDS = ("consent", "withdrawal", "erasure")
NEW_KINDS = (*OLD_KINDS, "rendition")


def _set_leaf_kinds(kinds):
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_log_leaves_kind_known"), "log_leaves", type_="check")
        listed = ", ".join(f"'{kind}'" for kind in kinds)
        op.create_check_constraint(
            op.f("ck_log_leaves_kind_known"), "log_leaves", f"kind IN ({listed})"
        )
        return
    # SQLite cannot alter a CHECK constraint: the table is rebuilt, by the procedure of
    # sqlite.org/lang_altertable.html#otheralter. Foreign keys go off for it (consents and
    # withdrawals reference log_leaves; dropping it would fail, and renaming it would repoint
    # their references), every reference checked before it commits (sqlite_rebuild).
    bind = op.get_bind()
    create = str(sa.schema.CreateTable(_log_leaves(kinds)).compile(dialect=bind.dialect))
    statements = rebuild_statements(
        "log_leaves",
        revision="0007",
        create=create,
        columns='"index", leaf_hash, data, kind, record_id, logged_at',
    )
    run_with_foreign_keys_off(bind, revision="0007", statements=statements)


def upgrade():
    _set_leaf_kinds(NEW_KINDS)
    op.create_table(
        "media_renditions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("media_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("phash", sa.String(length=16), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("made_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('metadata-stripped')", name=op.f("ck_media_renditions_kind_known")
        ),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_media_renditions_sha256_hex")),
        sa.CheckConstraint(
            "length(signature) = 64", name=op.f("ck_media_renditions_signature_length")
        ),
        sa.ForeignKeyConstraint(
            ["log_index"],
            ["log_leaves.index"],
            name=op.f("fk_media_renditions_log_index_log_leaves"),
        ),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media_items.id"], name=op.f("fk_media_renditions_media_id_media_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_renditions")),
        sa.UniqueConstraint("log_index", name=op.f("uq_media_renditions_log_index")),
        sa.UniqueConstraint("media_id", "kind", name=op.f("uq_media_renditions_media_id_kind")),
    )
    op.create_index("ix_media_renditions_sha256", "media_renditions", ["sha256"], unique=False)


def downgrade():
    # Checked first: on SQLite each statement below commits on its own.
    logged = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM log_leaves WHERE kind = 'rendition'"))
        .scalar()
    )
    if logged:
        # Log entries are never deleted: the log would no longer extend its checkpoints.
        raise RuntimeError(f"The log holds {logged} rendition receipts; 0007 cannot be undone.")
    op.drop_index("ix_media_renditions_sha256", table_name="media_renditions")
    op.drop_table("media_renditions")
    _set_leaf_kinds(OLD_KINDS)
