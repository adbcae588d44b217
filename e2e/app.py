"""The app the browser tests serve: the portal plus the tests' small metered page."""

from litestar import Litestar

from portal.app import create_app
from portal.installed import installed_features
from portal.settings import Settings
from tests.support.metered_page import feature as metered_page


def create_e2e_app() -> Litestar:
    return create_app(Settings.from_env(), [*installed_features(), metered_page])
