"""Piccolo's configuration: the engine comes from DATABASE_URL, the apps from the features."""

from piccolo.conf.apps import AppRegistry

from portal.db import make_engine
from portal.installed import installed_features
from portal.settings import get_settings

DB = make_engine(get_settings().database)

APP_REGISTRY = AppRegistry(apps=[f.piccolo_app for f in installed_features() if f.piccolo_app])
