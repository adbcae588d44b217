"""The one explicit list of features the portal is composed of."""

from __future__ import annotations

from portal.feature import Feature


def installed_features() -> list[Feature]:
    from features.careers import feature as careers
    from features.case2code import feature as case2code
    from features.casepilot import feature as casepilot
    from features.consultant import feature as consultant
    from portal.core import core

    return [core, case2code, casepilot, consultant, careers]
