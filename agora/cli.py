"""The `agora` command: serve, migrate, demo, admin."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console

from agora.ai.cli import ai as ai_commands
from agora.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

app = typer.Typer(help="Agora: an open, self-hostable everything app.", no_args_is_help=True)
admin = typer.Typer(help="Operator tasks.", no_args_is_help=True)
app.add_typer(admin, name="admin")
payments = typer.Typer(help="The wallet: audit the ledger, return expired payments.", no_args_is_help=True)
app.add_typer(payments, name="payments")
search = typer.Typer(help="Search: rebuild the keyword index, embed posts for semantic search.", no_args_is_help=True)
app.add_typer(search, name="search")
app.add_typer(ai_commands, name="ai")
console = Console(stderr=True)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def run_migrations(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest revision."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    run_migrations(settings.resolved_database_url)
    console.print(f"[green]database is up to date[/green] ({'SQLite' if settings.is_sqlite else 'PostgreSQL'})")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (more than one needs PostgreSQL and Redis)."),
) -> None:
    """Serve the web app and every API."""
    import uvicorn

    settings = Settings()
    console.print(f"[bold]Agora[/bold] on [link]{settings.base_url}[/link]  (API docs: {settings.base_url}/docs)")
    uvicorn.run("agora.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level, proxy_headers=True, ws_ping_interval=20,
                timeout_graceful_shutdown=5)  # open streams never end by themselves


@app.command()
def demo() -> None:
    """Load the demo community (idempotent: a second run changes nothing)."""
    from agora.demo.loader import load_demo

    settings = Settings()
    summary = asyncio.run(load_demo(settings, progress=console))
    console.print(str(summary))


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one write transaction on the configured database; `AgoraError`s end the command
    with their message and exit status 1."""
    from agora.kit.db import Database
    from agora.kit.errors import AgoraError

    async def run() -> T:
        db = Database(settings.resolved_database_url)
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except AgoraError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None


@admin.command("create-user")
def create_user(
    username: str,
    email: str = typer.Option(..., help="E-mail address (used to sign in)."),
    password: str = typer.Option(..., help="Password (8 characters or more)."),
    is_admin: bool = typer.Option(False, "--admin", help="Make the account an administrator."),
) -> None:
    """Create an account whatever the registration mode."""
    from agora.accounts import service
    from agora.accounts.secrets import Passwords

    settings = Settings()

    async def create(session: AsyncSession) -> int:
        account = await service.register(
            session, form=service.Registration(username, email, password), settings=settings,
            passwords=Passwords.for_settings(settings), admin=is_admin, by_operator=True)
        return account.id

    account_id = in_transaction(settings, create)
    console.print(f"[green]created[/green] @{username} (id {account_id}){' as admin' if is_admin else ''}")


@admin.command("approve")
def approve(username: str) -> None:
    """Approve an account that signed up while registrations need approval."""
    from agora.accounts import service
    from agora.kit.errors import NotFound

    async def approve_account(session: AsyncSession) -> None:
        account = await service.find_by_username(session, username=username)
        if account is None:
            raise NotFound(f"no account @{username}")
        account.approved = True

    in_transaction(Settings(), approve_account)
    console.print(f"[green]approved[/green] @{username.lower()}")


@payments.command("audit")
def payments_audit() -> None:
    """Prove the ledger holds together: every entry balances, every balance equals its postings, no member
    is negative, held money matches what is pending, and member money equals funding in minus out."""
    from agora.kit.money import format_amount
    from agora.payments.audit import AuditReport, audit

    report: AuditReport = in_transaction(Settings(), audit)
    console.print(f"{report.entries} journal entries, {report.postings} postings, {report.accounts} ledger accounts")
    for currency, totals in sorted(report.currencies.items()):
        console.print(f"{currency}: members hold {format_amount(totals.member_total, currency)} "
                      f"({format_amount(totals.member_held, currency)} held); funding brought in "
                      f"{format_amount(totals.funded, currency)}; revenue {format_amount(totals.revenue, currency)}")
    for problem in report.problems:
        console.print(f"[red]problem:[/red] {problem}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]ledger OK[/green]")


@payments.command("expire")
def payments_expire() -> None:
    """Return expired chat transfers, red packets and holds now (the server also does this on its own)."""
    from agora.kit.db import Database
    from agora.payments.expiry import expire_due

    async def run() -> dict[str, int]:
        db = Database(Settings().resolved_database_url)
        try:
            return await expire_due(db)
        finally:
            await db.dispose()

    returned = asyncio.run(run())
    console.print(", ".join(f"{count} {name.replace('_', ' ')}" for name, count in returned.items()) + " returned")


@search.command("reindex")
def search_reindex() -> None:
    """Rebuild the keyword index of every post (after a restore, or a tokenizer change).

    One transaction: searches keep the old index until it commits; on SQLite, posting waits for it
    (seconds per 100,000 posts)."""
    from agora.search.indexing import reindex_all

    count = in_transaction(Settings(), reindex_all)
    console.print(f"[green]reindexed[/green] {count} posts")


@search.command("embed")
def search_embed() -> None:
    """Embed every post that has no up-to-date vector now (the server also does this in the background)."""
    from agora.kit.db import Database
    from agora.search.embedder import embed_missing

    async def run() -> int:
        db = Database(Settings().resolved_database_url)
        try:
            return await embed_missing(db)
        finally:
            await db.dispose()

    console.print(f"[green]embedded[/green] {asyncio.run(run())} posts")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
