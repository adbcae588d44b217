"""The `portal` command: the one entry point for serving, workers, mail and maintenance."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sys

import click

from portal.settings import get_settings


@click.group()
def main() -> None:
    """Coding portal: code search, assistant, consults and job board."""


@main.command()
@click.option("--host", default=None, help="Interface to bind (HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (PORT, default 8000).")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str | None, port: int | None, workers: int, reload: bool) -> None:
    """Serve the portal over HTTP."""
    import uvicorn

    settings = get_settings()
    if settings.database.auto_migrate and workers > 1:
        raise click.UsageError(
            "run `portal db migrate` first and set AUTO_MIGRATE=0 with --workers > 1"
        )
    address = f"http://{host or settings.host}:{port or settings.port}"
    click.echo(f"Coding portal ({settings.mode} mode) on {address}")
    uvicorn.run(
        "portal.app:create_default_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        proxy_headers=bool(settings.security.trusted_proxies),
        forwarded_allow_ips=",".join(settings.security.trusted_proxies) or None,
        access_log=False,  # the app logs requests itself, without query strings
        log_level=settings.log_level.lower(),
    )


@main.command()
def worker() -> None:
    """Run background jobs from Redis (the full mode)."""
    from portal.worker import run_worker

    settings = get_settings()
    if not settings.redis.url:
        raise click.UsageError(
            "portal worker needs REDIS_URL; the embedded mode runs jobs in-process"
        )
    asyncio.run(run_worker(settings))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=2525, show_default=True)
def smtpd(host: str, port: int) -> None:
    """Receive mail into the portal (inbound consults)."""
    from portal.smtpd import serve

    click.echo(f"Receiving mail on {host}:{port}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(host, port))


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
def migrate() -> None:
    """Create or update the schema (PostgreSQL or SQLite)."""
    from portal.bootstrap import migrate as run_migrations
    from portal.bootstrap import open_database
    from portal.installed import installed_features

    async def run() -> None:
        await open_database(get_settings(), installed_features())
        await run_migrations()

    asyncio.run(run())
    click.echo("Schema is up to date.")


@main.group()
def users() -> None:
    """Accounts."""


@users.command("create-admin")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin(email: str, password_stdin: bool) -> None:
    """Create an admin account (or make an existing account admin with a new password)."""
    from portal.accounts.service import create_admin as create
    from portal.bootstrap import start_runtime, stop_runtime
    from portal.errors import ValidationFailed
    from portal.installed import installed_features

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = os.environ.get("PORTAL_ADMIN_PASSWORD") or getpass.getpass("Password: ")

    async def run() -> str:
        rt = await start_runtime(get_settings(), installed_features())
        try:
            return (await create(email, password)).email
        finally:
            await stop_runtime(rt)

    try:
        click.echo(f"Admin account ready: {asyncio.run(run())}")
    except ValidationFailed as exc:
        raise click.ClickException(exc.message) from exc


def _add_feature_commands() -> None:
    from portal.installed import installed_features

    for feature in installed_features():
        for command in feature.commands:
            main.add_command(command)


_add_feature_commands()

if __name__ == "__main__":
    main()
