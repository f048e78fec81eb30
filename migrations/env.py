"""Alembic environment: runs revisions against the database named by the settings.

Revisions themselves never import app code (they describe tables with plain `sa` types), so old
revisions keep working however the models change. Only autogenerate reads the models' metadata.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def _url() -> str:
    explicit = config.attributes.get("database_url")
    if explicit:
        return explicit
    from agora.config import Settings

    return Settings().resolved_database_url


def _metadata():  # only autogenerate needs the models
    from agora.models import Base

    return Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
