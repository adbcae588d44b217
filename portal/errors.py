"""Domain errors: services raise these, the web layer turns them into pages and statuses."""

from __future__ import annotations


class PortalError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(PortalError):
    """Input the user can fix; `fields` maps a form field to its message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


class InvalidCredentials(PortalError):
    status_code = 400


class InvalidToken(PortalError):
    status_code = 400


class Throttled(PortalError):
    status_code = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NotFound(PortalError):
    status_code = 404
