"""Statuses: post, reply, quote, edit, delete, and read one with its thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agora.accounts.service import LANGUAGE_RE, bump_counter, render_text
from agora.config import Settings
from agora.kit import richtext
from agora.kit.db import insert_once
from agora.kit.errors import NotFound, Unprocessable
from agora.kit.time import utcnow
from agora.media.service import media_for_status
from agora.models import Account, Follow, MediaAttachment, Mention, Status, StatusEdit, StatusTag, Tag
from agora.models.statuses import VISIBILITIES
from agora.social import notifications
from agora.social.events import queue_status_event, status_channels, status_written
from agora.social.visibility import visible_to, visible_with_original

_ONE_LEVEL = (
    selectinload(Status.account),
    selectinload(Status.media),
    selectinload(Status.mentions).selectinload(Mention.account),
    selectinload(Status.tags),
)
# Everything a rendered status needs, loaded in a fixed number of queries however many statuses.
STATUS_LOAD = (
    *_ONE_LEVEL,
    selectinload(Status.reblog).options(*_ONE_LEVEL, selectinload(Status.quote).options(*_ONE_LEVEL)),
    selectinload(Status.quote).options(*_ONE_LEVEL),
)
MAX_SPOILER = 500


@dataclass(frozen=True, slots=True)
class Draft:
    """What a member submits for a new post or an edit."""

    text: str = ""
    spoiler_text: str = ""
    sensitive: bool | None = None
    visibility: str | None = None
    language: str | None = None
    in_reply_to_id: int | None = None
    quoted_status_id: int | None = None
    media_ids: list[int] = field(default_factory=list)
    application_name: str | None = None


async def get_visible(
    session: AsyncSession, *, status_id: int | None, viewer_id: int | None, for_rendering: bool = True
) -> Status:
    """One status the viewer may see; 404 otherwise (never 403: that would confirm it exists).

    `for_rendering` loads everything a rendered status shows; actions that only need the row skip it.
    """
    if status_id is None:
        raise NotFound()
    query = _visible(viewer_id).where(Status.id == status_id)
    if for_rendering:
        # Refresh a copy this session already holds (after an edit, say) rather than reuse it stale.
        query = query.options(*STATUS_LOAD).execution_options(populate_existing=True)
    found = await session.scalar(query)
    if found is None:
        raise NotFound()
    return found


def _visible(viewer_id: int | None, *columns: Any) -> Select:
    """Statuses (or `columns` of them) the viewer may see; for a boost, the boosted post must be too."""
    original, visible = visible_with_original(viewer_id)
    return (select(*columns) if columns else select(Status)).outerjoin(
        original, original.id == Status.reblog_of_id).where(visible)


async def visible_ids(session: AsyncSession, *, ids: list[int], viewer_id: int | None) -> set[int]:
    """Which of `ids` the viewer may see (one query)."""
    if not ids:
        return set()
    return set(await session.scalars(_visible(viewer_id, Status.id).where(Status.id.in_(ids))))


async def load(session: AsyncSession, *, ids: list[int]) -> list[Status]:
    """Statuses by id, fully loaded, in the order given (ids that vanished are skipped)."""
    rows = {s.id: s for s in await session.scalars(select(Status).where(Status.id.in_(ids)).options(*STATUS_LOAD))}
    return [rows[i] for i in ids if i in rows]


async def _own(session: AsyncSession, *, status_id: int | None, account_id: int) -> Status:
    # Locked (PostgreSQL) until the transaction ends: a concurrent edit or delete of the same post
    # waits, then finds the post as this one left it (or gone) — never both decrementing counters.
    status = await session.get(Status, status_id, with_for_update=True) if status_id is not None else None
    if status is None or status.account_id != account_id or status.reblog_of_id is not None:
        raise NotFound()
    return status


def _validate(draft: Draft, settings: Settings, *, has_media: bool) -> None:
    if not draft.text.strip() and not has_media:
        raise Unprocessable("Validation failed: Text can't be blank")
    if len(draft.text) > settings.max_status_chars:
        raise Unprocessable(f"Validation failed: Text character limit of {settings.max_status_chars} exceeded")
    if len(draft.spoiler_text) > MAX_SPOILER:
        raise Unprocessable(f"Validation failed: spoiler_text is longer than {MAX_SPOILER} characters")
    if draft.visibility is not None and draft.visibility not in VISIBILITIES:
        raise Unprocessable("Validation failed: visibility must be public, unlisted, private or direct")
    language = draft.language
    if language is not None and not LANGUAGE_RE.fullmatch(language):  # the rule profiles use too
        raise Unprocessable("Validation failed: language must be an ISO 639 code")


async def _render_content(session: AsyncSession, text: str, settings: Settings) -> tuple[str, list[Account], list[str]]:
    html, mentioned = await render_text(session, text=text, settings=settings)
    return html, mentioned, richtext.extract_hashtags(text)


async def _tags(session: AsyncSession, names: list[str]) -> list[Tag]:
    if not names:
        return []
    by_key = {n.casefold(): n for n in names}
    existing = {t.name_key: t for t in await session.scalars(select(Tag).where(Tag.name_key.in_(by_key)))}
    for key, name in by_key.items():
        if key not in existing:
            tag = Tag(name=name, name_key=key)
            if not await insert_once(session, tag):  # a concurrent post made it first
                tag = await session.scalar(select(Tag).where(Tag.name_key == key))
            existing[key] = tag
    return [existing[k] for k in by_key]


async def _set_mentions_and_tags(
    session: AsyncSession, status: Status, mentioned: list[Account], tags: list[Tag]
) -> None:
    await session.execute(delete(Mention).where(Mention.status_id == status.id))
    await session.execute(delete(StatusTag).where(StatusTag.status_id == status.id))
    for account in mentioned:
        session.add(Mention(status_id=status.id, account_id=account.id))
    for tag in tags:
        session.add(StatusTag(status_id=status.id, tag_id=tag.id))
    await session.flush()


async def create(session: AsyncSession, *, author: Account, draft: Draft, settings: Settings) -> Status:
    parent = None
    if draft.in_reply_to_id is not None:
        parent = await session.scalar(select(Status).where(
            Status.id == draft.in_reply_to_id, visible_to(author.id), Status.reblog_of_id.is_(None)))
        if parent is None:
            raise NotFound("The post you are replying to does not exist or is not visible to you")
    quoted = None
    if draft.quoted_status_id is not None:
        quoted = await session.scalar(select(Status).where(
            Status.id == draft.quoted_status_id, visible_to(author.id), Status.reblog_of_id.is_(None)))
        if quoted is None:
            raise NotFound("The post you are quoting does not exist or is not visible to you")
        if quoted.visibility in ("private", "direct") and quoted.account_id != author.id:
            raise Unprocessable("Only public and unlisted posts can be quoted")
    media = await media_for_status(session, account_id=author.id, media_ids=draft.media_ids, status_id=None,
                                   limit=settings.max_media_attachments)
    _validate(draft, settings, has_media=bool(media))
    visibility = draft.visibility or author.default_visibility
    if parent is not None and parent.visibility == "direct" and draft.visibility is None:
        visibility = "direct"  # a reply to a DM stays a DM unless the member says otherwise
    content, mentioned, tag_names = await _render_content(session, draft.text, settings)
    status = Status(
        account_id=author.id, text=draft.text, content=content, spoiler_text=draft.spoiler_text,
        sensitive=draft.sensitive if draft.sensitive is not None
        else (author.default_sensitive or bool(draft.spoiler_text)),
        visibility=visibility, language=draft.language or author.default_language,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_account_id=parent.account_id if parent else None,
        quote_id=quoted.id if quoted else None, application_name=draft.application_name,
    )
    session.add(status)
    await session.flush()
    for m in media:
        m.status_id = status.id
    tags = await _tags(session, tag_names)
    await _set_mentions_and_tags(session, status, mentioned, tags)
    await status_written(session, event="update", status=status)  # the search index writes with the post
    await bump_counter(session, account_id=author.id, column="statuses_count", by=1)
    await session.execute(update(Account).where(Account.id == author.id).values(last_status_at=status.created_at))
    if parent is not None:
        await _bump_status(session, parent.id, "replies_count", 1)
    if quoted is not None:
        await _bump_status(session, quoted.id, "quotes_count", 1)

    for account in mentioned:
        await notifications.notify(session, recipient_id=account.id, actor_id=author.id, kind="mention",
                                   status_id=status.id)
    if parent is not None and parent.account_id not in {a.id for a in mentioned}:
        await notifications.notify(session, recipient_id=parent.account_id, actor_id=author.id, kind="reply",
                                   status_id=status.id)
    if quoted is not None:
        await notifications.notify(session, recipient_id=quoted.account_id, actor_id=author.id, kind="quote",
                                   status_id=status.id)
    if visibility in ("public", "unlisted", "private"):
        subscribers = await session.scalars(select(Follow.account_id).where(
            Follow.target_account_id == author.id, Follow.notify))
        for subscriber in subscribers:
            await notifications.notify(session, recipient_id=subscriber, actor_id=author.id, kind="status",
                                       status_id=status.id)
    channels = await status_channels(session, status=status, mentioned_ids=[a.id for a in mentioned],
                                     tag_keys=[t.name_key for t in tags])
    queue_status_event(session, event="update", status_id=status.id, channels=channels)
    return status


async def _bump_status(session: AsyncSession, status_id: int, column: str, by: int) -> None:
    col = getattr(Status, column)
    await session.execute(update(Status).where(Status.id == status_id).values({column: col + by})
                          .execution_options(synchronize_session=False))


async def edit(session: AsyncSession, *, author: Account, status_id: int | None, draft: Draft,
               media_descriptions: dict[int, str], settings: Settings) -> Status:
    status = await _own(session, status_id=status_id, account_id=author.id)
    old_media = list(await session.scalars(select(MediaAttachment).where(MediaAttachment.status_id == status.id)
                                           .order_by(MediaAttachment.position)))
    media = await media_for_status(session, account_id=author.id, media_ids=draft.media_ids, status_id=status.id,
                                   limit=settings.max_media_attachments)
    _validate(draft, settings, has_media=bool(media))
    for attachment in media:
        if attachment.id in media_descriptions:
            attachment.description = media_descriptions[attachment.id][:1500]
    if status.edited_at is None:  # the first edit records the original, so history shows every version
        session.add(StatusEdit(status_id=status.id, account_id=author.id, text=status.text, content=status.content,
                               spoiler_text=status.spoiler_text, sensitive=status.sensitive,
                               media_ids=",".join(str(m.id) for m in old_media), created_at=status.created_at))
    content, mentioned, tag_names = await _render_content(session, draft.text, settings)
    previously_mentioned = set(await session.scalars(select(Mention.account_id).where(Mention.status_id == status.id)))
    status.text, status.content, status.spoiler_text = draft.text, content, draft.spoiler_text
    if draft.sensitive is not None:
        status.sensitive = draft.sensitive
    if draft.language is not None:
        status.language = draft.language
    status.edited_at = utcnow()
    for attachment in old_media:
        if attachment.id not in draft.media_ids:
            attachment.status_id = None
    for attachment in media:
        attachment.status_id = status.id
    session.add(StatusEdit(status_id=status.id, account_id=author.id, text=status.text, content=content,
                           spoiler_text=status.spoiler_text, sensitive=status.sensitive,
                           media_ids=",".join(str(m.id) for m in media), created_at=status.edited_at))
    tags = await _tags(session, tag_names)
    await _set_mentions_and_tags(session, status, mentioned, tags)
    await status_written(session, event="status.update", status=status)
    for account in mentioned:
        if account.id not in previously_mentioned:
            await notifications.notify(session, recipient_id=account.id, actor_id=author.id, kind="mention",
                                       status_id=status.id)
    boosters = await session.scalars(select(Status.account_id).where(Status.reblog_of_id == status.id).distinct())
    for booster in boosters:
        await notifications.notify(session, recipient_id=booster, actor_id=author.id, kind="update",
                                   status_id=status.id)
    channels = await status_channels(session, status=status, mentioned_ids=[a.id for a in mentioned],
                                     tag_keys=[t.name_key for t in tags])
    queue_status_event(session, event="status.update", status_id=status.id, channels=channels)
    await session.flush()
    return status


async def delete_status(session: AsyncSession, *, author: Account, status_id: int | None) -> Status:
    """Delete one's own post (and the reblogs of it); returns it loaded, for "delete and redraft"."""
    status = await _own(session, status_id=status_id, account_id=author.id)
    loaded = await get_visible(session, status_id=status.id, viewer_id=author.id)
    mention_ids = [m.account_id for m in loaded.mentions]
    channels = await status_channels(session, status=status, mentioned_ids=mention_ids,
                                     tag_keys=[t.name_key for t in loaded.tags])
    reblogs = list((await session.execute(
        select(Status.id, Status.account_id).where(Status.reblog_of_id == status.id))).all())
    for reblog_id, booster_id in reblogs:
        await bump_counter(session, account_id=booster_id, column="statuses_count", by=-1)
        queue_status_event(session, event="delete", status_id=reblog_id, channels=[
            c for c in channels if c.startswith("timeline:")] + [f"timeline:{booster_id}"])
    if status.in_reply_to_id is not None:
        await _bump_status(session, status.in_reply_to_id, "replies_count", -1)
    if status.quote_id is not None:
        await _bump_status(session, status.quote_id, "quotes_count", -1)
    await bump_counter(session, account_id=author.id, column="statuses_count", by=-1)
    await session.execute(delete(Status).where(Status.reblog_of_id == status.id))
    await session.execute(delete(Status).where(Status.id == status.id))
    await status_written(session, event="delete", status=status)
    queue_status_event(session, event="delete", status_id=status.id, channels=channels)
    await session.flush()
    return loaded


async def visible_original(session: AsyncSession, *, status_id: int | None, viewer_id: int) -> Status:
    """The post a member acts on: the one with this id, or, for a boost, the post it boosts (as in
    Mastodon); 404 unless the member may see both."""
    status = await get_visible(session, status_id=status_id, viewer_id=viewer_id, for_rendering=False)
    if status.reblog_of_id is not None:
        status = await get_visible(session, status_id=status.reblog_of_id, viewer_id=viewer_id, for_rendering=False)
    return status


async def reblog(session: AsyncSession, *, account: Account, status_id: int | None, visibility: str | None) -> Status:
    original = await visible_original(session, status_id=status_id, viewer_id=account.id)
    if original.visibility == "direct" or (original.visibility == "private" and original.account_id != account.id):
        raise Unprocessable("This post cannot be boosted")
    # Boosts of one post queue here (PostgreSQL), so two racing requests cannot both find "not yet".
    await session.execute(select(Status.id).where(Status.id == original.id).with_for_update())
    existing = await session.scalar(select(Status).where(Status.account_id == account.id,
                                                         Status.reblog_of_id == original.id))
    if existing is not None:
        return existing
    chosen = visibility or "public"
    if chosen not in ("public", "unlisted", "private"):
        raise Unprocessable("visibility must be public, unlisted or private")
    if original.visibility == "private":
        chosen = "private"
    boost = Status(account_id=account.id, reblog_of_id=original.id, visibility=chosen, text="", content="")
    session.add(boost)
    await session.flush()
    await _bump_status(session, original.id, "reblogs_count", 1)
    await bump_counter(session, account_id=account.id, column="statuses_count", by=1)
    await notifications.notify(session, recipient_id=original.account_id, actor_id=account.id, kind="reblog",
                               status_id=original.id)
    channels = await status_channels(session, status=boost, mentioned_ids=[], tag_keys=[])
    queue_status_event(session, event="update", status_id=boost.id, channels=channels)
    return boost


async def unreblog(session: AsyncSession, *, account: Account, status_id: int | None) -> Status:
    """Undo the member's boost of a post (given the post, or any boost of it); returns the post."""
    original = await visible_original(session, status_id=status_id, viewer_id=account.id)
    boost = await session.scalar(select(Status).where(Status.account_id == account.id,
                                                      Status.reblog_of_id == original.id))
    if boost is None:
        return original
    channels = await status_channels(session, status=boost, mentioned_ids=[], tag_keys=[])
    if not (await session.execute(delete(Status).where(Status.id == boost.id))).rowcount:
        return original  # a concurrent unreblog removed it (and counted it) first
    await _bump_status(session, original.id, "reblogs_count", -1)
    await bump_counter(session, account_id=account.id, column="statuses_count", by=-1)
    await notifications.dismiss_kind(session, recipient_id=original.account_id, actor_id=account.id, kind="reblog",
                                     status_id=original.id)
    queue_status_event(session, event="delete", status_id=boost.id, channels=channels)
    return original


async def context(session: AsyncSession, *, status: Status, viewer_id: int | None,
                  max_depth: int = 40, max_descendants: int = 4096) -> tuple[list[Status], list[Status]]:
    """Ancestors (oldest first) and descendants (in reading order) the viewer may see."""
    ancestors: list[int] = []
    parent_id = status.in_reply_to_id
    while parent_id is not None and len(ancestors) < max_depth:
        row = (await session.execute(select(Status.id, Status.in_reply_to_id).where(Status.id == parent_id))).first()
        if row is None:
            break
        ancestors.append(row.id)
        parent_id = row.in_reply_to_id
    ancestors.reverse()

    tree = select(Status.id, Status.in_reply_to_id).where(Status.in_reply_to_id == status.id).cte(recursive=True)
    tree = tree.union_all(select(Status.id, Status.in_reply_to_id).where(Status.in_reply_to_id == tree.c.id))
    edges = list((await session.execute(select(tree.c.id, tree.c.in_reply_to_id).limit(max_descendants))).all())
    children: dict[int, list[int]] = {}
    for child, parent in edges:
        children.setdefault(parent, []).append(child)
    # Depth-first, oldest reply first (how a thread reads), with an explicit stack: a reply chain
    # thousands deep must not hit Python's recursion limit.
    ordered: list[int] = []
    stack = sorted(children.get(status.id, []), reverse=True)
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(sorted(children.get(node, []), reverse=True))
    wanted = ancestors + ordered
    visible = await visible_ids(session, ids=wanted, viewer_id=viewer_id)
    loaded = {s.id: s for s in await load(session, ids=[i for i in wanted if i in visible])}
    return [loaded[i] for i in ancestors if i in loaded], [loaded[i] for i in ordered if i in loaded]


async def history(session: AsyncSession, *, status: Status) -> list[StatusEdit]:
    edits = list(await session.scalars(select(StatusEdit).where(StatusEdit.status_id == status.id)
                                       .order_by(StatusEdit.id)))
    if edits:
        return edits
    return [StatusEdit(status_id=status.id, account_id=status.account_id, text=status.text, content=status.content,
                       spoiler_text=status.spoiler_text, sensitive=status.sensitive,
                       media_ids=",".join(str(m.id) for m in status.media), created_at=status.created_at)]
