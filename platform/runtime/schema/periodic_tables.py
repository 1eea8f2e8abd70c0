"""System tables of periodic reports (runtime/periodic): one row per submitter, report and period
(a draft until submitted, then the figures as they were when submitted), and who has read it."""
from __future__ import annotations

import sqlalchemy as sa

PERIODIC_TABLES = ("atrium_periodic_reports", "atrium_periodic_report_reads")


def periodic_tables(metadata: sa.MetaData, id_type: sa.types.TypeEngine, datetime_type: sa.types.TypeEngine) -> None:
    sa.Table("atrium_periodic_reports", metadata,
             sa.Column("id", id_type, primary_key=True, autoincrement=True),
             sa.Column("report", sa.String(50), nullable=False),  # periodic_reports/<name>.yaml
             sa.Column("user_id", id_type, sa.ForeignKey("atrium_users.id"), nullable=False),  # the submitter
             sa.Column("period_start", sa.Date(), nullable=False),  # the day, the week's Monday, the month's 1st
             sa.Column("status", sa.String(10), nullable=False),  # draft, submitted
             sa.Column("figures", sa.JSON()),  # figure → value, taken when submitted (empty while a draft)
             sa.Column("texts", sa.JSON()),  # section → text
             sa.Column("plan", sa.JSON()),  # plan item → number for the next period
             sa.Column("created_at", datetime_type, nullable=False),
             sa.Column("updated_at", datetime_type, nullable=False),
             sa.Column("submitted_at", datetime_type),
             sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
             sa.Index("uq_atrium_periodic_reports_period", "report", "user_id", "period_start", unique=True),
             sa.Index("ix_atrium_periodic_reports_start", "report", "period_start"))
    sa.Table("atrium_periodic_report_reads", metadata,  # read receipts: a reader opened a submitted report
             sa.Column("id", id_type, primary_key=True, autoincrement=True),
             sa.Column("submission_id", id_type, sa.ForeignKey("atrium_periodic_reports.id"), nullable=False),
             sa.Column("reader_id", id_type, sa.ForeignKey("atrium_users.id"), nullable=False),
             sa.Column("read_at", datetime_type, nullable=False),
             sa.Index("uq_atrium_periodic_report_reads", "submission_id", "reader_id", unique=True))
