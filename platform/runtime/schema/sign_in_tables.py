"""The system table of single sign-on links: which provider and subject (the provider's stable id
of the person) a user signed in with, first and last. A person comes back by the same link even
when the claim they were first matched by (an email, a mobile) changes at the provider."""
from __future__ import annotations

import sqlalchemy as sa


def sign_in_link_tables(metadata: sa.MetaData, id_type: sa.types.TypeEngine,
                        datetime_type: sa.types.TypeEngine) -> None:
    sa.Table("atrium_sign_in_links", metadata,
             sa.Column("id", id_type, primary_key=True, autoincrement=True),
             sa.Column("user_id", id_type, sa.ForeignKey("atrium_users.id"), nullable=False),
             sa.Column("provider", sa.String(100), nullable=False),  # the provider's name in sign_in.providers
             sa.Column("subject", sa.String(255), nullable=False),  # oidc `sub`, wecom userid, dingtalk unionId
             sa.Column("first_at", datetime_type, nullable=False),
             sa.Column("last_at", datetime_type, nullable=False),
             sa.UniqueConstraint("provider", "subject", name="uq_atrium_sign_in_links_subject"),
             sa.Index("ix_atrium_sign_in_links_user", "user_id"))
