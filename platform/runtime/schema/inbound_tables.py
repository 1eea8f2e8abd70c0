"""The system table of inbound webhook deliveries (runtime/integration): one row per request to
`/api/v1/inbound/{name}`, accepted or refused, for the admin to see what other systems sent."""
from __future__ import annotations

import sqlalchemy as sa


def inbound_tables(metadata: sa.MetaData, id_type: sa.types.TypeEngine, datetime_type: sa.types.TypeEngine) -> None:
    sa.Table("atrium_inbound", metadata,
             sa.Column("id", id_type, primary_key=True, autoincrement=True),
             sa.Column("endpoint", sa.String(100), nullable=False),  # the integration's name
             sa.Column("received_at", datetime_type, nullable=False),
             sa.Column("status", sa.Integer(), nullable=False),  # the HTTP status answered
             sa.Column("size", sa.Integer(), nullable=False),  # bytes of the body
             sa.Column("created", sa.Integer(), nullable=False, server_default="0"),
             sa.Column("updated", sa.Integer(), nullable=False, server_default="0"),
             sa.Column("error", sa.String(1000)),  # why it was refused (never the body or the secret)
             sa.Index("ix_atrium_inbound_received", "endpoint", "received_at"))
