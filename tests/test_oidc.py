"""Single sign-on with OpenID Connect against a real provider (oidc-provider-mock, served in a
thread): the app in the full mode talks to it over HTTP for discovery, keys and tokens; the tests
play the browser, submitting the provider's sign-in form and following its redirect back."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from portal import runtime
from portal.accounts import audit, oidc
from portal.accounts.identities import UNUSABLE_PASSWORD
from portal.accounts.oidc import SsoRefused
from portal.accounts.service import forget_account
from portal.accounts.tables import Account, Identity
from portal.settings import OidcProvider, OidcSettings, Settings
from tests.support.client import PortalClient, text_of, unique_email
from tests.support.oidc_mock import MockProvider, query_of, running_provider
from tests.support.server import embedded_env, portal_server

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def idp() -> Iterator[MockProvider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture(scope="module")
def late_idp() -> Iterator[MockProvider]:
    """A provider whose ID tokens expired ten minutes before they were issued."""
    with running_provider(access_token_max_age=timedelta(minutes=-10)) as provider:
        yield provider


@pytest.fixture
def sso(app, idp: MockProvider, late_idp: MockProvider) -> Iterator[MockProvider]:
    """The running app with the mock providers configured, as OIDC_PROVIDERS would."""
    current = runtime.current()
    plain = current.settings
    providers = (idp.provider(), late_idp.provider("late", "Late ID"))
    current.settings = replace(plain, oidc=OidcSettings(providers=providers, http_timeout_s=5))
    oidc.forget_cached()
    try:
        yield idp
    finally:
        current.settings = plain
        oidc.forget_cached()


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc in ("", "testserver"), url
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _start(client: PortalClient, provider: str = "mock", next_url: str | None = None) -> str:
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    response = await client.get(f"/account/sso/{provider}{query}")
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"]


async def _sign_in(
    client: PortalClient,
    idp: MockProvider,
    sub: str,
    provider: str = "mock",
    next_url: str | None = None,
) -> httpx.Response:
    """Continue with → the provider's form → back to the portal's callback."""
    back = await idp.authorize(await _start(client, provider, next_url), sub)
    return await client.get(_path(back))


def _user(idp: MockProvider, verified: bool | None = True) -> tuple[str, str]:
    sub, email = f"sub-{uuid.uuid4().hex[:10]}", unique_email("sso")
    claims = {"email": email} if verified is None else {"email": email, "email_verified": verified}
    idp.set_user(sub, **claims)
    return sub, email


async def _signed_in_as(client: PortalClient, email: str) -> bool:
    return email in (await client.get("/account/settings")).text


# --- the buttons and the redirect --------------------------------------------------------------


async def test_login_and_register_offer_continue_with(client: PortalClient, sso) -> None:
    for page in ("/account/login?next=/casepilot", "/account/register"):
        response = await client.get(page)
        assert "Continue with Mock ID" in text_of(response.text)
        assert "Continue with Late ID" in text_of(response.text)
    assert (
        'href="/account/sso/mock?next=/casepilot"'
        in (await client.get("/account/login?next=/casepilot")).text
    )


@pytest.mark.usefixtures("icd10cm_loaded")
async def test_a_gated_code_page_offers_continue_with_back_to_the_page(
    client: PortalClient, sso
) -> None:
    page = await client.get("/codes/icd-10-cm/E11.9")  # a guest: the sections are gated
    assert 'href="/account/sso/mock?next=/codes/icd-10-cm/E11.9"' in page.text
    ids = re.findall(r'id="([^"]*sso-title)"', page.text)
    assert ids and len(set(ids)) == len(ids)  # ids kept apart from any other block


async def test_no_buttons_without_providers(client: PortalClient) -> None:
    response = await client.get("/account/login")
    assert "Continue with" not in response.text
    assert (await client.get("/account/sso/mock")).status_code == 404


async def test_the_redirect_carries_pkce_state_and_nonce(client: PortalClient, sso) -> None:
    location = await _start(client)
    assert location.startswith(f"{sso.issuer}/oauth2/authorize?")
    query = query_of(location)
    assert query["response_type"] == "code"
    assert query["client_id"] == "portal"
    assert query["redirect_uri"] == "http://testserver/account/sso/mock/callback"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    # The state, nonce and verifier stay on the server: the cookie is only a session id.
    assert query["state"] not in str(client.cookies.jar)
    again = query_of(await _start(client))
    assert again["state"] != query["state"] and again["nonce"] != query["nonce"]


# --- sign in: a new account, then the same one -------------------------------------------------


async def test_first_sign_in_creates_an_account_and_the_next_reuses_it(
    client: PortalClient, sso, app
) -> None:
    sub, email = _user(sso)
    response = await _sign_in(client, sso, sub, next_url="/casepilot")
    assert response.status_code == 303
    assert response.headers["location"] == "/casepilot"
    assert await _signed_in_as(client, email)

    row = await Account.select().where(Account.email == email).first()
    assert row["password_hash"] == UNUSABLE_PASSWORD
    assert row["email_verified_at"] is not None, "the provider verified the address"
    assert await Identity.count().where(Identity.account == row["id"]) == 1
    events = [e.event for e in await audit.for_account(row["id"])]
    assert "register" in events and "signin" in events

    # No password works for an account created by single sign-on.
    await client.submit("/account/logout")
    assert (await client.login(email, UNUSABLE_PASSWORD)).status_code == 422

    async with PortalClient(app) as other:
        again = await _sign_in(other, sso, sub)
        assert again.status_code == 303 and again.headers["location"] == "/"
        assert await _signed_in_as(other, email)
    assert await Account.count().where(Account.email == email) == 1
    assert await Identity.count().where(Identity.account == row["id"]) == 1


async def test_next_stays_on_this_site(client: PortalClient, sso) -> None:
    sub, _ = _user(sso)
    response = await _sign_in(client, sso, sub, next_url="https://evil.example/steal")
    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.usefixtures("icd10cm_loaded")
async def test_one_session_opens_every_product_and_sign_out_ends_it(
    client: PortalClient, sso, app
) -> None:
    sub, email = _user(sso)
    assert (await _sign_in(client, sso, sub)).status_code == 303
    for page in ("/codes/icd-10-cm/E11.9", "/casepilot", "/careers", "/consultant"):
        response = await client.get(page)
        assert response.status_code == 200, page
        assert email in response.text, f"{page} does not show the signed-in account"
    session_id = client.cookies["portal_session"]

    assert (await client.submit("/account/logout")).status_code == 303
    assert email not in (await client.get("/casepilot")).text
    # The session is gone from the server, not only from this browser.
    async with PortalClient(app) as thief:
        thief.cookies.set("portal_session", session_id, domain="testserver.local")
        for page in ("/casepilot", "/careers", "/account/settings"):
            assert email not in (await thief.get(page)).text


# --- refusals ---------------------------------------------------------------------------------


async def test_a_wrong_state_is_refused(client: PortalClient, sso) -> None:
    sub, email = _user(sso)
    back = await sso.authorize(await _start(client), sub)
    tampered = back.replace(f"state={query_of(back)['state']}", "state=forged-state-value")
    response = await client.get(_path(tampered))
    assert response.status_code == 400
    assert "does not match a sign-in started in this browser" in text_of(response.text)
    assert not await Account.exists().where(Account.email == email)


async def test_an_answer_from_another_browser_is_refused(client: PortalClient, sso, app) -> None:
    sub, email = _user(sso)
    back = await sso.authorize(await _start(client), sub)
    async with PortalClient(app) as attacker:
        response = await attacker.get(_path(back))
    assert response.status_code == 400
    assert "does not match a sign-in started in this browser" in text_of(response.text)
    assert not await Account.exists().where(Account.email == email)


async def test_a_replayed_callback_is_refused(client: PortalClient, sso) -> None:
    sub, _ = _user(sso)
    back = await sso.authorize(await _start(client), sub)
    assert (await client.get(_path(back))).status_code == 303
    replay = await client.get(_path(back))
    assert replay.status_code == 400
    assert "used already" in text_of(replay.text)


async def test_a_replayed_code_is_refused_by_the_provider(client: PortalClient, sso) -> None:
    sub, _ = _user(sso)
    first = await sso.authorize(await _start(client), sub)
    assert (await client.get(_path(first))).status_code == 303
    await client.submit("/account/logout")
    # A fresh flow in this browser, answered with the code that was already spent.
    fresh_state = query_of(await _start(client))["state"]
    replay = first.replace(f"state={query_of(first)['state']}", f"state={fresh_state}")
    response = await client.get(_path(replay))
    assert response.status_code == 400
    assert "already used or has expired" in text_of(response.text)


async def test_a_bad_nonce_is_refused(client: PortalClient, sso) -> None:
    sub, email = _user(sso)
    location = await _start(client)
    nonce = query_of(location)["nonce"]
    back = await sso.authorize(location.replace(f"nonce={nonce}", "nonce=another-nonce"), sub)
    response = await client.get(_path(back))
    assert response.status_code == 400
    assert "does not belong to the sign-in you started" in text_of(response.text)
    assert not await Account.exists().where(Account.email == email)


async def test_an_expired_id_token_is_refused(client: PortalClient, sso, late_idp) -> None:
    sub, email = _user(late_idp)
    back = await late_idp.authorize(await _start(client, "late"), sub)
    response = await client.get(_path(back))
    assert response.status_code == 400
    assert "The sign-in from Late ID has expired" in text_of(response.text)
    assert not await Account.exists().where(Account.email == email)


@pytest.mark.parametrize("verified", [False, None, "no"])
async def test_an_unverified_email_is_refused(client: PortalClient, sso, verified) -> None:
    sub, email = f"sub-{uuid.uuid4().hex[:10]}", unique_email("unverified")
    claims = {"email": email} if verified is None else {"email": email, "email_verified": verified}
    sso.set_user(sub, **claims)
    response = await _sign_in(client, sso, sub)
    assert response.status_code == 400
    assert f"Mock ID has not confirmed that {email} is yours" in text_of(response.text)
    assert not await Account.exists().where(Account.email == email)


async def test_the_providers_error_is_shown(client: PortalClient, sso) -> None:
    back = await sso.deny(await _start(client))
    assert query_of(back)["error"] == "access_denied"
    response = await client.get(_path(back))
    assert response.status_code == 400
    assert "You did not allow Mock ID to sign you in here." in text_of(response.text)
    assert 'href="/account/sso/mock"' in response.text  # start again


async def test_an_unreachable_provider_is_said_so(client: PortalClient, sso) -> None:
    current = runtime.current()
    dead = OidcProvider("dead", "Dead ID", "http://127.0.0.1:9", "portal")
    current.settings = replace(
        current.settings, oidc=replace(current.settings.oidc, providers=(dead,))
    )
    response = await client.get("/account/sso/dead")
    assert response.status_code == 400
    assert "We could not reach Dead ID just now" in text_of(response.text)


# --- the ID token itself: signature, issuer, audience, expiry, nonce ---------------------------


def _claims(idp: MockProvider, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": idp.issuer,
        "sub": "someone",
        "aud": "portal",
        "iat": now,
        "exp": now + 300,
        "nonce": "the-nonce",
        "email": "someone@example.org",
        "email_verified": True,
    }
    return {**claims, **overrides}


def _published_keys(idp: MockProvider) -> dict:
    return httpx.get(f"{idp.issuer}/jwks", timeout=5).json()


def _validate(idp: MockProvider, token: str, keys: dict | None = None) -> dict:
    return oidc.validate_id_token(
        token,
        keys=keys or _published_keys(idp),
        issuer=idp.issuer,
        client_id="portal",
        nonce="the-nonce",
        algorithms=("RS256",),
        provider_name="Mock ID",
    )


def _foreign_key(kid: str | None) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid} if kid else None, private=True)


def test_a_token_signed_with_a_key_the_provider_does_not_publish_is_refused(idp) -> None:
    published = _published_keys(idp)
    kid = published["keys"][0].get("kid")
    forged = jwt.encode(
        {"alg": "RS256", **({"kid": kid} if kid else {})}, _claims(idp), _foreign_key(kid)
    )
    with pytest.raises(SsoRefused) as refused:
        _validate(idp, forged, published)
    assert refused.value.reason == "bad_signature"
    assert "could not be verified" in refused.value.message


async def test_a_token_with_an_unknown_key_id_is_refused_after_rereading_the_keys(app, sso) -> None:
    provider = runtime.current().settings.oidc.provider("mock")
    assert provider is not None
    meta = await oidc.metadata(provider)
    forged = jwt.encode(
        {"alg": "RS256", "kid": "not-published"}, _claims(sso), _foreign_key("not-published")
    )
    with pytest.raises(SsoRefused) as refused:
        await oidc.verified_claims(provider, meta, {"id_token": forged}, "the-nonce")
    assert refused.value.reason == "bad_signature"


def test_symmetric_and_unsigned_tokens_are_refused(idp) -> None:
    hs256 = jwt.encode({"alg": "HS256"}, _claims(idp), OctKey.import_key("s3cret" * 6))
    with pytest.raises(SsoRefused):
        _validate(idp, hs256, {"keys": [OctKey.import_key("s3cret" * 6).as_dict()]})
    header = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    body = base64.urlsafe_b64encode(json.dumps(_claims(idp)).encode()).rstrip(b"=").decode()
    with pytest.raises(SsoRefused):
        _validate(idp, f"{header}.{body}.", _published_keys(idp))


@pytest.fixture
def signer(idp: MockProvider) -> Iterator[tuple[RSAKey, dict]]:
    """A key of our own, published as if it were the provider's: tokens it signs pass the
    signature check, so each claim check can be seen on its own."""
    key = _foreign_key("test-key")
    yield key, {"keys": [key.as_dict(private=False)]}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"iss": "https://other-issuer.example"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"nonce": "replayed-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
    ],
)
def test_each_claim_is_checked(idp, signer, overrides, reason) -> None:
    key, keys = signer
    claims = {k: v for k, v in _claims(idp, **overrides).items() if v is not None}
    token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
    with pytest.raises(SsoRefused) as refused:
        _validate(idp, token, keys)
    assert refused.value.reason == reason
    good = jwt.encode({"alg": "RS256", "kid": "test-key"}, _claims(idp), key)
    assert _validate(idp, good, keys)["sub"] == "someone"


# --- linking to an account that has the address already -----------------------------------------


async def _registered(app, email: str, verified: bool = True) -> int:
    async with PortalClient(app) as owner:
        await owner.register(email)
    row = await Account.select(Account.id).where(Account.email == email).first()
    if verified:
        await Account.update({Account.email_verified_at: datetime.now(UTC)}).where(
            Account.id == row["id"]
        )
    return row["id"]


async def test_an_existing_account_links_only_after_its_password(
    client: PortalClient, sso, app
) -> None:
    email = unique_email("owner")
    account_id = await _registered(app, email)
    sub = f"sub-{uuid.uuid4().hex[:10]}"
    sso.set_user(sub, email=email, email_verified=True)

    response = await _sign_in(client, sso, sub, next_url="/careers")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/sso/link"
    page = await client.get("/account/sso/link")
    assert "An account with" in text_of(page.text) and email in page.text
    assert not await _signed_in_as(client, email)
    assert await Identity.count().where(Identity.account == account_id) == 0

    wrong = await client.submit("/account/sso/link", {"password": "not the password 1"})
    assert wrong.status_code == 422
    assert "do not match" in text_of(wrong.text)
    assert await Identity.count().where(Identity.account == account_id) == 0

    right = await client.submit("/account/sso/link", {"password": PASSWORD})
    assert right.status_code == 303 and right.headers["location"] == "/careers"
    assert await _signed_in_as(client, email)
    assert await Identity.count().where(Identity.account == account_id) == 1
    assert "sso_linked" in [e.event for e in await audit.for_account(account_id)]

    await client.submit("/account/logout")
    again = await _sign_in(client, sso, sub)
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert await _signed_in_as(client, email)


async def test_an_existing_account_links_after_a_mailed_link_in_the_same_browser(
    client: PortalClient, sso, app, mailbox
) -> None:
    email = unique_email("mailed")
    account_id = await _registered(app, email)
    sub = f"sub-{uuid.uuid4().hex[:10]}"
    sso.set_user(sub, email=email, email_verified=True)
    assert (await _sign_in(client, sso, sub)).headers["location"] == "/account/sso/link"

    sent = await client.submit("/account/sso/link/mail")
    assert sent.status_code == 200
    assert f"We sent a link to {email}" in text_of(sent.text)
    mail = await mailbox.wait_for(email, "Confirm signing in with Mock ID")
    link = _path(mail.link("/account/sso/link/"))

    async with PortalClient(app) as elsewhere:  # the link alone is not enough
        refused = await elsewhere.get(link)
        assert refused.status_code == 400
        assert "in the browser where you started" in text_of(refused.text)
    assert await Identity.count().where(Identity.account == account_id) == 0

    linked = await client.get(link)
    assert linked.status_code == 303
    assert await _signed_in_as(client, email)
    assert await Identity.count().where(Identity.account == account_id) == 1
    assert (await client.get(link)).status_code == 400, "the link works once"
    # A confirmed account keeps its password.
    await client.submit("/account/logout")
    assert (await client.login(email)).status_code == 303


async def test_confirming_an_unconfirmed_account_by_mail_drops_its_password(
    client: PortalClient, sso, app, mailbox
) -> None:
    """Someone registered the address without ever proving it; its owner signs in with SSO."""
    email = unique_email("prehijack")
    account_id = await _registered(app, email, verified=False)
    sub = f"sub-{uuid.uuid4().hex[:10]}"
    sso.set_user(sub, email=email, email_verified=True)
    await _sign_in(client, sso, sub)
    await client.submit("/account/sso/link/mail")
    mail = await mailbox.wait_for(email, "Confirm signing in with Mock ID")
    assert (await client.get(_path(mail.link("/account/sso/link/")))).status_code == 303
    row = await Account.select().where(Account.id == account_id).first()
    assert row["email_verified_at"] is not None
    assert row["password_hash"] == UNUSABLE_PASSWORD
    async with PortalClient(app) as squatter:
        assert (await squatter.login(email)).status_code == 422


# --- connect from settings, unlink --------------------------------------------------------------


async def test_connect_another_provider_from_settings_and_unlink_it(
    client: PortalClient, sso
) -> None:
    email = unique_email("connect")
    await client.register(email)
    settings_page = await client.get("/account/settings")
    assert 'hx-get="/account/sso/identities"' in settings_page.text
    section = await client.get("/account/sso/identities")
    assert "Connect Mock ID" in text_of(section.text)

    sub, _ = _user(sso, verified=False)  # the person is signed in: no address is relied on
    back = await _sign_in(client, sso, sub, next_url="/account/settings")
    assert back.headers["location"] == "/account/sso/link"
    confirm = await client.get("/account/sso/link")
    assert "Connect Mock ID?" in text_of(confirm.text)
    account_id = (await Account.select(Account.id).where(Account.email == email).first())["id"]
    assert await Identity.count().where(Identity.account == account_id) == 0

    done = await client.submit("/account/sso/link")
    assert done.status_code == 303 and done.headers["location"] == "/account/settings"
    identity = await Identity.select().where(Identity.account == account_id).first()
    assert identity["subject"] == sub

    # htmx: the section swaps itself.
    unlinked = await client.submit(
        f"/account/sso/identities/{identity['id']}/unlink",
        headers={"HX-Request": "true", "HX-Target": "sso-identities"},
    )
    assert unlinked.status_code == 200
    assert "Mock ID is disconnected." in text_of(unlinked.text)
    assert "<html" not in unlinked.text
    assert await Identity.count().where(Identity.account == account_id) == 0


async def test_the_last_way_to_sign_in_cannot_be_unlinked(client: PortalClient, sso, app) -> None:
    sub, email = _user(sso)
    await _sign_in(client, sso, sub)
    account_id = (await Account.select(Account.id).where(Account.email == email).first())["id"]
    only = await Identity.select().where(Identity.account == account_id).first()

    refused = await client.submit(f"/account/sso/identities/{only['id']}/unlink")
    assert refused.status_code == 422
    assert "only way to sign in" in text_of(refused.text)
    assert await Identity.count().where(Identity.account == account_id) == 1

    # A second identity (another subject at the same provider) makes the first one removable.
    second_sub, _ = _user(sso)
    assert (await _sign_in(client, sso, second_sub)).headers["location"] == "/account/sso/link"
    assert (await client.submit("/account/sso/link")).status_code == 303
    assert (await client.submit(f"/account/sso/identities/{only['id']}/unlink")).status_code == 200
    last = await Identity.select().where(Identity.account == account_id).first()
    assert last["subject"] == second_sub
    assert (await client.submit(f"/account/sso/identities/{last['id']}/unlink")).status_code == 422

    # Nobody unlinks another account's identity.
    async with PortalClient(app) as other:
        await other.register(unique_email("other"))
        response = await other.submit(f"/account/sso/identities/{last['id']}/unlink")
        assert response.status_code == 422
    assert await Identity.count().where(Identity.account == account_id) == 1


async def test_an_identity_of_another_account_is_not_connected(
    client: PortalClient, sso, app
) -> None:
    sub, email = _user(sso)
    async with PortalClient(app) as owner:
        await _sign_in(owner, sso, sub)
    await client.register(unique_email("intruder"))
    response = await _sign_in(client, sso, sub)
    assert response.status_code == 400
    assert "connected to another portal account" in text_of(response.text)
    owner_id = (await Account.select(Account.id).where(Account.email == email).first())["id"]
    assert await Identity.count().where(Identity.subject == sub) == 1
    row = await Identity.select(Identity.account).where(Identity.subject == sub).first()
    assert row["account"] == owner_id


async def test_a_disabled_account_cannot_sign_in_with_sso(client: PortalClient, sso) -> None:
    sub, email = _user(sso)
    await _sign_in(client, sso, sub)
    await client.submit("/account/logout")
    await Account.update({Account.disabled: True}).where(Account.email == email)
    row = await Account.select(Account.id).where(Account.email == email).first()
    forget_account(row["id"])
    response = await _sign_in(client, sso, sub)
    assert response.status_code == 400
    assert "This account is disabled." in text_of(response.text)


# --- settings from the environment --------------------------------------------------------------


def test_providers_come_from_the_environment() -> None:
    env = {
        "OIDC_PROVIDERS": "acme, st-marys",
        "OIDC_ACME_NAME": "Acme Health",
        "OIDC_ACME_ISSUER": "https://id.acme.example/",
        "OIDC_ACME_CLIENT_ID": "portal",
        "OIDC_ACME_CLIENT_SECRET": "s3cret",
        "OIDC_ACME_SCOPES": "email profile",
        "OIDC_ST_MARYS_ISSUER": "https://login.stmarys.example",
        "OIDC_ST_MARYS_CLIENT_ID": "coding-portal",
        "OIDC_ST_MARYS_TRUST_EMAIL": "1",
        "PORTAL_STATE_DIR": "/tmp",
        "SECRET_KEY": "x",
    }
    oidc_settings = Settings.from_env(env).oidc
    acme, marys = oidc_settings.providers
    assert (acme.key, acme.name, acme.issuer) == ("acme", "Acme Health", "https://id.acme.example")
    assert acme.scopes == ("openid", "email", "profile")
    assert acme.client_secret == "s3cret" and "s3cret" not in repr(acme)
    assert (marys.name, marys.client_secret, marys.trust_email) == ("St Marys", None, True)
    assert oidc_settings.provider("st-marys") is marys

    for bad in (
        {
            "OIDC_PROVIDERS": "acme",
            "OIDC_ACME_ISSUER": "http://id.acme.example",
            "OIDC_ACME_CLIENT_ID": "p",
        },
        {"OIDC_PROVIDERS": "acme", "OIDC_ACME_ISSUER": "https://id.acme.example"},
        {
            "OIDC_PROVIDERS": "link",
            "OIDC_LINK_ISSUER": "https://x.example",
            "OIDC_LINK_CLIENT_ID": "p",
        },
        {"OIDC_PROVIDERS": "Acme Corp"},
    ):
        with pytest.raises(ValueError):
            Settings.from_env({**bad, "PORTAL_STATE_DIR": "/tmp", "SECRET_KEY": "x"})
    assert Settings.from_env({"PORTAL_STATE_DIR": "/tmp", "SECRET_KEY": "x"}).oidc.providers == ()


async def test_discovery_is_read_once_per_process(app, sso) -> None:
    provider = runtime.current().settings.oidc.provider("mock")
    assert provider is not None
    first = await oidc.metadata(provider)
    assert await oidc.metadata(provider) is first
    assert first.issuer == sso.issuer and "RS256" in first.algorithms


# --- the embedded mode ----------------------------------------------------------------------


def test_sso_in_the_embedded_mode(idp: MockProvider, tmp_path) -> None:
    """`portal serve` on SQLite, configured from the environment as an operator would."""
    sub, email = _user(idp)
    env = embedded_env(tmp_path / "state", **idp.env())
    with (
        portal_server(env, tmp_path / "serve.log") as server,
        httpx.Client(base_url=server.url, timeout=10) as browser,
    ):
        assert "Continue with Mock ID" in browser.get("/account/login").text
        start = browser.get("/account/sso/mock?next=/careers")
        assert start.status_code == 303, server.output()[-2000:]
        answer = httpx.post(start.headers["location"], data={"sub": sub}, timeout=10)
        back = browser.get(_path(answer.headers["location"].replace(server.url, "")))
        assert back.status_code == 303, server.output()[-2000:]
        assert back.headers["location"] == "/careers"
        assert email in browser.get("/careers").text
        assert browser.get("/account/sso/identities").status_code == 200


async def test_an_sso_only_account_deletes_itself_without_a_password(
    client: PortalClient, sso
) -> None:
    sub, email = _user(sso)
    await _sign_in(client, sso, sub)
    assert await _signed_in_as(client, email)
    wrong = await client.submit("/account/settings/delete", {"password": "", "confirm": "delete"})
    assert wrong.status_code == 422, "the typed DELETE is still asked for"
    done = await client.submit("/account/settings/delete", {"password": "", "confirm": "DELETE"})
    assert done.status_code == 303
    assert await Account.count().where(Account.email == email) == 0
