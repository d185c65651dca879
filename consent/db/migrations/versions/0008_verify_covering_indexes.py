"""Verify's lookups from the index alone: media items by hash, the requests of a media item

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 06:00:00.000000

Verify reads a file's media items by SHA-256 and then the requests that include them. Each index
held only the searched column, so every hit cost a second B-tree descent into the table for the
id it joins on; with the id in the index, SQLite and PostgreSQL answer from the index alone
(bench/RESULTS.md: 18.6 -> 16.1 us per lookup at a million consents on SQLite). Nothing stored
changes; the old indexes are replaced, on a large database this takes a few seconds.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_media_items_sha256_id", "media_items", ["sha256", "id"])
    op.drop_index("ix_media_items_sha256", table_name="media_items")
    op.create_index(
        "ix_request_media_media_id_request_id", "request_media", ["media_id", "request_id"]
    )
    op.drop_index("ix_request_media_media_id", table_name="request_media")


def downgrade():
    op.create_index("ix_request_media_media_id", "request_media", ["media_id"])
    op.drop_index("ix_request_media_media_id_request_id", table_name="request_media")
    op.create_index("ix_media_items_sha256", "media_items", ["sha256"])
    op.drop_index("ix_media_items_sha256_id", table_name="media_items")
