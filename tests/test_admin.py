"""Admin pages: who may see them, accounts (search, role, plan, disable), the outbox, and failed
jobs with their Retry button."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.accounts.service import create_admin
from portal.accounts.tables import Account
from portal.jobs.tables import Job
from portal.mail.sender import send_mail
from portal.mail.tables import OutboxMessage
from tests.support.client import PortalClient, text_of, unique_email
from tests.support.jobs import closed_port, job_options, smtp_url, wait_for_job

HX = {"HX-Request": "true"}
PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "admin password 123"
ADMIN_PAGES = ("/admin/", "/admin/users", "/admin/outbox", "/admin/jobs")


@pytest.fixture
async def admin(app, worker) -> AsyncIterator[PortalClient]:
    """A client logged in as a fresh admin."""
    email = unique_email("admin")
    await create_admin(email, ADMIN_PASSWORD)
    async with PortalClient(app) as c:
        assert (await c.login(email, ADMIN_PASSWORD)).status_code == 303
        yield c


async def account(email: str) -> dict:
    row = await Account.select().where(Account.email == email).first()
    assert row is not None
    return row


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


# --- who may see the admin pages ---------------------------------------------------------------


async def test_a_guest_is_sent_to_log_in_and_back_to_the_admin_page(app) -> None:
    async with PortalClient(app) as guest:
        response = await guest.get("/admin/")
        assert response.status_code == 303
        assert response.headers["location"] == "/account/login?next=/admin/"

        bare = await guest.get("/admin")
        assert bare.status_code == 303
        assert bare.headers["location"] == "/account/login?next=/admin"

        login_page = await guest.get(response.headers["location"])
        assert login_page.status_code == 200
        assert 'name="next" value="/admin/"' in login_page.text

        email = unique_email("admin")
        await create_admin(email, ADMIN_PASSWORD)
        logged_in = await guest.submit(
            "/account/login", {"email": email, "password": ADMIN_PASSWORD, "next": "/admin/"}
        )
        assert logged_in.headers["location"] == "/admin/"
        assert (await guest.get("/admin/")).status_code == 200


async def test_a_guest_keeps_the_query_of_the_admin_page_through_log_in(app) -> None:
    async with PortalClient(app) as guest:
        response = await guest.get("/admin/users?q=coder+tag@example.org&page=2")
        assert response.status_code == 303
        location = response.headers["location"]
        assert urlsplit(location).path == "/account/login"
        assert query_of(location)["next"] == ["/admin/users?q=coder+tag@example.org&page=2"]


async def test_a_guest_gets_401_from_htmx_json_and_form_posts(app) -> None:
    async with PortalClient(app) as guest:
        htmx = await guest.get("/admin/users?q=a", headers={**HX, "HX-Target": "user-results"})
        assert htmx.status_code == 401
        # htmx follows HX-Redirect with a full page load instead of swapping the login page in.
        assert htmx.headers["hx-redirect"] == "/account/login?next=/admin/users%3Fq%3Da"

        api = await guest.get("/admin/", headers={"accept": "application/json"})
        assert api.status_code == 401
        assert api.json() == {"error": "Log in to see this page.", "status": 401}

        posted = await guest.submit("/admin/users/1", {"role": "admin", "plan": "pro"})
        assert posted.status_code == 401
        assert "Log in to see this page" in posted.text


async def test_a_member_gets_403_on_every_admin_page(client: PortalClient) -> None:
    await client.register(unique_email("member"))
    for path in ADMIN_PAGES:
        response = await client.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in response.text
    posted = await client.submit(f"/admin/jobs/{uuid.uuid4()}/retry")
    assert posted.status_code == 403


async def test_an_admin_sees_every_admin_page(admin: PortalClient) -> None:
    for path in ADMIN_PAGES:
        response = await admin.get(path)
        assert response.status_code == 200, path
        assert 'aria-label="Admin"' in response.text


# --- accounts ---------------------------------------------------------------------------------


async def test_an_admin_searches_users_by_email(admin: PortalClient, app) -> None:
    tag = uuid.uuid4().hex[:8]
    found = [f"found-{tag}-{i}@example.org" for i in range(2)]
    other = unique_email("elsewhere")
    for email in [*found, other]:
        async with PortalClient(app) as c:
            await c.register(email)

    page = await admin.get(f"/admin/users?q={tag.upper()}")
    assert page.status_code == 200
    assert "<html" in page.text
    assert f"2 accounts matching “{tag.upper()}”" in text_of(page.text)
    assert all(email in page.text for email in found)
    assert other not in page.text

    fragment = await admin.get(f"/admin/users?q={tag}", headers={**HX, "HX-Target": "user-results"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert all(email in fragment.text for email in found)
    assert other not in fragment.text

    none = await admin.get("/admin/users?q=no-such-account-" + tag)
    assert "No accounts match" in none.text


async def test_an_admin_changes_role_and_plan_and_the_search_is_kept(
    admin: PortalClient, app
) -> None:
    email = f"coder+{uuid.uuid4().hex[:8]}@example.org"
    async with PortalClient(app) as c:
        await c.register(email)
    member = await account(email)
    assert (member["role"], member["plan"]) == ("member", "free")

    response = await admin.submit(
        f"/admin/users/{member['id']}", {"role": "employer", "plan": "pro", "q": email}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert query_of(location) == {"q": [email], "saved": [str(member["id"])]}
    changed = await account(email)
    assert (changed["role"], changed["plan"], changed["disabled"]) == ("employer", "pro", False)

    page = await admin.get(location)
    assert email in page.text
    assert "saved" in text_of(page.text)


@pytest.mark.parametrize(
    ("role", "plan", "message"),
    [
        ("superuser", "free", "Role must be one of"),
        ("member", "platinum", "Plan must be one of"),
        ("", "", "Role must be one of"),
    ],
)
async def test_an_invalid_role_or_plan_is_refused_and_changes_nothing(
    admin: PortalClient, app, role: str, plan: str, message: str
) -> None:
    email = unique_email("member")
    async with PortalClient(app) as c:
        await c.register(email)
    member = await account(email)
    response = await admin.submit(
        f"/admin/users/{member['id']}", {"role": role, "plan": plan, "disabled": "on"}
    )
    assert response.status_code == 422
    assert message in response.text
    after = await account(email)
    assert (after["role"], after["plan"], after["disabled"]) == ("member", "free", False)


async def test_updating_an_unknown_account_is_404(admin: PortalClient) -> None:
    response = await admin.submit("/admin/users/987654321", {"role": "member", "plan": "free"})
    assert response.status_code == 404


async def test_a_disabled_account_is_logged_out_and_cannot_log_in(admin: PortalClient, app) -> None:
    email = unique_email("disabled")
    async with PortalClient(app) as member:
        await member.register(email)
        assert email in (await member.get("/account/settings/")).text
        member_id = (await account(email))["id"]

        response = await admin.submit(
            f"/admin/users/{member_id}", {"role": "member", "plan": "free", "disabled": "on"}
        )
        assert response.status_code == 303
        assert (await account(email))["disabled"] is True

        # The session it already has ends on its next request.
        home = await member.get("/")
        assert email not in home.text
        settings = await member.get("/account/settings/")
        assert settings.status_code == 303
        assert urlsplit(settings.headers["location"]).path == "/account/login"
        refused = await member.login(email, PASSWORD)
        assert refused.status_code == 422
        assert "do not match an account" in refused.text

        # Enabled again, it logs in as before.
        await admin.submit(f"/admin/users/{member_id}", {"role": "member", "plan": "free"})
        assert (await member.login(email, PASSWORD)).status_code == 303
        assert email in (await member.get("/account/settings/")).text


# --- the outbox -------------------------------------------------------------------------------


async def test_the_outbox_lists_messages_and_shows_one_with_html_escaped(
    admin: PortalClient,
) -> None:
    to = unique_email("outbox")
    subject = "<script>alert('subject')</script> Your code"
    rows = await OutboxMessage.insert(
        OutboxMessage(
            dedupe_key=f"test-outbox:{uuid.uuid4().hex}",
            to_addr=to,
            subject=subject,
            text_body="Hello <b>coder</b>",
            html_body="<p>Hello</p>",
            status="kept",
        )
    ).returning(OutboxMessage.id)
    message_id = rows[0]["id"]

    listing = await admin.get("/admin/outbox")
    assert listing.status_code == 200
    assert to in listing.text
    assert f'href="/admin/outbox/{message_id}"' in listing.text
    assert "<script>alert(" not in listing.text
    assert "&lt;script&gt;alert(" in listing.text

    page = await admin.get(f"/admin/outbox/{message_id}")
    assert page.status_code == 200
    assert to in page.text
    assert "<script>alert(" not in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert "Hello &lt;b&gt;coder&lt;/b&gt;" in page.text

    assert (await admin.get("/admin/outbox/987654321")).status_code == 404


# --- failed jobs ------------------------------------------------------------------------------


async def test_a_failed_job_is_listed_and_retry_runs_it_again(admin: PortalClient, mailbox) -> None:
    to = unique_email("retry")
    # The mail fails for real: the worker cannot reach the SMTP server.
    with (
        smtp_url(f"smtp://127.0.0.1:{closed_port()}"),
        job_options("mail.deliver", max_tries=1, retry_delay_s=0),
    ):
        outbox_id = await send_mail(
            to,
            "Retried by an admin",
            "verify_email",
            {"link": "http://testserver/x", "hours": 1},
            dedupe_key=f"test-retry:{uuid.uuid4().hex}",
        )
        job = await Job.select(Job.id).where(Job.dedupe_key == f"mail:{outbox_id}").first()
        job_id = str(job["id"])
        failed = await wait_for_job(job_id)
    assert failed["status"] == "failed"

    listing = await admin.get("/admin/jobs")
    assert listing.status_code == 200
    assert job_id in listing.text
    assert "SMTPConnectError" in listing.text
    assert f'action="/admin/jobs/{job_id}/retry"' in listing.text

    # The SMTP server is back (the settings are restored): Retry delivers the mail.
    response = await admin.submit(f"/admin/jobs/{job_id}/retry")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/jobs?retried=1"
    done = await wait_for_job(job_id)
    assert (done["status"], done["attempts"], done["error"]) == ("done", 1, None)
    await mailbox.wait_for(to, "Retried by an admin")
    outbox = await OutboxMessage.select().where(OutboxMessage.id == outbox_id).first()
    assert outbox["status"] == "sent"

    after = await admin.get("/admin/jobs?retried=1")
    assert "The job is queued again." in after.text
    assert job_id not in after.text


async def test_retry_of_a_job_that_has_not_failed_is_404(admin: PortalClient) -> None:
    job_id = uuid.uuid4()
    await Job.insert(Job(id=job_id, name="mail.deliver", status="done", kwargs={"outbox_id": 0}))
    assert (await admin.submit(f"/admin/jobs/{job_id}/retry")).status_code == 404
    assert (await Job.select(Job.status).where(Job.id == job_id).first())["status"] == "done"
    assert (await admin.submit(f"/admin/jobs/{uuid.uuid4()}/retry")).status_code == 404
    assert (await admin.submit("/admin/jobs/not-a-uuid/retry")).status_code == 404
