"""Single sign-on identities: which (issuer, subject) signs in to which account.

No web framework here. An account created by single sign-on has no password: its
`password_hash` holds UNUSABLE_PASSWORD, which is not an argon2 hash, so `authenticate` (argon2's
verify) refuses every password for it. Such an account keeps at least one identity: unlinking
never removes the last way to sign in. "Forgot your password?" gives it a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from portal import db, runtime
from portal.accounts import service
from portal.accounts.passwords import UNUSABLE_PASSWORD
from portal.accounts.service import AccountView
from portal.accounts.tables import Account, Identity
from portal.errors import NotFound, PortalError

log = structlog.get_logger("portal.sso")


def has_password(password_hash: str | None) -> bool:
    return bool(password_hash) and not password_hash.startswith("!")  # type: ignore[union-attr]


class IdentityTaken(PortalError):
    """The identity already signs in to another account."""


class LastSignInMethod(PortalError):
    """Unlinking would leave the account with no way to sign in."""


@dataclass(frozen=True)
class IdentityView:
    id: int
    account_id: int
    provider: str
    issuer: str
    subject: str
    email: str
    created_at: datetime
    last_login_at: datetime | None


def _view(row: dict) -> IdentityView:
    return IdentityView(
        id=row["id"],
        account_id=row["account"],
        provider=row["provider"],
        issuer=row["issuer"],
        subject=row["subject"],
        email=row["email"],
        created_at=row["created_at"],
        last_login_at=row["last_login_at"],
    )


async def find(issuer: str, subject: str) -> IdentityView | None:
    row = (
        await Identity.select()
        .where((Identity.issuer == issuer) & (Identity.subject == subject))
        .first()
    )
    return _view(row) if row else None


async def for_account(account_id: int) -> list[IdentityView]:
    rows = await Identity.select().where(Identity.account == account_id).order_by(Identity.id)
    return [_view(row) for row in rows]


async def account_has_password(account_id: int) -> bool:
    row = await Account.select(Account.password_hash).where(Account.id == account_id).first()
    return row is not None and has_password(row["password_hash"])


async def link(
    account_id: int, provider: str, issuer: str, subject: str, email: str
) -> IdentityView:
    """Attach the identity to the account; IdentityTaken when it belongs to another one."""
    await Identity.insert(
        Identity(
            account=account_id,
            provider=provider,
            issuer=issuer,
            subject=subject,
            email=email[:320],
            last_login_at=datetime.now(UTC),
        )
    ).on_conflict(target=(Identity.issuer, Identity.subject), action="DO NOTHING")
    identity = await find(issuer, subject)
    assert identity is not None
    if identity.account_id != account_id:
        raise IdentityTaken("This sign-in already belongs to another portal account.")
    log.info("sso identity linked", account_id=account_id, provider=provider)
    return identity


async def signed_in(identity: IdentityView, email: str | None) -> None:
    """Note the sign-in, and the address the provider gives today (shown in settings)."""
    values: dict = {Identity.last_login_at: datetime.now(UTC)}
    if email:
        values[Identity.email] = email[:320]
    await Identity.update(values).where(Identity.id == identity.id)
    await Account.update({Account.last_login_at: datetime.now(UTC)}).where(
        Account.id == identity.account_id
    )
    service.forget_account(identity.account_id)


async def create_account(
    email: str, provider: str, issuer: str, subject: str
) -> AccountView | None:
    """A new account for a provider-verified address, with the identity and no password.

    None when the address has an account already (the caller asks that owner to prove it)."""
    email = service.normalize_email(email)
    now = datetime.now(UTC)
    async with runtime.current().engine.transaction():
        rows = (
            await Account.insert(
                Account(email=email, password_hash=UNUSABLE_PASSWORD, email_verified_at=now)
            )
            .on_conflict(action="DO NOTHING")
            .returning(Account.id)
        )
        if not rows:
            return None
        account_id = rows[0]["id"]
        await Identity.insert(
            Identity(
                account=account_id,
                provider=provider,
                issuer=issuer,
                subject=subject,
                email=email,
                last_login_at=now,
            )
        )
    log.info("account registered", account_id=account_id, via="sso", provider=provider)
    return await service.get_account(account_id)


async def unlink(account_id: int, identity_id: int) -> IdentityView:
    """Remove one of the account's identities, unless it is the last way to sign in."""
    # One unlink at a time per account: two at once could each see the other identity left.
    async with db.serialized(runtime.current().engine, [f"account-identities:{account_id}"]):
        rows = await Identity.select().where(Identity.account == account_id)
        identity = next((_view(r) for r in rows if r["id"] == identity_id), None)
        if identity is None:
            raise NotFound("That sign-in is not connected to your account.")
        if len(rows) == 1 and not await account_has_password(account_id):
            raise LastSignInMethod(
                "This is the only way to sign in to your account. Connect another provider, "
                "or set a password (Forgot your password? on the log-in page), then try again."
            )
        await Identity.delete().where(Identity.id == identity_id)
    log.info("sso identity unlinked", account_id=account_id, provider=identity.provider)
    return identity


async def claim_unconfirmed(account_id: int) -> None:
    """The owner of an unconfirmed account's address has proved it by mail: mark it confirmed
    and make its password unusable (whoever set that password never proved the address)."""
    await Account.update(
        {Account.password_hash: UNUSABLE_PASSWORD, Account.email_verified_at: datetime.now(UTC)}
    ).where(Account.id == account_id)
    service.forget_account(account_id)
