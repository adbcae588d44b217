"""CareerCenter moderation: only admins see the queue and decide; approving puts a posting live
with an expiry; rejecting needs a reason, which is mailed to the employer; a decision is made
and mailed once; an edit made during review is not approved unseen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from features.careers import moderation, postings
from features.careers.postings import WrongState
from portal.accounts.service import create_admin
from portal.mail.tables import OutboxMessage
from tests.careers.test_postings import (
    ADMIN_PASSWORD,
    admin_client,
    become_employer,
    job_input,
)
from tests.support.client import PortalClient, text_of, unique_email
from tests.support.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def admin(app: Any) -> Any:
    client, account = await admin_client(app)
    yield client, account
    await client.__aexit__(None, None, None)


async def pending_job(client: PortalClient, title: str = "Inpatient Coder") -> postings.JobView:
    account = await become_employer(client)
    job = await postings.create_job(account, job_input(title=title))
    return await postings.submit_job(account, job.id)


async def test_only_admins_moderate(client: PortalClient, app: Any) -> None:
    job = await pending_job(client)
    # The employer (signed in, not an admin) gets 403 on the page and on each decision.
    assert (await client.get("/careers/moderation")).status_code == 403
    assert (await client.submit(f"/careers/moderation/{job.id}/approve")).status_code == 403
    rejected = await client.submit(f"/careers/moderation/{job.id}/reject", {"reason": "no"})
    assert rejected.status_code == 403
    async with PortalClient(app) as guest:
        login = await guest.get("/careers/moderation")
        assert login.status_code == 303 and login.headers["location"].startswith("/account/login")
        assert (await guest.submit(f"/careers/moderation/{job.id}/approve")).status_code in (
            401,
            403,
        )
    assert (await postings.get_job(job.id)).status == "pending"  # type: ignore[union-attr]
    with pytest.raises(postings.NotAllowed):
        await moderation.approve(await account_of_owner(job), job.id)


async def account_of_owner(job: postings.JobView) -> Any:
    from portal.accounts.service import get_account

    return await get_account(job.account_id)


async def test_the_queue_lists_pending_postings_oldest_first(
    client: PortalClient, admin: Any, app: Any
) -> None:
    admin_http, _ = admin
    first = await pending_job(client, "First Waiting Coder")
    async with PortalClient(app) as other:
        second = await pending_job(other, "Second Waiting Coder")
    page = await admin_http.get("/careers/moderation")
    assert page.status_code == 200
    text = text_of(page.text)
    assert text.index("First Waiting Coder") < text.index("Second Waiting Coder")
    assert f'action="/careers/moderation/{first.id}/approve"' in page.text
    assert f'action="/careers/moderation/{second.id}/reject"' in page.text
    assert f'for="reason-{first.id}"' in page.text
    assert "<h2>Duties</h2>" in page.text, "the description, rendered"
    search_page = await admin_http.get("/careers")
    assert "Moderation" in search_page.text and "waiting" in search_page.text


async def test_approve_puts_it_live_and_tells_the_employer(
    client: PortalClient, admin: Any, mailbox: Mailbox
) -> None:
    admin_http, _ = admin
    job = await pending_job(client, "Approved Coder")
    owner = await account_of_owner(job)
    assert (await client.get(job.url)).status_code == 200  # the employer's preview
    response = await admin_http.submit(f"/careers/moderation/{job.id}/approve")
    assert response.status_code == 303
    assert "Approved" in text_of((await admin_http.get(response.headers["location"])).text)
    live = await postings.get_job(job.id)
    assert live is not None and live.status == "active" and live.expires_at is not None
    mail = await mailbox.wait_for(owner.email, "is live: Approved Coder")
    assert f"/careers/jobs/{job.id}" in mail.text
    # Twice: a clear 409, and one mail.
    again = await admin_http.submit(f"/careers/moderation/{job.id}/approve")
    assert again.status_code == 409 and "already decided" in text_of(again.text)
    assert (
        await OutboxMessage.count().where(
            OutboxMessage.dedupe_key.like(f"careers:job:{job.id}:approved:%")
        )
        == 1
    )


async def test_reject_needs_a_reason_which_is_mailed(
    client: PortalClient, admin: Any, mailbox: Mailbox
) -> None:
    admin_http, _ = admin
    job = await pending_job(client, "Vague Coder")
    owner = await account_of_owner(job)
    empty = await admin_http.submit(f"/careers/moderation/{job.id}/reject", {"reason": "  "})
    assert empty.status_code == 422
    assert "Say why" in text_of(empty.text) and 'aria-invalid="true"' in empty.text
    assert (await postings.get_job(job.id)).status == "pending"  # type: ignore[union-attr]

    reason = "Add the pay range & the shift hours <please>."
    done = await admin_http.submit(f"/careers/moderation/{job.id}/reject", {"reason": reason})
    assert done.status_code == 303
    rejected = await postings.get_job(job.id)
    assert rejected is not None and rejected.status == "rejected"
    assert rejected.reject_reason == reason
    mail = await mailbox.wait_for(owner.email, "needs changes: Vague Coder")
    assert reason in mail.text
    assert "&amp;" in mail.html and "&lt;please&gt;" in mail.html, "escaped in HTML"
    assert f"/careers/employer/jobs/{job.id}/edit" in mail.text

    # The employer sees the reason, fixes the posting and sends it again: a new round, a new
    # decision and a new mail.
    dashboard = await client.get("/careers/employer")
    assert "Add the pay range" in text_of(dashboard.text)
    await postings.submit_job(owner, job.id)
    again = await admin_http.submit(
        f"/careers/moderation/{job.id}/reject", {"reason": "Still vague."}
    )
    assert again.status_code == 303
    second = await mailbox.wait_for(owner.email, "needs changes: Vague Coder", count=2)
    assert "Still vague." in second.text


async def test_an_edit_during_review_is_not_approved_unseen(client: PortalClient) -> None:
    job = await pending_job(client, "Changing Coder")
    owner = await account_of_owner(job)
    admin = await create_admin(unique_email("admin"), ADMIN_PASSWORD)
    seen = moderation.version(job)
    await postings.update_job(owner, job.id, job_input(title="Changed Coder"))
    with pytest.raises(WrongState, match="changed this posting"):
        await moderation.approve(admin, job.id, seen=seen)
    fresh = await postings.get_job(job.id)
    assert fresh is not None
    assert (await moderation.approve(admin, job.id, seen=moderation.version(fresh))).is_live


async def test_a_renewed_posting_gets_a_new_period(client: PortalClient) -> None:
    job = await pending_job(client, "Renewed Coder")
    owner = await account_of_owner(job)
    admin = await create_admin(unique_email("admin"), ADMIN_PASSWORD)
    first = await moderation.approve(admin, job.id)
    await postings.close_job(owner, job.id)
    assert (await postings.renew_job(owner, job.id)).status == "pending"
    second = await moderation.approve(admin, job.id)
    assert second.expires_at is not None and first.expires_at is not None
    assert second.expires_at > first.expires_at
    assert re.fullmatch(r"\d+", moderation.version(second))
