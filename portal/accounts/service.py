"""Accounts: registration, verification, log-in, password reset, settings, deletion.

No web framework here: controllers, the CLI and tests call these functions directly.
Messages never say whether an email is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from email_validator import EmailNotValidError, validate_email

from portal import runtime
from portal.accounts import audit, throttle, tokens
from portal.accounts.passwords import (
    MAX_LENGTH,
    UNUSABLE_PASSWORD,
    dummy_hash,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from portal.accounts.tables import Account
from portal.errors import InvalidCredentials, NotFound, ValidationFailed
from portal.jobs.tables import Job
from portal.mail.sender import send_mail
from portal.mail.tables import OutboxMessage
from portal.metering.tables import MeterEvent
from portal.settings import PLANS, ROLES

log = structlog.get_logger("portal.accounts")

BAD_LOGIN = "That email and password do not match an account."


@dataclass(frozen=True)
class AccountView:
    """What the web layer needs of the signed-in account (no password hash)."""

    id: int
    email: str
    role: str
    plan: str
    verified: bool
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _view(row: dict) -> AccountView:
    return AccountView(
        id=row["id"],
        email=row["email"],
        role=row["role"],
        plan=row["plan"],
        verified=row["email_verified_at"] is not None,
        created_at=row["created_at"],
    )


def normalize_email(raw: str, field: str = "email") -> str:
    raw = (raw or "").strip()
    if not raw:
        raise ValidationFailed({field: "Enter your email address."})
    if len(raw) > 320:
        raise ValidationFailed({field: "That email address is too long."})
    try:
        info = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed({field: f"That is not a valid email address: {exc}"}) from exc
    return info.normalized.lower()


def _profile() -> str:
    return runtime.current().settings.security.argon2_profile


def _check_new_password(password: str, email: str, field: str = "password") -> None:
    problem = password_problem(password or "", email)
    if problem:
        raise ValidationFailed({field: problem})


async def get_account(account_id: int) -> AccountView | None:
    """The account, if it exists and is enabled: every signed-in request asks, so a process keeps
    the answer for `account_cache_s` (writes below drop it at once in the writing process)."""
    return (
        await runtime.current()
        .recent("accounts")
        .get(  # type: ignore[no-any-return]
            account_id, lambda: _load_account(account_id)
        )
    )


def forget_account(account_id: int) -> None:
    """After a write to the account row: the next get_account reads it again."""
    runtime.current().recent("accounts").forget(account_id)


async def _load_account(account_id: int) -> AccountView | None:
    row = (
        await Account.select()
        .where(
            (Account.id == account_id) & (Account.disabled == False)  # noqa: E712
        )
        .first()
    )
    return _view(row) if row else None


async def account_by_email(email: str) -> AccountView | None:
    """The enabled account registered with this address (case-insensitive), if any."""
    row = (
        await Account.select()
        .where((Account.email == email.strip().lower()) & (Account.disabled == False))  # noqa: E712
        .first()
    )
    return _view(row) if row else None


async def register(
    email: str, password: str, *, address: str | None = None, user_agent: str | None = None
) -> AccountView | None:
    """Create an account and mail a verification link.

    Returns None when the email already has an account: that owner gets a mail telling them
    so, and the caller shows the same "check your inbox" message either way. `address` and
    `user_agent` (the client's, when a web request registers) go to the audit log.
    """
    email = normalize_email(email)
    _check_new_password(password, email)
    existing = await Account.select(Account.id).where(Account.email == email).first()
    if existing:
        await send_mail(
            email,
            "Someone tried to register with your email",
            "already_registered",
            {"email": email},
            dedupe_key=f"already-registered:{existing['id']}:{datetime.now(UTC):%Y%m%d%H}",
        )
        return None
    rows = (
        await Account.insert(
            Account(email=email, password_hash=hash_password(password, _profile()))
        )
        .on_conflict(action="DO NOTHING")
        .returning(*Account.all_columns())
    )
    if not rows:  # a concurrent registration of the same email won
        return None
    account = _view(rows[0])
    await audit.record("register", account_id=account.id, address=address, user_agent=user_agent)
    await send_verification(account)
    log.info("account registered", account_id=account.id)
    return account


async def send_verification(account: AccountView) -> None:
    rt = runtime.current()
    raw = await tokens.issue(account.id, "verify", rt.settings.security.verify_token_max_age_s)
    await send_mail(
        account.email,
        "Confirm your email address",
        "verify_email",
        {
            "link": f"{rt.settings.base_url}/account/verify/{raw}",
            "hours": rt.settings.security.verify_token_max_age_s // 3600,
        },
        dedupe_key=f"verify:{raw[:16]}",
    )


async def verify_email(raw_token: str) -> AccountView:
    token = await tokens.consume(raw_token, "verify")
    await Account.update({Account.email_verified_at: datetime.now(UTC)}).where(
        Account.id == token.account
    )
    forget_account(token.account)
    account = await get_account(token.account)
    if account is None:
        raise NotFound("This account no longer exists.")
    return account


async def authenticate(
    email: str, password: str, address: str, *, user_agent: str | None = None
) -> AccountView:
    # Neither a malformed email nor a throttled attempt is audited: both cost an attacker
    # nothing, and a row each would let them fill the log. Failures counted by the throttle are.
    try:
        email = normalize_email(email)
    except ValidationFailed as exc:
        raise InvalidCredentials(BAD_LOGIN) from exc
    await throttle.check(email, address)
    row = await Account.select().where(Account.email == email).first()
    if row is None or row["disabled"]:
        verify_password(dummy_hash(_profile()), password or "", _profile())  # same cost as a hit
        await throttle.record_failure(email, address)
        await audit.record(
            "signin_failed",
            account_id=row["id"] if row else None,
            address=address,
            detail={"reason": "disabled" if row else "unknown"},
            user_agent=user_agent,
        )
        raise InvalidCredentials(BAD_LOGIN)
    if not verify_password(row["password_hash"], password or "", _profile()):
        await throttle.record_failure(email, address)
        log.info("login failed", account_id=row["id"])
        await audit.record(
            "signin_failed",
            account_id=row["id"],
            address=address,
            detail={"reason": "password"},
            user_agent=user_agent,
        )
        raise InvalidCredentials(BAD_LOGIN)
    await throttle.clear(email)
    values: dict = {Account.last_login_at: datetime.now(UTC)}
    if needs_rehash(row["password_hash"], _profile()):
        values[Account.password_hash] = hash_password(password, _profile())
    await Account.update(values).where(Account.id == row["id"])
    forget_account(row["id"])
    log.info("login", account_id=row["id"])
    await audit.record("signin", account_id=row["id"], address=address, user_agent=user_agent)
    return _view(row)


async def start_password_reset(email: str) -> None:
    """Mail a reset link if the account exists; say nothing either way."""
    email = normalize_email(email)
    row = (
        await Account.select(Account.id)
        .where(
            (Account.email == email) & (Account.disabled == False)  # noqa: E712
        )
        .first()
    )
    if row is None:
        return
    rt = runtime.current()
    ttl = rt.settings.security.reset_token_max_age_s
    raw = await tokens.issue(row["id"], "reset", ttl)
    await send_mail(
        email,
        "Reset your password",
        "reset_password",
        {"link": f"{rt.settings.base_url}/account/reset/{raw}", "minutes": ttl // 60},
        dedupe_key=f"reset:{raw[:16]}",
    )


async def reset_password(
    raw_token: str,
    new_password: str,
    *,
    address: str | None = None,
    user_agent: str | None = None,
) -> AccountView:
    # Check the password before spending the token, so a typo does not burn the link.
    if len(raw_token or "") > 200:
        raise ValidationFailed({"token": "This link is not valid."})
    if (new_password or "") and len(new_password) > MAX_LENGTH:
        raise ValidationFailed({"password": f"Use at most {MAX_LENGTH} characters."})
    _check_new_password(new_password, "")
    token = await tokens.consume(raw_token, "reset")
    row = await Account.select(Account.email).where(Account.id == token.account).first()
    if row is None:
        raise NotFound("This account no longer exists.")
    _check_new_password(new_password, row["email"])
    await Account.update(
        {
            Account.password_hash: hash_password(new_password, _profile()),
            # Following a mailed link proves the address.
            Account.email_verified_at: datetime.now(UTC),
        }
    ).where(Account.id == token.account)
    await tokens.revoke(token.account, "reset")
    await throttle.clear(row["email"])
    forget_account(token.account)
    await audit.record(
        "password_reset", account_id=token.account, address=address, user_agent=user_agent
    )
    account = await get_account(token.account)
    if account is None:
        raise NotFound("This account is disabled.")
    return account


async def _check_current_password(account_id: int, password: str, field: str) -> dict:
    row = await Account.select().where(Account.id == account_id).first()
    if row is None:
        raise NotFound("This account no longer exists.")
    if not verify_password(row["password_hash"], password or "", _profile()):
        raise ValidationFailed({field: "Your current password is not correct."})
    return row


async def change_password(
    account_id: int,
    current: str,
    new: str,
    *,
    address: str | None = None,
    user_agent: str | None = None,
) -> None:
    row = await _check_current_password(account_id, current, "current_password")
    _check_new_password(new, row["email"], field="new_password")
    await Account.update({Account.password_hash: hash_password(new, _profile())}).where(
        Account.id == account_id
    )
    await tokens.revoke(account_id, "reset")
    await audit.record(
        "password_changed", account_id=account_id, address=address, user_agent=user_agent
    )


async def request_email_change(
    account_id: int,
    current_password: str,
    new_email: str,
    *,
    address: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Mail a confirmation link to the new address; the change happens when it is followed."""
    new_email = normalize_email(new_email, field="new_email")
    row = await _check_current_password(account_id, current_password, "current_password")
    if new_email == row["email"]:
        raise ValidationFailed({"new_email": "That is already your email address."})
    rt = runtime.current()
    raw = await tokens.issue(
        account_id, "email_change", rt.settings.security.verify_token_max_age_s, new_email
    )
    await send_mail(
        new_email,
        "Confirm your new email address",
        "confirm_email_change",
        {"link": f"{rt.settings.base_url}/account/email/{raw}", "old_email": row["email"]},
        dedupe_key=f"email-change:{raw[:16]}",
    )
    # Neither address goes in the log: the event says that a change was asked for, not to what.
    await audit.record(
        "email_change_requested", account_id=account_id, address=address, user_agent=user_agent
    )
    return new_email


async def confirm_email_change(
    raw_token: str, *, address: str | None = None, user_agent: str | None = None
) -> AccountView:
    token = await tokens.consume(raw_token, "email_change")
    taken = await Account.exists().where(Account.email == token.new_email)
    if taken:
        raise ValidationFailed({"email": "That email address cannot be used. Choose another."})
    await Account.update(
        {Account.email: token.new_email, Account.email_verified_at: datetime.now(UTC)}
    ).where(Account.id == token.account)
    forget_account(token.account)
    await audit.record(
        "email_changed", account_id=token.account, address=address, user_agent=user_agent
    )
    account = await get_account(token.account)
    if account is None:
        raise NotFound("This account no longer exists.")
    return account


async def delete_account(
    account_id: int,
    current_password: str,
    *,
    address: str | None = None,
    user_agent: str | None = None,
) -> None:
    row = await Account.select().where(Account.id == account_id).first()
    if row is None:
        raise NotFound("This account no longer exists.")
    # An account that only signs in through a provider has no password to prove: the signed-in
    # session and the typed DELETE are what it has.
    if row["password_hash"] != UNUSABLE_PASSWORD:
        row = await _check_current_password(account_id, current_password, "password")
    await erase(account_id, row["email"], address=address, user_agent=user_agent)


async def erase(
    account_id: int,
    email: str,
    *,
    actor_id: int | None = None,
    address: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Remove an account and everything the portal holds about it, but for its audit rows: a
    security log is kept (under the bare account id, which no longer leads to an email)."""
    for feature in runtime.current().features:
        if feature.on_account_deleted is not None:
            await feature.on_account_deleted(account_id)
    await MeterEvent.delete().where(MeterEvent.subject == f"user:{account_id}")
    await Job.delete().where(Job.owner_id == account_id)
    await OutboxMessage.delete().where(OutboxMessage.to_addr == email)
    await Account.delete().where(Account.id == account_id)  # tokens go with it (cascade)
    forget_account(account_id)
    await audit.record(
        "account_deleted",
        account_id=account_id,
        address=address,
        detail={"actor_id": actor_id} if actor_id is not None else None,
        user_agent=user_agent,
    )
    log.info("account deleted", account_id=account_id)


async def create_admin(email: str, password: str) -> AccountView:
    email = normalize_email(email)
    _check_new_password(password, email)
    now = datetime.now(UTC)
    existing = await Account.select(Account.id, Account.role).where(Account.email == email).first()
    if existing:
        await Account.update(
            {
                Account.role: "admin",
                Account.password_hash: hash_password(password, _profile()),
                Account.email_verified_at: now,
                Account.disabled: False,
            }
        ).where(Account.id == existing["id"])
        forget_account(existing["id"])
    else:
        await Account.insert(
            Account(
                email=email,
                password_hash=hash_password(password, _profile()),
                role="admin",
                email_verified_at=now,
            )
        )
    row = await Account.select().where(Account.email == email).first()
    await _audit_create_admin(row["id"], existing)
    return _view(row)


async def _audit_create_admin(account_id: int, existing: dict | None) -> None:
    """`portal users create-admin` makes an admin from the command line: no actor, no address."""
    if existing is None:
        await audit.record("register", account_id=account_id, detail={"via": "cli"})
        return
    await audit.record("password_changed", account_id=account_id, detail={"via": "cli"})
    if existing["role"] != "admin":
        detail = {"from": existing["role"], "to": "admin", "via": "cli"}
        await audit.record("role_changed", account_id=account_id, detail=detail)


# --- administration -----------------------------------------------------------------------

PAGE_SIZE = 50


async def search_accounts(query: str, page: int = 1) -> tuple[list[dict], int]:
    q = Account.select(
        Account.id,
        Account.email,
        Account.role,
        Account.plan,
        Account.disabled,
        Account.email_verified_at,
        Account.created_at,
        Account.last_login_at,
    )
    count = Account.count()
    query = (query or "").strip()[:200]
    if query:
        q = q.where(Account.email.ilike(f"%{query.lower()}%"))
        count = count.where(Account.email.ilike(f"%{query.lower()}%"))
    rows = (
        await q.order_by(Account.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return rows, await count


async def admin_update(
    account_id: int, *, role: str, plan: str, disabled: bool, actor_id: int | None = None
) -> None:
    """Set an account's role, plan and status; `actor_id` (the admin) goes in the audit log."""
    errors = {}
    if role not in ROLES:
        errors["role"] = f"Role must be one of {', '.join(ROLES)}."
    if plan not in PLANS:
        errors["plan"] = f"Plan must be one of {', '.join(PLANS)}."
    if errors:
        raise ValidationFailed(errors)
    before = (
        await Account.select(Account.role, Account.plan, Account.disabled)
        .where(Account.id == account_id)
        .first()
    )
    updated = (
        await Account.update({Account.role: role, Account.plan: plan, Account.disabled: disabled})
        .where(Account.id == account_id)
        .returning(Account.id)
    )
    forget_account(account_id)
    if not updated or before is None:
        raise NotFound("No such account.")
    after = {"role": role, "plan": plan, "disabled": disabled}
    await _audit_admin_changes(account_id, before, after, actor_id)
    log.info(
        "account updated by admin", account_id=account_id, role=role, plan=plan, disabled=disabled
    )


async def _audit_admin_changes(
    account_id: int, before: dict, after: dict, actor_id: int | None
) -> None:
    """One audit row per field the admin changed (saving an unchanged row records nothing)."""
    for field, event in (("role", "role_changed"), ("plan", "plan_changed")):
        if before[field] != after[field]:
            await audit.record(
                event,
                account_id=account_id,
                detail={"from": before[field], "to": after[field], "actor_id": actor_id},
            )
    if bool(before["disabled"]) != after["disabled"]:
        await audit.record(
            "account_disabled" if after["disabled"] else "account_enabled",
            account_id=account_id,
            detail={"actor_id": actor_id},
        )
