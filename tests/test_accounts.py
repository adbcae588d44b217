"""Accounts against the real PostgreSQL, Redis and SMTP: the app in the full mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.tables import Account, AccountToken
from tests.support.client import PortalClient, text_of, unique_email

PASSWORD = "correct horse battery"


async def test_register_logs_in_and_mails_a_verification_link(
    client: PortalClient, mailbox
) -> None:
    email = unique_email()
    response = await client.register(email)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert email in home.text
    assert "Confirm your email address" in home.text

    mail = await mailbox.wait_for(email, "Confirm your email")
    link = mail.link("/account/verify/")
    assert link.startswith("http://testserver/account/verify/")
    assert "Confirm your email address" in mail.html

    verified = await client.get(link.removeprefix("http://testserver"))
    assert verified.status_code == 200
    assert "Email confirmed" in verified.text
    row = await Account.select(Account.email_verified_at).where(Account.email == email).first()
    assert row["email_verified_at"] is not None

    again = await client.get(link.removeprefix("http://testserver"))
    assert again.status_code == 400, "a verification link works once"


async def test_email_is_normalised_and_duplicates_reveal_nothing(
    client: PortalClient, mailbox, app
) -> None:
    email = unique_email("Dup")
    assert (await client.register(email.upper())).status_code == 303
    row = await Account.select(Account.email).where(Account.email == email.lower()).first()
    assert row is not None

    async with PortalClient(app) as other:
        second = await other.register(email)
    assert second.status_code == 200
    assert "Check your inbox" in second.text
    assert "already" not in text_of(second.text).split("Check your inbox")[1][:80]
    assert await Account.count().where(Account.email == email.lower()) == 1
    notice = await mailbox.wait_for(email.lower(), "tried to register")
    assert "You already have an account" in notice.text


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "not a valid email"),
        ("", PASSWORD, "Enter your email"),
        (None, "short", "at least 10"),
        (None, "1234567890", "too easy"),
        (None, "aaaaaaaaaaaa", "too easy"),
        (None, "x" * 129, "at most 128"),
        (None, "y" * 1_000_000, "at most 128"),
    ],
)
async def test_register_rejects_bad_input_with_a_clear_message(
    client: PortalClient, email: str | None, password: str, message: str
) -> None:
    address = unique_email() if email is None else email
    response = await client.register(address, password)
    assert response.status_code == 422
    assert message in response.text
    if email is None:
        assert await Account.count().where(Account.email == address) == 0


async def test_login_renews_the_session_and_logout_ends_it(client: PortalClient, app) -> None:
    email = unique_email()
    await client.register(email)
    await client.submit("/account/logout")
    assert "portal_session" not in client.cookies or client.cookies["portal_session"] == "null"

    # A session that exists before log-in (fixation attempt) must not survive it.
    await client.get("/")
    client.cookies.delete("portal_session")
    client.cookies.set("portal_session", "a" * 64, domain="testserver.local")
    response = await client.login(email)
    assert response.status_code == 303
    new_id = client.cookies["portal_session"]
    assert new_id not in ("a" * 64, "null")
    assert email in (await client.get("/")).text

    response = await client.submit("/account/logout")
    assert response.status_code == 303
    assert email not in (await client.get("/")).text
    # The old session id is dead on the server, not only forgotten by this client.
    async with PortalClient(app) as thief:
        thief.cookies.set("portal_session", new_id, domain="testserver.local")
        assert email not in (await thief.get("/")).text


async def test_wrong_password_and_unknown_user_get_the_same_message(client: PortalClient) -> None:
    email = unique_email()
    await client.register(email)
    await client.submit("/account/logout")
    wrong = await client.login(email, "wrong password 123")
    unknown = await client.login(unique_email(), "wrong password 123")
    assert wrong.status_code == unknown.status_code == 422
    assert "do not match an account" in wrong.text
    assert text_of(wrong.text).count("do not match") == text_of(unknown.text).count("do not match")


async def test_login_is_throttled_per_account(client: PortalClient) -> None:
    email = unique_email()
    await client.register(email)
    await client.submit("/account/logout")
    for _ in range(5):
        assert (await client.login(email, "bad password 000")).status_code == 422
    blocked = await client.login(email)  # even the right password waits out the window
    assert blocked.status_code == 429
    assert "Too many failed log-in attempts" in blocked.text


async def test_login_is_throttled_per_address(client: PortalClient) -> None:
    # 20 failures from one address over many accounts (a password spray) blocks the address.
    for _ in range(20):
        await client.login(unique_email("spray"), "bad password 000")
    blocked = await client.login(unique_email("spray"), "bad password 000")
    assert blocked.status_code == 429


async def test_password_reset_by_mail_is_single_use(client: PortalClient, mailbox, app) -> None:
    email = unique_email()
    await client.register(email)
    await client.submit("/account/logout")

    response = await client.submit("/account/password-reset", {"email": email})
    assert "If an account uses that address" in response.text
    unknown = await client.submit("/account/password-reset", {"email": unique_email()})
    assert unknown.status_code == response.status_code == 200
    assert text_of(unknown.text) == text_of(response.text), "the page must not tell them apart"

    mail = await mailbox.wait_for(email, "Reset your password")
    path = mail.link("/account/reset/").removeprefix("http://testserver")
    assert (await client.get(path)).status_code == 200

    weak = await client.submit(path, {"password": "short"})
    assert weak.status_code == 422, "a typo does not burn the link"
    done = await client.submit(path, {"password": "a brand new passphrase"})
    assert done.status_code == 303
    assert email in (await client.get("/account/settings/")).text

    replay = await client.submit(path, {"password": "another new passphrase"})
    assert replay.status_code == 400
    assert "already used" in replay.text

    async with PortalClient(app) as fresh:
        assert (await fresh.login(email, PASSWORD)).status_code == 422
        assert (await fresh.login(email, "a brand new passphrase")).status_code == 303


async def test_forged_and_expired_tokens_are_refused(client: PortalClient, mailbox) -> None:
    forged = await client.get("/account/verify/" + "A" * 43)
    assert forged.status_code == 400
    assert "not valid" in forged.text
    huge = await client.get("/account/verify/" + "A" * 5000)
    assert huge.status_code in (400, 414)

    email = unique_email()
    await client.register(email)
    mail = await mailbox.wait_for(email, "Confirm your email")
    path = mail.link("/account/verify/").removeprefix("http://testserver")
    account = await Account.select(Account.id).where(Account.email == email).first()
    await AccountToken.update(
        {AccountToken.expires_at: datetime.now(UTC) - timedelta(seconds=1)}
    ).where(AccountToken.account == account["id"])
    expired = await client.get(path)
    assert expired.status_code == 400
    assert "expired" in expired.text


async def test_forms_without_a_csrf_token_are_refused(client: PortalClient) -> None:
    await client.get("/")
    response = await client.post(
        "/account/register",
        data={"email": unique_email(), "password": PASSWORD},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 403
    assert "Reload the page" in response.text
    forged = await client.post(
        "/account/login", data={"_csrf_token": "forged", "email": "a@b.org", "password": "x"}
    )
    assert forged.status_code == 403


async def test_a_ten_megabyte_form_body_is_refused_cleanly(client: PortalClient) -> None:
    response = await client.submit(
        "/account/login", {"email": "a@b.org", "password": "p" * (10 * 1024 * 1024)}
    )
    assert response.status_code == 413
    assert "too large" in response.text


async def test_settings_change_password_and_email(client: PortalClient, mailbox) -> None:
    email = unique_email()
    await client.register(email)
    wrong = await client.submit(
        "/account/settings/password",
        {"current_password": "nope nope nope", "new_password": "another good one"},
    )
    assert wrong.status_code == 422
    assert "current password is not correct" in wrong.text
    ok = await client.submit(
        "/account/settings/password",
        {"current_password": PASSWORD, "new_password": "another good one"},
    )
    assert ok.status_code == 200 and "Your password is changed" in ok.text

    new_email = unique_email("moved")
    response = await client.submit(
        "/account/settings/email", {"current_password": "another good one", "new_email": new_email}
    )
    assert response.status_code == 200 and new_email in response.text
    # Not changed until the new address proves itself.
    assert await Account.count().where(Account.email == email) == 1
    mail = await mailbox.wait_for(new_email, "Confirm your new email")
    confirmed = await client.get(mail.link("/account/email/").removeprefix("http://testserver"))
    assert confirmed.status_code == 200 and new_email in confirmed.text
    assert await Account.count().where(Account.email == new_email) == 1


async def test_delete_account_removes_its_data(client: PortalClient) -> None:
    email = unique_email()
    await client.register(email)
    await client.get("/_test/metered/del-1")
    account = await Account.select(Account.id).where(Account.email == email).first()
    subject = f"user:{account['id']}"
    from portal.metering.tables import MeterEvent

    assert await MeterEvent.count().where(MeterEvent.subject == subject) == 1
    refused = await client.submit(
        "/account/settings/delete", {"password": PASSWORD, "confirm": "no"}
    )
    assert refused.status_code == 422
    response = await client.submit(
        "/account/settings/delete", {"password": PASSWORD, "confirm": "DELETE"}
    )
    assert response.status_code == 303
    from portal.mail.tables import OutboxMessage

    assert await Account.count().where(Account.email == email) == 0
    assert await OutboxMessage.count().where(OutboxMessage.to_addr == email) == 0
    assert await MeterEvent.count().where(MeterEvent.subject == subject) == 0
    assert "Your account and its data are deleted" in (await client.get("/?deleted=1")).text
    assert "portal_session" not in client.cookies or client.cookies["portal_session"] == "null"


async def test_a_signed_in_account_is_read_once_per_cache_window(client: PortalClient) -> None:
    from portal.accounts.service import forget_account

    email = unique_email("cached")
    await client.register(email)
    assert "Unlimited code page views" not in (await client.get("/")).text
    row = await Account.select(Account.id).where(Account.email == email).first()
    # A change another process made: this one serves the account as it read it a moment ago...
    await Account.update({Account.plan: "pro"}).where(Account.id == row["id"])
    assert "Unlimited code page views" not in (await client.get("/")).text
    # ...until the window ends or, as after every write through the service, it is dropped.
    forget_account(row["id"])
    assert "Unlimited code page views" in (await client.get("/")).text
