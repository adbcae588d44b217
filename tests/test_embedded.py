"""The embedded mode end to end, as a newcomer runs it: `portal serve` with no DATABASE_URL,
REDIS_URL or SMTP_URL (a SQLite file, in-process jobs, a kept outbox), and the `portal` CLI."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import unique_email
from tests.support.server import Server, embedded_env, login, portal_server, register, run_portal

PASSWORD = "correct horse battery"
PRODUCTS = ("Case2Code", "CasePilot", "CaseConsultant", "CareerCenter")


@dataclass
class Embedded:
    state_dir: Path
    server: Server

    @property
    def database(self) -> Path:
        return self.state_dir / "portal.sqlite3"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=10)


def query(database: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(database)) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()


def execute(database: Path, sql: str, *params: Any) -> None:
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute(sql, params)


def wait_for_row(database: Path, sql: str, *params: Any, within_s: float = 20) -> sqlite3.Row:
    """The first row the query returns, polling while the server's in-process job runs."""
    deadline = time.monotonic() + within_s
    while True:
        rows = query(database, sql, *params)
        if rows:
            return rows[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no row for {sql} {params}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    state_dir = tmp_path_factory.mktemp("embedded-state")
    env = embedded_env(state_dir, LOG_LEVEL="INFO")
    with portal_server(env, state_dir / "server.log") as server:
        yield Embedded(state_dir, server)


def test_the_first_start_creates_the_schema_and_serves_the_home_page(embedded: Embedded) -> None:
    assert embedded.database.is_file()
    tables = {row["name"] for row in query(embedded.database, "SELECT name FROM sqlite_master")}
    assert {"account", "job", "outbox_message", "meter_event"} <= tables
    assert (embedded.state_dir / "secret_key").is_file(), "a secret of this installation's own"
    with embedded.client() as browser:
        home = browser.get("/")
    assert home.status_code == 200
    for product in PRODUCTS:
        assert product in home.text
    assert "embedded mode" in embedded.server.output()


def test_registering_keeps_the_verification_mail_in_the_local_outbox(embedded: Embedded) -> None:
    email = unique_email("embedded")
    with embedded.client() as browser:
        response = register(browser, email, PASSWORD)
        assert response.status_code == 303
        assert email in browser.get("/").text, "registered and logged in"

    # The in-process runner ran the delivery job: no SMTP, so the message is kept.
    mail = wait_for_row(
        embedded.database,
        "SELECT id, subject, text_body FROM outbox_message WHERE to_addr = ? AND status = 'kept'",
        email,
    )
    assert mail["subject"] == "Confirm your email address"
    assert f"{embedded.server.url}/account/verify/" in mail["text_body"]
    job = wait_for_row(
        embedded.database,
        "SELECT status, attempts, result FROM job WHERE dedupe_key = ? AND status = 'done'",
        f"mail:{mail['id']}",
    )
    assert job["attempts"] == 1
    assert json.loads(job["result"]) == "kept"
    assert email not in embedded.server.output(), "logs carry ids, never addresses"


def test_readyz_reports_the_database_and_no_redis(embedded: Embedded) -> None:
    with embedded.client() as browser:
        response = browser.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_the_server_stops_cleanly_and_a_restart_keeps_data_and_resumes_queued_jobs(
    embedded: Embedded,
) -> None:
    email = unique_email("restart")
    with embedded.client() as browser:
        assert register(browser, email, PASSWORD).status_code == 303
    wait_for_row(embedded.database, "SELECT id FROM job WHERE status = 'done' LIMIT 1")

    # uvicorn shuts down gracefully on SIGTERM, then exits by that signal (or 0 on older ones).
    assert embedded.server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in embedded.server.output()

    # A mail whose delivery was still queued when the process stopped.
    to = unique_email("queued")
    execute(
        embedded.database,
        "INSERT INTO outbox_message (dedupe_key, to_addr, subject, text_body, html_body)"
        " VALUES (?, ?, 'Left in the queue', 'text', '<p>html</p>')",
        f"test:{uuid.uuid4().hex}",
        to,
    )
    outbox_id = query(embedded.database, "SELECT id FROM outbox_message WHERE to_addr = ?", to)[0][
        "id"
    ]
    job_id = str(uuid.uuid4())
    execute(
        embedded.database,
        "INSERT INTO job (id, name, dedupe_key, kwargs, max_tries)"
        " VALUES (?, 'mail.deliver', ?, ?, 5)",
        job_id,
        f"mail:{outbox_id}",
        json.dumps({"outbox_id": outbox_id}),
    )

    env = embedded_env(embedded.state_dir)
    with portal_server(env, embedded.state_dir / "server-2.log") as again:
        with httpx.Client(base_url=again.url, timeout=10) as browser:
            assert login(browser, email, PASSWORD).status_code == 303
            assert email in browser.get("/").text
        job = wait_for_row(
            embedded.database, "SELECT status FROM job WHERE id = ? AND status = 'done'", job_id
        )
        assert job["status"] == "done"
        outbox = query(
            embedded.database, "SELECT status FROM outbox_message WHERE id = ?", outbox_id
        )
        assert outbox[0]["status"] == "kept"
    assert "Running 1 migration" not in again.output(), "the schema is already there"


# --- the CLI ----------------------------------------------------------------------------------


def test_db_migrate_creates_the_schema_on_a_fresh_sqlite_file_and_is_idempotent(
    tmp_path: Path,
) -> None:
    env = embedded_env(tmp_path)
    first = run_portal("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "Schema is up to date." in first.stdout
    database = tmp_path / "portal.sqlite3"
    tables = {row["name"] for row in query(database, "SELECT name FROM sqlite_master")}
    assert {"account", "account_token", "job", "outbox_message", "meter_event"} <= tables

    second = run_portal("db", "migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert "No migrations need to be run" in second.stdout
    applied = query(database, "SELECT name FROM migration")
    assert len(applied) == len({row["name"] for row in applied}), "each migration recorded once"


def test_db_migrate_uses_database_url(tmp_path: Path) -> None:
    database = tmp_path / "elsewhere" / "named.db"
    env = embedded_env(tmp_path / "state", DATABASE_URL=f"sqlite:///{database}")
    result = run_portal("db", "migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert query(database, "SELECT name FROM sqlite_master WHERE name = 'account'")
    assert not (tmp_path / "state" / "portal.sqlite3").exists()


def test_users_create_admin_reads_the_password_from_stdin(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    result = run_portal(
        "users",
        "create-admin",
        "Boss@Example.org",
        "--password-stdin",
        env=env,
        stdin="a long admin passphrase\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Admin account ready: boss@example.org" in result.stdout
    rows = query(
        tmp_path / "portal.sqlite3",
        "SELECT role, email_verified_at, disabled FROM account WHERE email = 'boss@example.org'",
    )
    assert len(rows) == 1
    assert rows[0]["role"] == "admin"
    assert rows[0]["email_verified_at"] is not None
    assert not rows[0]["disabled"]
    assert "a long admin passphrase" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("weak@example.org", "short", "Use at least 10 characters."),
        ("not-an-email", "a long admin passphrase", "not a valid email address"),
    ],
)
def test_users_create_admin_refuses_a_weak_password_or_bad_email(
    tmp_path: Path, email: str, password: str, message: str
) -> None:
    env = embedded_env(tmp_path)
    result = run_portal(
        "users", "create-admin", email, "--password-stdin", env=env, stdin=f"{password}\n"
    )
    assert result.returncode != 0
    assert "Error:" in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not query(tmp_path / "portal.sqlite3", "SELECT id FROM account")
