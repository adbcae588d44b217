"""The coding portal's core: settings, app factory, accounts, metering, jobs, mail, admin."""

import os

# Piccolo finds its engine and apps here, whoever imports it first (app, worker, CLI, tests).
os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
