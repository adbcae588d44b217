"""CasePilot's Piccolo app: conversations and messages."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from features.casepilot.tables import Conversation, Message

APP_CONFIG = AppConfig(
    app_name="casepilot",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Conversation, Message],
)
