"""The system table of attached files (runtime/files): one row per stored file, the bytes being
in the site's storage under `key`, a random name no one can guess."""
from __future__ import annotations

import sqlalchemy as sa


def file_tables(metadata: sa.MetaData, id_type: sa.types.TypeEngine, datetime_type: sa.types.TypeEngine) -> None:
    sa.Table("atrium_files", metadata,
             sa.Column("id", id_type, primary_key=True, autoincrement=True),
             sa.Column("key", sa.String(100), nullable=False, unique=True),  # where the bytes are in the storage
             sa.Column("name", sa.String(255), nullable=False),  # the name it was uploaded with
             sa.Column("size", sa.BigInteger(), nullable=False),  # bytes
             sa.Column("content_type", sa.String(200), nullable=False),
             sa.Column("entity", sa.String(50), nullable=False),
             sa.Column("record_id", id_type, nullable=False),
             sa.Column("field", sa.String(100)),  # the file field it fills; empty: an attachment of the record
             sa.Column("created_by", id_type),
             sa.Column("created_at", datetime_type, nullable=False),
             sa.Index("ix_atrium_files_record", "entity", "record_id"))
