"""The core's Piccolo app: accounts, the meter ledger, jobs and mail."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.accounts.tables import Account, AccountToken, AuditEvent, Identity
from portal.jobs.tables import Job
from portal.mail.tables import OutboxMessage
from portal.metering.tables import MeterEvent

TABLES = [Account, AccountToken, MeterEvent, Job, OutboxMessage, AuditEvent, Identity]

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
)
