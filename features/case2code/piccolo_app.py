"""Case2Code's Piccolo app: the catalog tables and each account's My codes."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from features.case2code.mycodes_tables import MyCode, RecentSearch
from features.case2code.tables import Code, CodeChange, CodeGroup, Record, Release

APP_CONFIG = AppConfig(
    app_name="case2code",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Release, Code, CodeGroup, CodeChange, Record, MyCode, RecentSearch],
)
