"""Faces (issue 19): the face boxes of each media item, the "face-masked" rendition kind, and
the pHash band index of masked copies. Nothing recorded changes.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

from consent.db.migrations.sqlite_rebuild import rebuild_statements

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('metadata-stripped')"
NEW_KINDS = "kind IN ('metadata-stripped', 'face-masked')"
_COLUMNS = "id, media_id, kind, sha256, phash, size_bytes, made_by, created_at, receipt, "
_COLUMNS += "signature, key_id, log_index"


def _renditions_table(kinds):
    return f"""CREATE TABLE media_renditions (
        id VARCHAR(40) NOT NULL,
        media_id VARCHAR(40) NOT NULL,
        kind VARCHAR(30) NOT NULL,
        sha256 VARCHAR(64) NOT NULL,
        phash VARCHAR(16),
        size_bytes BIGINT NOT NULL,
        made_by VARCHAR(60) NOT NULL,
        created_at DATETIME NOT NULL,
        receipt BLOB NOT NULL,
        signature BLOB NOT NULL,
        key_id VARCHAR(8) NOT NULL,
        log_index BIGINT NOT NULL,
        CONSTRAINT pk_media_renditions PRIMARY KEY (id),
        CONSTRAINT fk_media_renditions_media_id_media_items FOREIGN KEY(media_id)
            REFERENCES media_items (id),
        CONSTRAINT fk_media_renditions_log_index_log_leaves FOREIGN KEY(log_index)
            REFERENCES log_leaves ("index"),
        CONSTRAINT uq_media_renditions_log_index UNIQUE (log_index),
        CONSTRAINT uq_media_renditions_media_id_kind UNIQUE (media_id, kind),
        CONSTRAINT ck_media_renditions_kind_known CHECK ({kinds}),
        CONSTRAINT ck_media_renditions_sha256_hex CHECK (length(sha256) = 64),
        CONSTRAINT ck_media_renditions_signature_length CHECK (length(signature) = 64)
    )"""


def _set_kinds(kinds):
    if op.get_bind().dialect.name != "sqlite":
        # op.f(): the name as given, not run through the naming convention again.
        name = op.f("ck_media_renditions_kind_known")
        op.drop_constraint(name, "media_renditions", type_="check")
        op.create_check_constraint(name, "media_renditions", kinds)
        return
    # SQLite cannot alter a CHECK constraint: the table is rebuilt (sqlite.org/lang_altertable
    # .html#otheralter). No table references media_renditions (rendition_bands is created
    # after, and dropped before), so no foreign key has to be switched off, unlike 0007.
    op.drop_index("ix_media_renditions_sha256", table_name="media_renditions")
    for statement in rebuild_statements(
        "media_renditions", revision="0023", create=_renditions_table(kinds), columns=_COLUMNS
    ):
        op.execute(statement)
    op.create_index("ix_media_renditions_sha256", "media_renditions", ["sha256"], unique=False)


def upgrade():
    op.add_column("media_items", sa.Column("faces", sa.Text(), nullable=True))
    _set_kinds(NEW_KINDS)
    op.create_table(
        "rendition_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("rendition_id", sa.String(length=40), nullable=False),
        sa.CheckConstraint("band >= 0 AND band < 8", name=op.f("ck_rendition_bands_band_range")),
        sa.CheckConstraint(
            "value >= 0 AND value < 256", name=op.f("ck_rendition_bands_value_range")
        ),
        sa.ForeignKeyConstraint(
            ["rendition_id"],
            ["media_renditions.id"],
            name=op.f("fk_rendition_bands_rendition_id_media_renditions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band", "value", "rendition_id", name=op.f("pk_rendition_bands")),
    )


def downgrade():
    masked = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM media_renditions WHERE kind = 'face-masked'"))
        .scalar()
    )
    if masked:
        # Their receipts are in the log, which is never cut: the rows must stay with them.
        raise RuntimeError(f"{masked} face-masked copies are recorded; 0023 cannot be undone.")
    boxed = (
        op.get_bind()
        .execute(
            sa.text("SELECT count(*) FROM media_items WHERE faces IS NOT NULL AND faces <> '[]'")
        )
        .scalar()
    )
    if boxed:
        # The boxes the clinicians checked are theirs: dropping the column would lose them.
        raise RuntimeError(f"{boxed} media items have face boxes; 0023 cannot be undone.")
    op.drop_table("rendition_bands")
    _set_kinds(OLD_KINDS)
    # Not batch mode: rebuilding media_items would break the references to it. SQLite drops a
    # column in place since 3.35.
    op.execute("ALTER TABLE media_items DROP COLUMN faces")
