"""The security audit log: each event recorded where it happens (the web forms, the admin page,
the command line), with no email, password, token or address in any row; the account's own list
on its settings page; the admin's filtered, paginated list; rows kept after a deletion."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal import runtime
from portal.accounts import audit
from portal.accounts.service import create_admin
from portal.accounts.tables import Account, AuditEvent
from tests.support.client import PortalClient, text_of, unique_email
from tests.support.jobs import runtime_settings, wait_for_job

PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "admin password 123"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def an_address() -> str:
    return f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"


async def account_id(email: str) -> int:
    row = await Account.select(Account.id).where(Account.email == email).first()
    assert row is not None
    return int(row["id"])


async def rows_of(account: int) -> list[dict[str, Any]]:
    return (
        await AuditEvent.select()
        .where(AuditEvent.account_id == account)
        .order_by(AuditEvent.id)
        .output(load_json=True)
    )


async def events_of(account: int) -> list[str]:
    return [row["event"] for row in await rows_of(account)]


def assert_nothing_personal(rows: list[dict[str, Any]], *secrets: str) -> None:
    dumped = json.dumps(rows, default=str).lower()
    for secret in secrets:
        assert secret.lower() not in dumped, secret
    assert "@" not in dumped


@pytest.fixture
async def firefox(app: Any, worker: Any) -> AsyncIterator[PortalClient]:
    async with PortalClient(app, address=an_address(), headers={"User-Agent": FIREFOX}) as c:
        yield c


@pytest.fixture
async def admin(app: Any, worker: Any) -> AsyncIterator[tuple[PortalClient, int]]:
    email = unique_email("admin")
    await create_admin(email, ADMIN_PASSWORD)
    async with PortalClient(app) as c:
        assert (await c.login(email, ADMIN_PASSWORD)).status_code == 303
        yield c, await account_id(email)


# --- what is recorded ---------------------------------------------------------------------------


async def test_register_sign_in_failures_and_sign_out_are_recorded(
    firefox: PortalClient, app: Any
) -> None:
    email = unique_email()
    await firefox.register(email)
    uid = await account_id(email)
    await firefox.submit("/account/logout")
    assert (await firefox.login(email, "wrong password 1")).status_code == 422
    assert (await firefox.login(email)).status_code == 303
    assert await events_of(uid) == ["register", "signout", "signin_failed", "signin"]

    rows = await rows_of(uid)
    place = audit.place_of(firefox.address)
    assert {row["address_hash"] for row in rows} == {place}
    assert {row["device"] for row in rows} == {"Firefox on Linux"}
    assert rows[2]["detail"] == {"reason": "password"}
    assert rows[3]["detail"] == {"new_device": False}, "the browser that registered"
    assert_nothing_personal(rows, email, PASSWORD, "wrong password 1", firefox.address, FIREFOX)


async def test_a_failed_sign_in_for_an_unknown_email_has_no_account(app: Any, worker: Any) -> None:
    address = an_address()
    async with PortalClient(app, address=address) as c:
        assert (await c.login(unique_email("nobody"), "wrong password 1")).status_code == 422
    rows = (
        await AuditEvent.select()
        .where(
            (AuditEvent.event == "signin_failed")
            & (AuditEvent.address_hash == audit.place_of(address))
        )
        .output(load_json=True)
    )
    assert len(rows) == 1
    assert rows[0]["account_id"] is None
    assert rows[0]["detail"] == {"reason": "unknown"}


async def test_a_sign_in_from_another_network_and_browser_is_a_new_device(
    firefox: PortalClient, app: Any
) -> None:
    email = unique_email()
    await firefox.register(email)
    uid = await account_id(email)
    async with PortalClient(
        app, address=an_address(), headers={"User-Agent": CHROME_WINDOWS}
    ) as other:
        assert (await other.login(email)).status_code == 303
        again = await other.login(email)
        assert again.status_code == 303
    signins = [row for row in await rows_of(uid) if row["event"] == "signin"]
    assert [row["detail"]["new_device"] for row in signins] == [True, False]
    assert signins[0]["device"] == "Chrome on Windows"

    settings = await firefox.get("/account/settings")
    page = text_of(settings.text)
    assert "Recent security activity" in page
    assert page.count("Sign-in from a new device") == 1
    assert "Chrome on Windows" in page and "Firefox on Linux" in page
    for row in await rows_of(uid):
        assert row["address_hash"] not in settings.text, "no raw hashes on the user's page"


async def test_password_and_email_changes_and_resets_are_recorded(
    firefox: PortalClient, mailbox: Any
) -> None:
    email = unique_email()
    await firefox.register(email)
    uid = await account_id(email)
    new_password = "another good passphrase"
    changed = await firefox.submit(
        "/account/settings/password",
        {"current_password": PASSWORD, "new_password": new_password},
    )
    assert changed.status_code == 200
    new_email = unique_email("moved")
    asked = await firefox.submit(
        "/account/settings/email", {"current_password": new_password, "new_email": new_email}
    )
    assert asked.status_code == 200
    mail = await mailbox.wait_for(new_email, "Confirm your new email")
    confirm = mail.link("/account/email/").removeprefix("http://testserver")
    assert (await firefox.get(confirm)).status_code == 200

    await firefox.submit("/account/logout")
    await firefox.submit("/account/password-reset", {"email": new_email})
    reset_mail = await mailbox.wait_for(new_email, "Reset your password")
    path = reset_mail.link("/account/reset/").removeprefix("http://testserver")
    assert (await firefox.submit(path, {"password": "a third passphrase"})).status_code == 303

    assert await events_of(uid) == [
        "register",
        "password_changed",
        "email_change_requested",
        "email_changed",
        "signout",
        "password_reset",
    ]
    token = path.rsplit("/", 1)[1]
    assert_nothing_personal(
        await rows_of(uid),
        email,
        new_email,
        PASSWORD,
        new_password,
        "a third passphrase",
        token,
        confirm.rsplit("/", 1)[1],
        firefox.address,
    )
    page = text_of((await firefox.get("/account/settings")).text)
    for words in (
        "Password changed",
        "Email change requested",
        "Email address changed",
        "Password reset with an emailed link",
        "Account created",
    ):
        assert words in page, words


async def test_role_plan_and_status_changes_record_the_admin(
    admin: tuple[PortalClient, int], app: Any, worker: Any
) -> None:
    client, admin_id = admin
    email = unique_email("member")
    async with PortalClient(app) as member:
        await member.register(email)
        uid = await account_id(email)
        saved = await client.submit(
            f"/admin/users/{uid}", {"role": "consultant", "plan": "pro", "q": ""}
        )
        assert saved.status_code == 303
        await client.submit(f"/admin/users/{uid}", {"role": "consultant", "plan": "pro"})
        page = text_of((await member.get("/account/settings")).text)
    rows = await rows_of(uid)
    assert [row["event"] for row in rows] == ["register", "role_changed", "plan_changed"], (
        "saving an unchanged row records nothing"
    )
    assert rows[1]["detail"] == {"from": "member", "to": "consultant", "actor_id": admin_id}
    assert rows[2]["detail"] == {"from": "free", "to": "pro", "actor_id": admin_id}
    assert "Role changed from Member to Consultant by an administrator" in page
    assert "Plan changed from Free to Pro by an administrator" in page

    await client.submit(
        f"/admin/users/{uid}", {"role": "consultant", "plan": "pro", "disabled": "on"}
    )
    last = (await rows_of(uid))[-1]
    assert (last["event"], last["detail"]) == ("account_disabled", {"actor_id": admin_id})


async def test_create_admin_from_the_command_line_is_recorded(app: Any) -> None:
    email = unique_email("cli")
    await create_admin(email, ADMIN_PASSWORD)
    uid = await account_id(email)
    await Account.update({Account.role: "member"}).where(Account.id == uid)
    await create_admin(email, ADMIN_PASSWORD + "4")
    rows = await rows_of(uid)
    assert [(row["event"], row["detail"]) for row in rows] == [
        ("register", {"via": "cli"}),
        ("password_changed", {"via": "cli"}),
        ("role_changed", {"from": "member", "to": "admin", "via": "cli"}),
    ]


async def test_a_deleted_accounts_rows_are_kept_without_its_email(firefox: PortalClient) -> None:
    email = unique_email()
    await firefox.register(email)
    uid = await account_id(email)
    response = await firefox.submit(
        "/account/settings/delete", {"password": PASSWORD, "confirm": "DELETE"}
    )
    assert response.status_code == 303
    assert await Account.count().where(Account.id == uid) == 0
    rows = await rows_of(uid)
    assert [row["event"] for row in rows] == ["register", "account_deleted"]
    assert_nothing_personal(rows, email)
    assert await audit.for_account(uid) == [], "no account, nothing to show"


async def test_an_accounts_page_never_shows_rows_from_before_it_existed(
    firefox: PortalClient,
) -> None:
    """SQLite may give a new account the id of a deleted one: its rows are not the new one's."""
    email = unique_email()
    await firefox.register(email)
    uid = await account_id(email)
    await AuditEvent.insert(
        AuditEvent(
            account_id=uid,
            event="role_changed",
            detail={"from": "member", "to": "admin"},
            created_at=datetime.now(UTC) - timedelta(days=30),
        )
    )
    shown = await audit.for_account(uid)
    assert [entry.event for entry in shown] == ["register"]
    assert "Role changed" not in (await firefox.get("/account/settings")).text


async def test_the_settings_page_shows_the_last_20_events_newest_first(
    firefox: PortalClient,
) -> None:
    email = unique_email()
    await firefox.register(email)
    uid = await account_id(email)
    for n in range(25):
        await audit.record("signout", account_id=uid, detail={"n": n})
    entries = await audit.for_account(uid, 20)
    assert len(entries) == 20
    assert [entry.detail["n"] for entry in entries] == list(range(24, 4, -1))
    page = (await firefox.get("/account/settings")).text
    assert page.count("<td>Signed out</td>") == 20
    assert "Account created" not in page, "the 26th event back is not shown"


async def test_a_failure_to_write_the_log_does_not_lock_anyone_out(
    firefox: PortalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> None:
        raise RuntimeError("the audit table is unwell")

    monkeypatch.setattr(audit, "_insert", broken)
    email = unique_email()
    assert (await firefox.register(email)).status_code == 303
    await firefox.submit("/account/logout")
    assert (await firefox.login(email)).status_code == 303


# --- the record function ------------------------------------------------------------------------


async def test_record_refuses_an_unknown_event(app: Any) -> None:
    with pytest.raises(ValueError, match="unknown audit event"):
        await audit.record("logged_in", account_id=1)


def test_detail_never_keeps_an_email_password_or_token() -> None:
    cleaned = audit.clean_detail(
        {
            "email": "a@b.org",
            "new_email": "c@d.org",
            "password": "hunter2",
            "reset_token": "abc",
            "client_address": "10.0.0.1",
            "note": "sent to e@f.org",
            "provider": "google",
            "actor_id": 7,
            "flag": True,
            "nested": {"x": 1},
            "long": "x" * 500,
        }
    )
    assert cleaned == {
        "provider": "google",
        "actor_id": 7,
        "flag": True,
        "nested": "{'x': 1}",
        "long": "x" * 200,
    }


def test_the_place_is_a_keyed_hash_of_the_network(app: Any) -> None:
    same = audit.place_of("203.0.113.5")
    assert same == audit.place_of("203.0.113.200"), "one /24 is one place"
    assert same != audit.place_of("203.0.114.5")
    assert len(same) == 16 and "203" not in same
    assert audit.place_of("2001:db8:1:2::1") == audit.place_of("2001:db8:1:ffff::9")
    assert audit.place_of("2001:db8:1::1") != audit.place_of("2001:db8:2::1")
    settings = runtime.current().settings
    other_key = replace(settings, security=replace(settings.security, secret_key="another"))
    with runtime_settings(other_key):
        assert audit.place_of("203.0.113.5") != same, "without the key, no hash to compare"


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (FIREFOX, "Firefox on Linux"),
        (CHROME_WINDOWS, "Chrome on Windows"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko)"
            " Version/17.5 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (CHROME_WINDOWS + " Edg/126.0.0.0", "Edge on Windows"),
        ("python-httpx/0.27.0", "Unknown browser"),
        ("", "Unknown browser"),
    ],
)
def test_the_browser_is_kept_as_a_coarse_label(user_agent: str, label: str) -> None:
    assert audit.device_label(user_agent) == label


# --- the admin's page ---------------------------------------------------------------------------


async def test_only_admins_see_the_security_log(client: PortalClient, app: Any) -> None:
    async with PortalClient(app) as guest:
        redirect = await guest.get("/admin/audit")
        assert redirect.status_code == 303
        assert redirect.headers["location"].startswith("/account/login?next=/admin/audit")
    await client.register(unique_email())
    assert (await client.get("/admin/audit")).status_code == 403


async def test_the_admin_filters_the_log_by_event_and_account_newest_first(
    admin: tuple[PortalClient, int], firefox: PortalClient
) -> None:
    client, _ = admin
    dashboard = await client.get("/admin/")
    assert 'href="/admin/audit"' in dashboard.text
    email = unique_email()
    await firefox.register(email)
    uid = await account_id(email)
    await firefox.submit("/account/logout")
    await firefox.login(email, "wrong password 1")
    await firefox.login(email)

    page = await client.get(f"/admin/audit?account={uid}")
    assert page.status_code == 200
    assert email not in page.text and firefox.address not in page.text
    body = text_of(page.text)
    assert "4 events of account" in body
    names = ("signin", "signin_failed", "signout", "register")
    order = [page.text.index(f"<td>{name}</td>") for name in names]
    assert order == sorted(order), "newest first"
    assert "reason=password" in body
    assert audit.place_of(firefox.address)[:8] in page.text

    failures = (await client.get(f"/admin/audit?account={uid}&event=signin_failed")).text
    assert "1 event " in text_of(failures)
    assert failures.count("<td>signin_failed</td>") == 1 and "<td>signout</td>" not in failures

    bad = await client.get("/admin/audit?account=abc")
    assert bad.status_code == 422 and "An account id is a whole number" in bad.text
    unknown_event = await client.get(f"/admin/audit?account={uid}&event=nonsense")
    assert unknown_event.status_code == 200 and "4 events" in text_of(unknown_event.text)


async def test_the_admins_log_is_paginated(admin: tuple[PortalClient, int]) -> None:
    client, admin_id = admin
    uid = admin_id
    for n in range(55):
        await audit.record("signout", account_id=uid, detail={"n": n})
    first = await client.get(f"/admin/audit?account={uid}&event=signout")
    assert "n=54" in first.text and "n=4<" not in first.text
    assert f'href="/admin/audit?event=signout&amp;account={uid}&amp;page=2"' in first.text
    second = await client.get(f"/admin/audit?account={uid}&event=signout&page=2")
    assert "n=4<" in second.text and "n=0<" in second.text and "n=54" not in second.text
    recent = await audit.recent(5, event="signout", account_id=uid)
    assert [entry.detail["n"] for entry in recent] == [54, 53, 52, 51, 50]
    assert await audit.count("signout", uid) == 55


# --- retention ---------------------------------------------------------------------------------


async def test_rows_past_the_retention_period_are_pruned_by_the_daily_job(
    app: Any, worker: Any
) -> None:
    """Rows older than AUDIT_RETENTION_DAYS go; younger ones stay; 0 keeps everything."""
    now = datetime.now(UTC)
    marker = random.randint(10**8, 10**9)  # an account id no other test uses
    for age_days in (2, 399, 401, 900):
        await AuditEvent.insert(
            AuditEvent(
                account_id=marker,
                event="signin",
                detail={"age": age_days},
                created_at=now - timedelta(days=age_days),
            )
        )

    async def ages() -> list[int]:
        rows = await (
            AuditEvent.select(AuditEvent.detail)
            .where(AuditEvent.account_id == marker)
            .output(load_json=True)
        )
        return sorted(r["detail"]["age"] for r in rows)

    settings = runtime.current().settings
    keep_all = replace(settings, security=replace(settings.security, audit_retention_days=0))
    with runtime_settings(keep_all):
        assert await audit.prune() == 0
    assert await ages() == [2, 399, 401, 900]

    assert settings.security.audit_retention_days == 400  # the default
    # The job the schedule enqueues (03:30 UTC) through the registry, run in this process.
    job_id = await runtime.current().jobs.enqueue("audit.prune")
    row = await wait_for_job(job_id)
    assert row["status"] == "done", row
    assert row["result"] >= 2  # these two, and any other test's rows that old
    assert await ages() == [2, 399]
    assert await audit.prune() == 0  # a second run finds nothing: idempotent


def test_the_prune_job_is_scheduled_daily_by_the_core() -> None:
    from portal.core import core

    assert [s.job_name for s in core.schedules] == ["audit.prune"]
    assert "audit.prune" in {job.name for job in core.jobs}
