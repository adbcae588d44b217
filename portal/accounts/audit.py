"""The security audit log: sign-ins, failures, password and email changes, role and plan changes,
deletions and single sign-on links, for admins and for each user's own account.

No web framework here: the accounts service records events, controllers pass what they know of
the client (its address and User-Agent).

Personal data, decided:
- The client address is never stored. A row keeps a keyed hash (HMAC with the installation's
  secret) of the address's network (/24 for IPv4, /48 for IPv6), cut to 16 hex digits: enough to
  tell "the same place as before" and to group an attack's failures, useless to find a person
  without the secret, and a brute force of the IPv4 space needs the key. Rotating SECRET_KEY
  makes every place look new once.
- The browser is kept as a coarse label ("Firefox on Linux"), never the User-Agent string.
- `detail` never holds an email, a password or a token: `record` drops keys that name one and
  any text with an "@" in it.
- Rows are kept AUDIT_RETENTION_DAYS (400 by default: a year of history and a margin), then a
  daily job (`audit.prune`, 03:30 UTC) deletes them; 0 keeps them.
- Rows outlive their account: a security log is evidence (of a takeover before a deletion, of
  an admin's change), so deleting an account keeps its rows under the bare account id, which no
  longer leads to an email. An account sees only rows from after its creation, so a reused id
  (SQLite can reuse the highest one) never shows a deleted account's history.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from portal import runtime
from portal.accounts.tables import Account, AuditEvent
from portal.jobs.schedule import Schedule
from portal.jobs.spec import JobSpec

log = structlog.get_logger("portal.audit")

EVENTS: tuple[str, ...] = (
    "signin",
    "signin_failed",
    "signout",
    "register",
    "password_changed",
    "password_reset",
    "email_change_requested",
    "email_changed",
    "role_changed",
    "plan_changed",
    "account_disabled",
    "account_enabled",
    "account_deleted",
    "sso_linked",
    "sso_unlinked",
)

# Events that tell a browser this account has been used from before (for "new device").
_KNOWN_FROM = ("signin", "register")
_FORBIDDEN_KEYS = ("email", "password", "token", "secret", "address", "hash")
_MAX_DETAIL_KEYS = 12
_MAX_TEXT = 200

DetailValue = str | int | float | bool | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    event: str
    account_id: int | None
    place: str | None  # the keyed hash of the client's network
    device: str
    detail: dict[str, DetailValue] = field(default_factory=dict)
    created_at: datetime | None = None

    @property
    def summary(self) -> str:
        """What happened, in the words the account's owner reads on the settings page."""
        return describe(self)


# --- writing ------------------------------------------------------------------------------------


async def record(
    event: str,
    *,
    account_id: int | None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
    user_agent: str | None = None,
) -> None:
    """Add one event. A failure to write is logged and swallowed: the log must not lock users
    out of their accounts when its table is unwell (the failure shows in the error log)."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    try:
        await _insert(event, account_id, address, clean_detail(detail), user_agent)
    except Exception:
        log.exception("audit record failed", audit_event=event, account_id=account_id)


async def _insert(
    event: str,
    account_id: int | None,
    address: str | None,
    detail: dict[str, DetailValue],
    user_agent: str | None,
) -> None:
    place = place_of(address) if address else None
    device = device_label(user_agent) if user_agent is not None else ""
    if event == "signin" and account_id is not None:
        detail["new_device"] = not await _seen_before(account_id, place, device)
    await AuditEvent.insert(
        AuditEvent(
            account_id=account_id,
            event=event,
            address_hash=place,
            device=device,
            detail=detail,
        )
    )


async def _seen_before(account_id: int, place: str | None, device: str) -> bool:
    if place is None:
        return True  # nothing to compare: do not cry wolf
    return bool(
        await AuditEvent.exists().where(
            (AuditEvent.account_id == account_id)
            & AuditEvent.event.is_in(list(_KNOWN_FROM))
            & (AuditEvent.address_hash == place)
            & (AuditEvent.device == device)
        )
    )


def clean_detail(detail: dict[str, Any] | None) -> dict[str, DetailValue]:
    """Only short scalars under harmless names: never an email, a password or a token."""
    cleaned: dict[str, DetailValue] = {}
    for key, value in (detail or {}).items():
        name = str(key)[:40]
        if any(word in name.lower() for word in _FORBIDDEN_KEYS):
            log.warning("audit detail dropped", key=name)
            continue
        if isinstance(value, str):
            if "@" in value:
                log.warning("audit detail dropped", key=name)
                continue
            value = value[:_MAX_TEXT]
        elif value is not None and not isinstance(value, int | float | bool):
            value = str(value)[:_MAX_TEXT]
        cleaned[name] = value
        if len(cleaned) >= _MAX_DETAIL_KEYS:
            break
    return cleaned


def place_of(address: str) -> str:
    """The keyed hash of the address's network (see the module's docstring)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        network = address.strip()[:100]  # "unknown", a test client's name
    else:
        prefix = 24 if ip.version == 4 else 48
        network = str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    key = runtime.current().settings.security.secret_key.encode()
    return hmac.new(key, f"audit-place:{network}".encode(), hashlib.sha256).hexdigest()[:16]


# Checked in order: Edge and Opera also say Chrome, Chrome also says Safari, Android says Linux,
# iOS says Mac OS X.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """A coarse browser-and-system label; the User-Agent string itself is not kept."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


# --- reading ------------------------------------------------------------------------------------


def _entry(row: dict[str, Any]) -> AuditEntry:
    detail = row["detail"] if isinstance(row["detail"], dict) else {}
    return AuditEntry(
        id=row["id"],
        event=row["event"],
        account_id=row["account_id"],
        place=row["address_hash"],
        device=row["device"],
        detail=detail,
        created_at=row["created_at"],
    )


async def for_account(account_id: int, limit: int = 20) -> list[AuditEntry]:
    """The account's own events, newest first (only those since the account was created)."""
    account = await Account.select(Account.created_at).where(Account.id == account_id).first()
    if account is None:
        return []
    rows = (
        await AuditEvent.select()
        .where(
            (AuditEvent.account_id == account_id) & (AuditEvent.created_at >= account["created_at"])
        )
        .order_by(AuditEvent.id, ascending=False)
        .limit(max(1, min(limit, 500)))
        .output(load_json=True)
    )
    return [_entry(row) for row in rows]


def _filtered(query: Any, event: str | None, account_id: int | None) -> Any:
    if event:
        query = query.where(AuditEvent.event == event)
    if account_id is not None:
        query = query.where(AuditEvent.account_id == account_id)
    return query


async def recent(
    limit: int = 50,
    event: str | None = None,
    account_id: int | None = None,
    offset: int = 0,
) -> list[AuditEntry]:
    """Every account's events, newest first, for the admin page."""
    rows = (
        await _filtered(AuditEvent.select(), event, account_id)
        .order_by(AuditEvent.id, ascending=False)
        .limit(max(1, min(limit, 500)))
        .offset(max(offset, 0))
        .output(load_json=True)
    )
    return [_entry(row) for row in rows]


async def count(event: str | None = None, account_id: int | None = None) -> int:
    return int(await _filtered(AuditEvent.count(), event, account_id))


# --- wording ------------------------------------------------------------------------------------

_WORDS = {
    "signin": "Signed in",
    "signin_failed": "Failed sign-in attempt",
    "signout": "Signed out",
    "register": "Account created",
    "password_changed": "Password changed",
    "password_reset": "Password reset with an emailed link",
    "email_change_requested": "Email change requested: a confirmation link was sent",
    "email_changed": "Email address changed",
    "account_disabled": "Account disabled by an administrator",
    "account_enabled": "Account enabled by an administrator",
    "account_deleted": "Account deleted",
    "sso_linked": "Single sign-on linked",
    "sso_unlinked": "Single sign-on unlinked",
}


def describe(entry: AuditEntry) -> str:
    detail = entry.detail
    if entry.event == "signin":
        text = "Sign-in from a new device" if detail.get("new_device") else "Signed in"
        return text + (" with single sign-on" if detail.get("via") == "sso" else "")
    if entry.event in ("role_changed", "plan_changed"):
        what = "Role" if entry.event == "role_changed" else "Plan"
        text = f"{what} changed"
        if detail.get("from") and detail.get("to"):
            text += f" from {str(detail['from']).capitalize()} to {str(detail['to']).capitalize()}"
        return text + (" by an administrator" if detail.get("actor_id") is not None else "")
    if entry.event in ("sso_linked", "sso_unlinked") and detail.get("provider"):
        return f"{_WORDS[entry.event]} ({detail['provider']})"
    if entry.event == "signin_failed" and detail.get("reason") == "password":
        return "Failed sign-in attempt: wrong password"
    return _WORDS.get(entry.event, entry.event.replace("_", " ").capitalize())


# --- retention --------------------------------------------------------------------------------


async def prune(now: datetime | None = None) -> int:
    """Job: delete the rows older than the retention period; how many went."""
    days = runtime.current().settings.security.audit_retention_days
    if days <= 0:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    gone = await AuditEvent.count().where(AuditEvent.created_at < cutoff)
    if gone:
        await AuditEvent.delete().where(AuditEvent.created_at < cutoff)
        log.info("audit rows pruned", rows=gone, retention_days=days)
    return gone


JOBS = [JobSpec("audit.prune", prune, timeout_s=300, max_tries=3, retry_delay_s=60)]
SCHEDULES = [Schedule("audit.prune", hour=3, minute=30)]
