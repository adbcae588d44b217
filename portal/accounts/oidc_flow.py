"""Single sign-on, the flow: what is kept in the server-side session between the redirect to the
provider and its answer, and what a validated answer means for accounts.

No web framework here: the controllers pass a copy of the session's data (a plain dict) that
these functions update at its top level, and write it back.

- Sign in: a known identity signs in to its account. An unknown one with a provider-verified
  address creates an account; when that address already has an account, nothing is linked until
  the person proves its password or follows a link mailed to it (in the same browser).
- Connect: a signed-in person who comes back with an unknown identity confirms on a page of
  ours before it is linked (the answer alone could be forced on them by another site).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from portal import runtime
from portal.accounts import audit, identities, oidc, service
from portal.accounts.oidc import SsoRefused
from portal.accounts.tables import Account
from portal.errors import NotFound, ValidationFailed
from portal.mail.sender import send_mail
from portal.settings import OidcProvider

log = structlog.get_logger("portal.sso")

FLOWS = "sso_flows"  # state -> what the callback checks the answer against
PENDING = "sso_pending"  # an identity waiting for the person to confirm the link
FLOW_MAX_AGE_S = 15 * 60
PENDING_MAX_AGE_S = 30 * 60
MAX_FLOWS = 5  # sign-ins started in other tabs stay valid, up to this many
MAX_LINK_MAILS = 3

Session = dict[str, Any]


@dataclass(frozen=True)
class Client:
    """Who is at the other end, for the audit log."""

    address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class SignedIn:
    account_id: int
    next_url: str
    created: bool = False


@dataclass(frozen=True)
class NeedsConfirmation:
    pass


Outcome = SignedIn | NeedsConfirmation


@dataclass(frozen=True)
class PendingLink:
    provider: OidcProvider
    issuer: str
    subject: str
    email: str
    account_id: int
    kind: Literal["connect", "existing"]
    next_url: str
    mails_sent: int


def provider(key: str) -> OidcProvider:
    found = runtime.current().settings.oidc.provider(key)
    if found is None:
        raise NotFound("There is no such sign-in provider.")
    return found


def redirect_uri(p: OidcProvider) -> str:
    return f"{runtime.current().settings.base_url}/account/sso/{p.key}/callback"


# --- the redirect and the answer ------------------------------------------------------------


async def begin(key: str, next_url: str, session: Session) -> str:
    """The provider's authorization URL; the state, nonce and PKCE verifier go in the session."""
    p = provider(key)
    request = oidc.authorization_request(p, await oidc.metadata(p), redirect_uri(p))
    now = time.time()
    flows = {
        state: flow
        for state, flow in (session.get(FLOWS) or {}).items()
        if now - flow.get("t", 0) < FLOW_MAX_AGE_S
    }
    flows[request.state] = {
        "p": p.key,
        "n": request.nonce,
        "v": request.code_verifier,
        "next": next_url,
        "t": now,
    }
    session[FLOWS] = dict(sorted(flows.items(), key=lambda kv: kv[1]["t"])[-MAX_FLOWS:])
    return request.url


# error= answers a person can act on; any other code is shown as a code, never the provider's
# free text (a crafted link could put any words on our page).
_PROVIDER_ERRORS = {
    "access_denied": "You did not allow {name} to sign you in here.",
    "login_required": "{name} asks you to sign in there first.",
    "consent_required": "{name} needs your consent before it signs you in here.",
    "interaction_required": "{name} needs you to finish something on its page first.",
    "temporarily_unavailable": "{name} is not available just now. Try again in a moment.",
}


async def complete(
    key: str,
    params: Mapping[str, str | None],
    session: Session,
    current_account_id: int | None,
    client: Client,
) -> Outcome:
    """Check the provider's answer against the flow it belongs to, then sign in or link."""
    p = provider(key)
    try:
        if params.get("error"):
            # Shown even without a matching state (some providers leave it out of errors): an
            # error signs nobody in, and its words are ours.
            _drop_flow(params.get("state"), session)
            code = re.sub(r"[^a-z_]", "", (params.get("error") or "").lower())[:40] or "error"
            message = _PROVIDER_ERRORS.get(code, "{name} refused the sign-in (" + code + ").")
            raise SsoRefused(f"provider_{code}", message.format(name=p.name))
        flow = _take_flow(p, params.get("state"), session)
        # RFC 9207: an answer that names its issuer must name this one (a mix-up attack).
        if params.get("iss") and params.get("iss") != p.issuer:
            raise SsoRefused("iss", f"This answer did not come from {p.name}. Start again.")
        if not params.get("code"):
            raise SsoRefused("no_code", f"{p.name} did not send a sign-in code. Start again.")
        meta = await oidc.metadata(p)
        token = await oidc.exchange_code(p, meta, params["code"] or "", flow["v"], redirect_uri(p))
        claims = await oidc.verified_claims(p, meta, token, flow["n"])
        return await _resolve(p, claims, flow["next"], session, current_account_id, client)
    except SsoRefused as exc:
        log.info("sso refused", provider=p.key, reason=exc.reason)
        await audit.record(
            "signin_failed",
            account_id=current_account_id,
            address=client.address,
            user_agent=client.user_agent,
            detail={"via": "sso", "provider": p.key, "reason": exc.reason},
        )
        raise


def _drop_flow(state: str | None, session: Session) -> dict[str, Any] | None:
    flows = dict(session.get(FLOWS) or {})
    flow = flows.pop(state, None) if state else None
    if flows:
        session[FLOWS] = flows
    else:
        session.pop(FLOWS, None)
    return flow


def _take_flow(p: OidcProvider, state: str | None, session: Session) -> dict[str, Any]:
    """The flow this state names, removed from the session: an answer is good once."""
    flow = _drop_flow(state, session)
    if flow is None or flow.get("p") != p.key:
        raise SsoRefused(
            "state",
            f"This answer from {p.name} does not match a sign-in started in this browser, or "
            "it was used already. Start again.",
        )
    if time.time() - flow.get("t", 0) > FLOW_MAX_AGE_S:
        raise SsoRefused("state_expired", "This sign-in took too long. Start again.")
    return flow


async def _resolve(
    p: OidcProvider,
    claims: Mapping[str, Any],
    next_url: str,
    session: Session,
    current_account_id: int | None,
    client: Client,
) -> Outcome:
    issuer, subject = claims["iss"], str(claims["sub"])
    email, verified = oidc.email_of(p, claims)
    identity = await identities.find(issuer, subject)
    if current_account_id is not None:
        if identity is None:
            _hold(session, p, issuer, subject, email or "", current_account_id, "connect", next_url)
            return NeedsConfirmation()
        if identity.account_id != current_account_id:
            raise SsoRefused(
                "identity_taken",
                f"This {p.name} sign-in is connected to another portal account. Log out first "
                "to use it.",
            )
    if identity is not None:
        if await service.get_account(identity.account_id) is None:
            raise SsoRefused("disabled", "This account is disabled.")
        await identities.signed_in(identity, email)
        await _audit_signin(identity.account_id, p, client)
        return SignedIn(identity.account_id, next_url)
    if not email:
        raise SsoRefused(
            "no_email",
            f"{p.name} did not tell us your email address, which a new account needs. Ask your "
            "administrator to share it with this portal.",
        )
    if not verified:
        raise SsoRefused(
            "email_unverified",
            f"{p.name} has not confirmed that {email} is yours, so we cannot sign you in with "
            "it. Confirm the address with your organisation, or register with a password.",
        )
    try:
        email = service.normalize_email(email)
    except ValidationFailed as exc:
        raise SsoRefused("bad_email", f"{p.name} sent an address we cannot use.") from exc
    existing = await Account.select(Account.id, Account.disabled).where(Account.email == email)
    if not existing:
        account = await identities.create_account(email, p.key, issuer, subject)
        if account is not None:
            await audit.record(
                "register",
                account_id=account.id,
                address=client.address,
                user_agent=client.user_agent,
                detail={"via": "sso", "provider": p.key},
            )
            await _audit_signin(account.id, p, client)
            return SignedIn(account.id, next_url, created=True)
        existing = await Account.select(Account.id, Account.disabled).where(Account.email == email)
    if existing[0]["disabled"]:
        raise SsoRefused("disabled", "This account is disabled.")
    _hold(session, p, issuer, subject, email, existing[0]["id"], "existing", next_url)
    return NeedsConfirmation()


async def _audit_signin(account_id: int, p: OidcProvider, client: Client) -> None:
    await audit.record(
        "signin",
        account_id=account_id,
        address=client.address,
        user_agent=client.user_agent,
        detail={"via": "sso", "provider": p.key},
    )


# --- confirming a link ----------------------------------------------------------------------


def _hold(
    session: Session,
    p: OidcProvider,
    issuer: str,
    subject: str,
    email: str,
    account_id: int,
    kind: str,
    next_url: str,
) -> None:
    session[PENDING] = {
        "p": p.key,
        "iss": issuer,
        "sub": subject,
        "email": email,
        "account": account_id,
        "kind": kind,
        "next": next_url,
        "t": time.time(),
        "mail": None,
        "mails": 0,
    }


def pending(session: Mapping[str, Any]) -> PendingLink | None:
    """The identity waiting for confirmation in this session, if it has not expired."""
    held = session.get(PENDING)
    if not held or time.time() - held.get("t", 0) > PENDING_MAX_AGE_S:
        return None
    p = runtime.current().settings.oidc.provider(held["p"])
    if p is None:
        return None
    return PendingLink(
        provider=p,
        issuer=held["iss"],
        subject=held["sub"],
        email=held["email"],
        account_id=held["account"],
        kind=held["kind"],
        next_url=held["next"],
        mails_sent=held.get("mails", 0),
    )


def nothing_pending() -> SsoRefused:
    return SsoRefused(
        "pending_expired", "There is no sign-in waiting to be connected here. Start again."
    )


async def _link(session: Session, link: PendingLink, client: Client) -> SignedIn:
    session.pop(PENDING, None)
    try:
        await identities.link(
            link.account_id, link.provider.key, link.issuer, link.subject, link.email
        )
    except identities.IdentityTaken as exc:
        raise SsoRefused(
            "identity_taken",
            f"This {link.provider.name} sign-in is connected to another portal account.",
        ) from exc
    await audit.record(
        "sso_linked",
        account_id=link.account_id,
        address=client.address,
        user_agent=client.user_agent,
        detail={"provider": link.provider.name},
    )
    return SignedIn(link.account_id, link.next_url)


async def confirm_connect(session: Session, current_account_id: int, client: Client) -> SignedIn:
    """A signed-in person says yes to connecting the identity they just came back with."""
    link = pending(session)
    if link is None or link.kind != "connect" or link.account_id != current_account_id:
        raise nothing_pending()
    return await _link(session, link, client)


async def confirm_with_password(session: Session, password: str, client: Client) -> SignedIn:
    """The existing account's password proves it is theirs (throttled like a log-in)."""
    link = pending(session)
    if link is None or link.kind != "existing":
        raise nothing_pending()
    account = await service.authenticate(
        link.email, password, client.address or "unknown", user_agent=client.user_agent
    )
    if account.id != link.account_id:
        raise nothing_pending()
    signed = await _link(session, link, client)
    await _audit_signin(account.id, link.provider, client)
    return signed


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def mail_link(session: Session) -> PendingLink:
    """Mail a confirmation link to the existing account's address; it works in this browser."""
    link = pending(session)
    if link is None or link.kind != "existing":
        raise nothing_pending()
    if link.mails_sent >= MAX_LINK_MAILS:
        raise SsoRefused(
            "too_many_mails", "We have sent that link several times. Check your inbox."
        )
    row = await Account.select(Account.email).where(Account.id == link.account_id).first()
    if row is None:
        raise nothing_pending()
    raw = secrets.token_urlsafe(32)
    # A new link replaces the previous one: only the latest mail works.
    session[PENDING] = {**session[PENDING], "mail": _digest(raw), "mails": link.mails_sent + 1}
    settings = runtime.current().settings
    await send_mail(
        row["email"],
        f"Confirm signing in with {link.provider.name}",
        "sso_link",
        {
            "link": f"{settings.base_url}/account/sso/link/{raw}",
            "provider": link.provider.name,
            "minutes": PENDING_MAX_AGE_S // 60,
        },
        dedupe_key=f"sso-link:{_digest(raw)[:16]}",
    )
    return link


async def confirm_by_mail(session: Session, raw: str, client: Client) -> SignedIn:
    """The mailed link, followed in the browser that asked for it."""
    link = pending(session)
    expected = (session.get(PENDING) or {}).get("mail")
    if link is None or not expected or not raw or len(raw) > 200:
        raise SsoRefused(
            "mail_link",
            "This link works once, for 30 minutes, in the browser where you started signing "
            "in. Start again there.",
        )
    if not hmac.compare_digest(_digest(raw), expected):
        raise SsoRefused(
            "mail_link", "This link is not the latest one we sent. Use the newest message."
        )
    unconfirmed = await Account.exists().where(
        (Account.id == link.account_id) & Account.email_verified_at.is_null()
    )
    if unconfirmed:
        # Whoever registered this address never proved it; its owner just did. A password they
        # did not choose must not keep working (account pre-hijacking).
        await identities.claim_unconfirmed(link.account_id)
    signed = await _link(session, link, client)
    await _audit_signin(link.account_id, link.provider, client)
    return signed


# --- settings ---------------------------------------------------------------------------------


async def unlink(account_id: int, identity_id: int, client: Client) -> str:
    """Disconnect one identity; the name of its provider, for the notice."""
    identity = await identities.unlink(account_id, identity_id)
    p = runtime.current().settings.oidc.provider(identity.provider)
    name = p.name if p else identity.provider
    await audit.record(
        "sso_unlinked",
        account_id=account_id,
        address=client.address,
        user_agent=client.user_agent,
        detail={"provider": name},
    )
    return name
