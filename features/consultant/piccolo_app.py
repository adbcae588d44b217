"""CaseConsultant's Piccolo app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from features.consultant.tables import (
    Consult,
    ConsultAddress,
    ConsultAttachment,
    ConsultMessage,
    HeldMail,
)

APP_CONFIG = AppConfig(
    app_name="consultant",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Consult, ConsultMessage, ConsultAttachment, ConsultAddress, HeldMail],
)
