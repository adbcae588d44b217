"""CareerCenter's Piccolo app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from features.careers.tables import (
    AlertDelivery,
    Application,
    EmployerProfile,
    Job,
    JobAlert,
    SavedJob,
    StoredFile,
)

APP_CONFIG = AppConfig(
    app_name="careers",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        StoredFile,
        EmployerProfile,
        Job,
        Application,
        SavedJob,
        JobAlert,
        AlertDelivery,
    ],
)
