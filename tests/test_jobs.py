"""The job system: retries, failures, timeouts, idempotency and dedupe on the in-process runner
and on arq (a real worker on Redis), and the job status page."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from portal import runtime
from portal.accounts.service import create_admin
from portal.accounts.tables import Account
from portal.jobs.arq_backend import ArqBackend
from portal.jobs.inprocess import InProcessBackend
from portal.jobs.service import JobRegistry
from portal.jobs.spec import JobSpec
from portal.jobs.tables import Job
from portal.mail.tables import OutboxMessage
from portal.worker import build_worker
from tests.support.client import PortalClient, unique_email
from tests.support.jobs import job_row, wait_for_job

pytestmark = pytest.mark.usefixtures("app")

HX = {"HX-Request": "true"}


@dataclass
class Flaky:
    """A job function that fails its first `failures` calls (or hangs, for timeouts)."""

    failures: int = 0
    hang: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if len(self.calls) <= self.failures:
            if self.hang:
                await asyncio.Event().wait()
            raise RuntimeError(f"boom {len(self.calls)}")
        return {"calls": len(self.calls), **kwargs}


def spec_for(func: Flaky, **options: Any) -> JobSpec:
    options = {"max_tries": 3, "retry_delay_s": 0, **options}
    return JobSpec(name=f"test.{uuid.uuid4().hex[:12]}", func=func, **options)


def in_process(*specs: JobSpec) -> tuple[JobRegistry, InProcessBackend]:
    backend = InProcessBackend()
    registry = JobRegistry({s.name: s for s in specs}, backend)
    backend.attach(registry)
    return registry, backend


async def run_in_process(spec: JobSpec, **kwargs: Any) -> dict[str, Any]:
    registry, backend = in_process(spec)
    job_id = await registry.enqueue(spec.name, **kwargs)
    await backend.drain(timeout_s=30)
    return await job_row(job_id)


# --- the in-process runner -------------------------------------------------------------------


async def test_a_job_that_fails_twice_is_retried_and_ends_done_after_three_tries() -> None:
    func = Flaky(failures=2)
    row = await run_in_process(spec_for(func), code="E11.9")
    assert row["status"] == "done"
    assert row["attempts"] == 3
    assert row["error"] is None
    assert row["result"] == {"calls": 3, "code": "E11.9"}
    assert row["finished_at"] is not None
    assert func.calls == [{"code": "E11.9"}] * 3


async def test_a_job_that_always_fails_ends_failed_after_max_tries_with_the_error() -> None:
    func = Flaky(failures=99)
    row = await run_in_process(spec_for(func, max_tries=4))
    assert row["status"] == "failed"
    assert row["attempts"] == 4
    assert row["error"] == "RuntimeError: boom 4"
    assert row["finished_at"] is not None
    assert len(func.calls) == 4, "no try after the last one"


async def test_a_timed_out_try_counts_as_a_failed_try_and_is_retried() -> None:
    func = Flaky(failures=1, hang=True)
    row = await run_in_process(spec_for(func, timeout_s=0.1))
    assert row["status"] == "done"
    assert row["attempts"] == 2
    assert len(func.calls) == 2


async def test_a_job_that_always_times_out_fails_with_a_timeout_error() -> None:
    func = Flaky(failures=99, hang=True)
    row = await run_in_process(spec_for(func, timeout_s=0.1, max_tries=2))
    assert row["status"] == "failed"
    assert row["attempts"] == 2
    assert row["error"] == "timed out after 0.1s"


async def test_executing_a_done_job_again_does_nothing() -> None:
    func = Flaky()
    spec = spec_for(func)
    registry, backend = in_process(spec)
    job_id = await registry.enqueue(spec.name, n=1)
    await backend.drain(timeout_s=30)
    done = await job_row(job_id)
    assert done["status"] == "done"

    # arq may deliver a job twice: the second delivery must not run it again.
    await registry.execute(job_id, 1)
    await registry.execute(job_id, 2)
    assert len(func.calls) == 1
    again = await job_row(job_id)
    assert (again["status"], again["attempts"], again["finished_at"]) == (
        "done",
        1,
        done["finished_at"],
    )


async def test_executing_a_failed_job_again_does_not_run_it() -> None:
    func = Flaky(failures=99)
    spec = spec_for(func, max_tries=1)
    registry, backend = in_process(spec)
    job_id = await registry.enqueue(spec.name)
    await backend.drain(timeout_s=30)
    await registry.execute(job_id, 2)
    assert len(func.calls) == 1
    assert (await job_row(job_id))["status"] == "failed"


async def test_the_same_dedupe_key_enqueued_twice_yields_one_job() -> None:
    func = Flaky()
    spec = spec_for(func)
    registry, backend = in_process(spec)
    key = f"dedupe-{uuid.uuid4().hex}"
    first = await registry.enqueue(spec.name, dedupe_key=key, n=1)
    second = await registry.enqueue(spec.name, dedupe_key=key, n=2)
    await backend.drain(timeout_s=30)
    assert first == second
    assert await Job.count().where(Job.dedupe_key == key) == 1
    assert func.calls == [{"n": 1}]


async def test_the_same_dedupe_key_enqueued_at_once_yields_one_job() -> None:
    # A double click: two requests enqueue the same work concurrently.
    func = Flaky()
    spec = spec_for(func)
    registry, backend = in_process(spec)
    key = f"dedupe-{uuid.uuid4().hex}"
    ids = await asyncio.gather(*(registry.enqueue(spec.name, dedupe_key=key) for _ in range(5)))
    await backend.drain(timeout_s=30)
    assert len(set(ids)) == 1
    assert await Job.count().where(Job.dedupe_key == key) == 1
    assert len(func.calls) == 1


async def test_an_unknown_job_name_is_refused_before_anything_is_recorded() -> None:
    registry, _ = in_process()
    before = await Job.count()
    with pytest.raises(KeyError, match="unknown job"):
        await registry.enqueue("test.no-such-job")
    assert await Job.count() == before


# --- arq on Redis ----------------------------------------------------------------------------


@pytest.fixture
async def own_queue() -> AsyncIterator[Callable[[JobSpec], None]]:
    """The app's registry, submitting to a queue of this test's own.

    The session's worker runs the main queue with the functions it was built with; a burst
    worker built after a test adds its spec runs this queue, so the two never race for a job.
    """
    rt = runtime.current()
    registry = rt.jobs
    previous = registry.backend
    assert isinstance(previous, ArqBackend)
    backend = ArqBackend(rt.settings.redis.url or "", f"{previous.queue_name}:{uuid.uuid4().hex}")
    await backend.start()
    registry.backend = backend
    added = set()

    def add(spec: JobSpec) -> None:
        registry.specs[spec.name] = spec
        added.add(spec.name)

    try:
        yield add
    finally:
        registry.backend = previous
        for name in added:
            registry.specs.pop(name, None)
        await backend.stop()


async def run_burst_worker() -> None:
    worker = build_worker(runtime.current(), burst=True)
    try:
        await worker.main()
    finally:
        await worker.close()


async def test_arq_runs_a_job_enqueued_through_the_runtime_and_records_done(own_queue) -> None:
    func = Flaky()
    spec = spec_for(func)
    own_queue(spec)
    job_id = await runtime.current().jobs.enqueue(spec.name, code="I10")
    assert (await job_row(job_id))["status"] == "queued"
    await run_burst_worker()
    row = await job_row(job_id)
    assert row["status"] == "done"
    assert row["attempts"] == 1
    assert row["result"] == {"calls": 1, "code": "I10"}
    assert func.calls == [{"code": "I10"}]


async def test_arq_retries_a_flaky_job_until_it_is_done(own_queue) -> None:
    func = Flaky(failures=2)
    spec = spec_for(func)
    own_queue(spec)
    job_id = await runtime.current().jobs.enqueue(spec.name)
    await run_burst_worker()
    row = await job_row(job_id)
    assert (row["status"], row["attempts"]) == ("done", 3)
    assert len(func.calls) == 3


async def test_arq_marks_a_job_failed_after_max_tries(own_queue) -> None:
    func = Flaky(failures=99)
    spec = spec_for(func, max_tries=2)
    own_queue(spec)
    job_id = await runtime.current().jobs.enqueue(spec.name)
    await run_burst_worker()
    row = await job_row(job_id)
    assert (row["status"], row["attempts"], row["error"]) == ("failed", 2, "RuntimeError: boom 2")
    assert len(func.calls) == 2


async def test_the_running_worker_delivers_a_mail_job(worker, mailbox) -> None:
    to = unique_email("arq")
    rows = await OutboxMessage.insert(
        OutboxMessage(
            dedupe_key=f"test-{uuid.uuid4().hex}",
            to_addr=to,
            subject="Queued by a test",
            text_body="Plain body",
            html_body="<p>HTML body</p>",
        )
    ).returning(OutboxMessage.id)
    outbox_id = rows[0]["id"]
    job_id = await runtime.current().jobs.enqueue("mail.deliver", outbox_id=outbox_id)
    row = await wait_for_job(job_id)
    assert row["status"] == "done"
    assert row["result"] == "sent"
    received = await mailbox.wait_for(to, "Queued by a test")
    assert received.text.strip() == "Plain body"


# --- the status page -------------------------------------------------------------------------


async def insert_job(owner_id: int | None, status: str = "queued") -> str:
    job_id = uuid.uuid4()
    await Job.insert(
        Job(
            id=job_id,
            name="test.report",
            owner_id=owner_id,
            status=status,
            attempts=1 if status != "queued" else 0,
            max_tries=3,
        )
    )
    return str(job_id)


async def account_id(email: str) -> int:
    row = await Account.select(Account.id).where(Account.email == email).first()
    return row["id"]


async def test_the_owner_sees_the_job_and_the_page_polls_until_it_is_done(
    client: PortalClient,
) -> None:
    email = unique_email("owner")
    await client.register(email)
    job_id = await insert_job(await account_id(email), status="running")

    page = await client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert "<html" in page.text
    assert "running (try 1 of 3)" in page.text
    assert 'hx-trigger="every 1s"' in page.text

    fragment = await client.get(f"/jobs/{job_id}", headers={**HX, "HX-Target": f"job-{job_id}"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert f'id="job-{job_id}"' in fragment.text
    assert 'hx-trigger="every 1s"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"

    await Job.update({Job.status: "done"}).where(Job.id == uuid.UUID(job_id))
    done = await client.get(f"/jobs/{job_id}", headers={**HX, "HX-Target": f"job-{job_id}"})
    assert done.status_code == 200
    assert "done." in done.text
    assert "hx-trigger" not in done.text, "a finished job stops the polling"


async def test_another_account_and_a_guest_get_404_for_a_job(client: PortalClient, app) -> None:
    email = unique_email("owner")
    await client.register(email)
    job_id = await insert_job(await account_id(email))
    assert (await client.get(f"/jobs/{job_id}")).status_code == 200

    async with PortalClient(app) as other:
        await other.register(unique_email("other"))
        response = await other.get(f"/jobs/{job_id}")
        assert response.status_code == 404
        assert "test.report" not in response.text
    async with PortalClient(app) as guest:
        assert (await guest.get(f"/jobs/{job_id}")).status_code == 404
        assert (await guest.get(f"/jobs/{uuid.uuid4()}")).status_code == 404
        assert (await guest.get("/jobs/not-a-uuid")).status_code == 404


async def test_an_admin_sees_any_job_with_its_error(client: PortalClient) -> None:
    job_id = await insert_job(owner_id=None, status="failed")
    await Job.update({Job.error: "RuntimeError: <b>bad</b> data"}).where(
        Job.id == uuid.UUID(job_id)
    )
    email = unique_email("admin")
    await create_admin(email, "admin password 123")
    await client.login(email, "admin password 123")
    page = await client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert "failed after 1 try" in page.text
    assert "RuntimeError: &lt;b&gt;bad&lt;/b&gt; data" in page.text
    assert 'hx-trigger="every 1s"' not in page.text
