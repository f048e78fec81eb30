"""Conversations and their members: direct chats, groups, roles, message requests, receipts.

Who may do what (the rules a member meets):
- Anyone may start a direct chat with an approved member, unless either blocks the other. It lands
  in the other's inbox if they follow the starter, otherwise in their message requests (as on X).
- Any member of a group may invite (WeChat's default). Members added by someone they do not
  follow get the group as a request. Owners and admins rename, describe, pin and remove; an admin
  may remove only plain members. The owner names admins and may hand the group to another member.
  An owner who leaves hands it to the longest-standing admin, else the longest-standing member.
- A member sees what happened in a conversation from the moment they joined: a new member does
  not read the history before them (WeChat's rule), and a member who left or was removed reads
  nothing more.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat import events
from agora.chat.messages import add_system_message, require_not_blocked
from agora.config import Settings
from agora.kit.db import insert_once
from agora.kit.errors import Forbidden, NotFound, Unprocessable
from agora.kit.ids import new_id
from agora.kit.pagination import Page, PageParams
from agora.kit.time import utcnow
from agora.models import Account, Block, ChatMessage, Conversation, ConversationMember, Follow
from agora.models.chat import RECEIVING_STATES

MANAGERS = ("owner", "admin")
_RANK = {"owner": 2, "admin": 1, "member": 0}


async def membership(
    session: AsyncSession, *, conversation_id: int | None, account_id: int, lock: bool = False,
) -> ConversationMember:
    """The caller's membership, with its conversation; 404 for anyone who does not receive it (so
    a stranger cannot even learn that a conversation exists)."""
    if conversation_id is None:
        raise NotFound("Conversation not found")
    if lock:
        # A change to the group takes the conversation's row first (then the member's, the order
        # every writer uses), so two at once run one after the other. Without it two invitations
        # both read member_count N, both write N + 1, and together pass the member limit.
        # (Fresh values: the row may have been read earlier in this transaction, before the lock.)
        # FOR NO KEY UPDATE (key_share), not FOR UPDATE: a committing send that holds the event
        # counter inserts rows referring to this one, and their foreign-key check must not wait on
        # us while we wait on the counter — that would be a deadlock.
        await session.get(Conversation, conversation_id, with_for_update={"key_share": True},
                          populate_existing=True)
    query = select(ConversationMember).where(
        ConversationMember.conversation_id == conversation_id, ConversationMember.account_id == account_id,
        ConversationMember.state.in_(RECEIVING_STATES))
    if lock:
        query = query.with_for_update()
    found = await session.scalar(query)
    if found is None:
        raise NotFound("Conversation not found")
    found.conversation = await session.get_one(Conversation, conversation_id)
    return found


def require_manager(member: ConversationMember) -> None:
    if member.conversation.kind == "group" and member.role not in MANAGERS:
        raise Forbidden("Only the group's owner and admins may do this")


def _group(member: ConversationMember) -> None:
    if member.conversation.kind != "group":
        raise Unprocessable("This works only in a group")


async def _blocked_either_way(session: AsyncSession, a: int, b: int) -> bool:
    found = await session.scalar(select(Block.id).where(
        ((Block.account_id == a) & (Block.target_account_id == b))
        | ((Block.account_id == b) & (Block.target_account_id == a))).limit(1))
    return found is not None


async def _followers_among(session: AsyncSession, *, target_id: int, account_ids: list[int]) -> set[int]:
    """Which of `account_ids` follow `target_id` (their invitations from target skip requests)."""
    if not account_ids:
        return set()
    rows = await session.scalars(select(Follow.account_id).where(
        Follow.target_account_id == target_id, Follow.account_id.in_(account_ids)))
    return set(rows)


async def _approved_accounts(session: AsyncSession, account_ids: list[int]) -> dict[int, Account]:
    found = await session.scalars(select(Account).where(
        Account.id.in_(account_ids), Account.suspended.is_(False), Account.approved.is_(True)))
    return {a.id: a for a in found}


def _join(session: AsyncSession, member: ConversationMember) -> None:
    """Start `member`'s view of the conversation at the next event this transaction logs."""

    def start(seq: int) -> None:
        member.since_seq = seq

    session.info.setdefault("chat_joining", []).append(start)


def _log(session: AsyncSession, conversation: Conversation, change: str, *, notify: list[int] | None = None,
         **data: object) -> None:
    """A conversation event; members who joined in this transaction start their view here."""
    joining = session.info.pop("chat_joining", [])

    def sequenced(seq: int) -> None:
        for start in joining:
            start(seq)

    events.record(session, conversation_id=conversation.id, kind=events.CONVERSATION,
                  data={"change": change, **{k: str(v) for k, v in data.items()}}, notify=notify,
                  on_sequenced=sequenced)


# --- starting conversations ---------------------------------------------------------------------


async def start_direct(session: AsyncSession, *, starter: Account, other_id: int | None) -> Conversation:
    """The one direct conversation between two members, created on first use."""
    other = (await _approved_accounts(session, [other_id])).get(other_id) if other_id is not None else None
    if other is None:
        raise NotFound("Account not found")
    if other.id == starter.id:
        raise Unprocessable("You cannot start a chat with yourself")
    if await _blocked_either_way(session, starter.id, other.id):
        raise Forbidden("You cannot message this account")
    low, high = sorted((starter.id, other.id))
    key = f"{low}:{high}"
    existing = await session.scalar(select(Conversation).where(Conversation.direct_key == key))
    if existing is None:
        conversation_id = new_id()
        fresh = Conversation(id=conversation_id, kind="direct", direct_key=key, created_by_id=starter.id,
                             activity_id=conversation_id, member_count=2)
        if await insert_once(session, fresh):
            follows = await _followers_among(session, target_id=starter.id, account_ids=[other.id])
            for account_id, state in ((starter.id, "active"),
                                      (other.id, "active" if other.id in follows else "request")):
                member = ConversationMember(conversation_id=fresh.id, account_id=account_id, role="member",
                                            state=state)
                session.add(member)
                _join(session, member)
            await session.flush()
            _log(session, fresh, "created", notify=[starter.id, other.id])
            return fresh
        # Started at the same moment from the other side: use theirs.
        existing = await session.scalar(select(Conversation).where(Conversation.direct_key == key))
        assert existing is not None
    mine = await session.scalar(select(ConversationMember).where(
        ConversationMember.conversation_id == existing.id, ConversationMember.account_id == starter.id))
    if mine is not None and mine.state != "active":
        # Opening a chat you had as a request, or had declined, accepts it.
        mine.state = "active"
        await session.flush()
        _log_accepted(session, existing, starter.id)
    return existing


def _log_accepted(session: AsyncSession, conversation: Conversation, account_id: int) -> None:
    events.record(session, conversation_id=conversation.id, kind=events.CONVERSATION,
                  data={"change": "accepted", "account_id": str(account_id)}, recipient_id=account_id)


async def create_group(
    session: AsyncSession, *, creator: Account, name: str, description: str, member_ids: list[int],
    settings: Settings,
) -> Conversation:
    name, description = _checked_info(name, description, settings)
    conversation_id = new_id()
    group = Conversation(id=conversation_id, kind="group", name=name, description=description,
                         created_by_id=creator.id, activity_id=conversation_id, member_count=1)
    session.add(group)
    owner = ConversationMember(conversation_id=group.id, account_id=creator.id, role="owner", state="active")
    session.add(owner)
    _join(session, owner)
    await session.flush()
    owner.conversation = group
    added = await _admit(session, inviter=creator, conversation=group, account_ids=member_ids, settings=settings)
    _log(session, group, "created", notify=[creator.id, *added])
    await add_system_message(session, conversation=group, actor_id=creator.id, action="created",
                             account_ids=[])
    if added:
        await add_system_message(session, conversation=group, actor_id=creator.id, action="added",
                                 account_ids=added)
    return group


def _checked_info(name: str, description: str, settings: Settings) -> tuple[str, str]:
    name, description = name.strip(), description.strip()
    if len(name) > settings.max_group_name_chars:
        raise Unprocessable(f"A group name can be at most {settings.max_group_name_chars} characters")
    if len(description) > settings.max_group_description_chars:
        raise Unprocessable(
            f"A group description can be at most {settings.max_group_description_chars} characters")
    return name, description


async def _admit(
    session: AsyncSession, *, inviter: Account, conversation: Conversation, account_ids: list[int],
    settings: Settings,
) -> list[int]:
    """Add members (or bring back ones who left); returns who is new. Checks every id first, so a
    bad one changes nothing."""
    wanted = list(dict.fromkeys(a for a in account_ids if a != inviter.id))
    if not wanted:
        return []
    accounts = await _approved_accounts(session, wanted)
    missing = [a for a in wanted if a not in accounts]
    if missing:
        raise Unprocessable(f"No such account: {missing[0]}")
    for account_id in wanted:
        if await _blocked_either_way(session, inviter.id, account_id):
            raise Forbidden(f"You cannot add @{accounts[account_id].username}")
    current = {m.account_id: m for m in await session.scalars(select(ConversationMember).where(
        ConversationMember.conversation_id == conversation.id, ConversationMember.account_id.in_(wanted)))}
    new = [a for a in wanted if a not in current or current[a].state not in RECEIVING_STATES]
    if conversation.member_count + len(new) > settings.max_group_members:
        raise Unprocessable(f"A group can have at most {settings.max_group_members} members")
    follows = await _followers_among(session, target_id=inviter.id, account_ids=new)
    for account_id in new:
        member = current.get(account_id) or ConversationMember(conversation_id=conversation.id,
                                                               account_id=account_id)
        member.role = "member"
        member.state = "active" if account_id in follows else "request"
        member.last_read_id = 0
        member.joined_at = utcnow()  # a returning member joins again, at the back of the list
        session.add(member)
        _join(session, member)
    conversation.member_count += len(new)
    await session.flush()
    return new


# --- managing a group ---------------------------------------------------------------------------


async def add_members(
    session: AsyncSession, *, actor: Account, conversation_id: int | None, account_ids: list[int],
    settings: Settings,
) -> Conversation:
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id, lock=True)
    _group(me)
    added = await _admit(session, inviter=actor, conversation=me.conversation, account_ids=account_ids,
                         settings=settings)
    if added:
        _log(session, me.conversation, "members", notify=added)
        await add_system_message(session, conversation=me.conversation, actor_id=actor.id, action="added",
                                 account_ids=added)
    return me.conversation


async def _member(session: AsyncSession, conversation_id: int, account_id: int | None) -> ConversationMember:
    found = await session.scalar(select(ConversationMember).where(
        ConversationMember.conversation_id == conversation_id, ConversationMember.account_id == account_id,
        ConversationMember.state.in_(RECEIVING_STATES)))
    if found is None:
        raise NotFound("That account is not a member of this conversation")
    return found


async def _end_membership(session: AsyncSession, member: ConversationMember, conversation: Conversation,
                          state: str) -> None:
    member.state = state
    member.role = "member"
    conversation.member_count -= 1
    await session.flush()
    # Told on their own channel: from now on they receive nothing else from this conversation.
    events.record(session, conversation_id=conversation.id, kind=events.CONVERSATION_REMOVE,
                  data={"reason": state}, recipient_id=member.account_id)


async def remove_member(
    session: AsyncSession, *, actor: Account, conversation_id: int | None, account_id: int | None,
) -> Conversation:
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id, lock=True)
    _group(me)
    require_manager(me)
    target = await _member(session, me.conversation_id, account_id)
    if target.account_id == actor.id:
        raise Unprocessable("To leave a group, use leave")
    if _RANK[target.role] >= _RANK[me.role]:
        raise Forbidden("You can remove only members below your own role")
    await _end_membership(session, target, me.conversation, "removed")
    _log(session, me.conversation, "members")
    await add_system_message(session, conversation=me.conversation, actor_id=actor.id, action="removed",
                             account_ids=[target.account_id])
    return me.conversation


async def leave(session: AsyncSession, *, actor: Account, conversation_id: int | None) -> None:
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id, lock=True)
    _group(me)
    conversation = me.conversation
    if me.role == "owner":
        heir = await session.scalar(
            select(ConversationMember).where(
                ConversationMember.conversation_id == conversation.id, ConversationMember.id != me.id,
                ConversationMember.state.in_(RECEIVING_STATES))
            # Someone who joined before someone only invited; failing that, an invitee inherits,
            # so a group never goes on without an owner.
            .order_by((ConversationMember.state == "active").desc(), (ConversationMember.role == "admin").desc(),
                      ConversationMember.joined_at, ConversationMember.id).limit(1))
        if heir is not None:
            heir.role = "owner"
    await _end_membership(session, me, conversation, "left")
    _log(session, conversation, "members")
    await add_system_message(session, conversation=conversation, actor_id=actor.id, action="left", account_ids=[])


async def set_role(
    session: AsyncSession, *, actor: Account, conversation_id: int | None, account_id: int | None, role: str,
) -> Conversation:
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id, lock=True)
    _group(me)
    if me.role != "owner":
        raise Forbidden("Only the group's owner may change roles")
    if role not in ("admin", "member", "owner"):
        raise Unprocessable("role must be admin, member or owner")
    target = await _member(session, me.conversation_id, account_id)
    if target.account_id == actor.id:
        raise Unprocessable("You are the owner; hand the group to someone else to change your role")
    if target.state != "active":
        raise Unprocessable("That member has not accepted the group yet")
    if role == "owner":
        me.role = "admin"
    target.role = role
    await session.flush()
    _log(session, me.conversation, "members")
    await add_system_message(session, conversation=me.conversation, actor_id=actor.id, action=f"made_{role}",
                             account_ids=[target.account_id])
    return me.conversation


async def update_info(
    session: AsyncSession, *, actor: Account, conversation_id: int | None, name: str | None,
    description: str | None, avatar_path: str | None, settings: Settings,
) -> Conversation:
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id, lock=True)
    _group(me)
    require_manager(me)
    conversation = me.conversation
    new_name, new_description = _checked_info(
        conversation.name if name is None else name,
        conversation.description if description is None else description, settings)
    renamed = new_name != conversation.name
    conversation.name, conversation.description = new_name, new_description
    if avatar_path is not None:
        conversation.avatar_path = avatar_path
    await session.flush()
    _log(session, conversation, "info")
    if renamed:
        await add_system_message(session, conversation=conversation, actor_id=actor.id, action="renamed",
                                 account_ids=[], extra={"name": new_name})
    return conversation


# --- a member's own view ------------------------------------------------------------------------


async def accept(session: AsyncSession, *, actor: Account, conversation_id: int | None) -> Conversation:
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id)
    if me.state != "active":
        me.state = "active"
        await session.flush()
        _log_accepted(session, me.conversation, actor.id)
    return me.conversation


async def decline(session: AsyncSession, *, actor: Account, conversation_id: int | None) -> None:
    """Drop a message request. In a group that means leaving it; a direct chat is hidden."""
    # Locked like every other change to who is in a group (it lowers member_count).
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id, lock=True)
    if me.state != "request":
        raise Unprocessable("Only a message request can be declined")
    if me.conversation.kind == "group":
        await _end_membership(session, me, me.conversation, "declined")
        _log(session, me.conversation, "members")
        return
    me.state = "declined"
    await session.flush()
    events.record(session, conversation_id=me.conversation_id, kind=events.CONVERSATION_REMOVE,
                  data={"reason": "declined"}, recipient_id=actor.id)


async def set_muted(session: AsyncSession, *, actor: Account, conversation_id: int | None, muted: bool
                    ) -> Conversation:
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id)
    if me.muted != muted:
        me.muted = muted
        await session.flush()
        events.record(session, conversation_id=me.conversation_id, kind=events.CONVERSATION,
                      data={"change": "muted" if muted else "unmuted"}, recipient_id=actor.id)
    return me.conversation


async def mark_read(
    session: AsyncSession, *, actor: Account, conversation_id: int | None, message_id: int | None,
) -> ConversationMember:
    """Read receipts only move forward; reading an older message changes nothing."""
    me = await membership(session, conversation_id=conversation_id, account_id=actor.id)
    if message_id is None:
        message_id = me.conversation.last_message_id or 0
    else:
        found = await session.scalar(select(ChatMessage.id).where(
            ChatMessage.id == message_id, ChatMessage.conversation_id == me.conversation_id))
        if found is None:
            raise NotFound("Message not found")
    if message_id > me.last_read_id:
        # A conditional UPDATE, so two devices reading at once cannot move the receipt backwards.
        moved = await session.execute(update(ConversationMember).where(
            ConversationMember.id == me.id, ConversationMember.last_read_id < message_id,
        ).values(last_read_id=message_id).execution_options(synchronize_session=False))
        if moved.rowcount:
            me.last_read_id = message_id
            events.record(session, conversation_id=me.conversation_id, kind=events.READ,
                          data={"account_id": str(actor.id), "last_read_id": str(message_id)})
    return me


async def typing(session: AsyncSession, *, actor: Account, conversation_id: int | None) -> None:
    """"… is typing": sent to the members now, never stored or replayed."""
    await require_not_blocked(session, await membership(session, conversation_id=conversation_id,
                                                        account_id=actor.id))
    events.queue_signal(session, events.conversation_channel(conversation_id or 0), "chat.typing",
                        {"conversation_id": str(conversation_id), "account_id": str(actor.id)})


# --- reading ------------------------------------------------------------------------------------


async def inbox(
    session: AsyncSession, *, viewer_id: int, requests: bool, page: PageParams,
) -> Page[ConversationMember]:
    """The viewer's conversations (or message requests), most recently active first. A direct chat
    appears to the other side only once it has a message."""
    query = (select(ConversationMember).join(Conversation, Conversation.id == ConversationMember.conversation_id)
             .where(ConversationMember.account_id == viewer_id,
                    ConversationMember.state == ("request" if requests else "active"),
                    (Conversation.last_message_id.is_not(None)) | (Conversation.created_by_id == viewer_id)
                    | (Conversation.kind == "group")))
    rows = page.finish(list(await session.scalars(page.apply(query, Conversation.activity_id))))
    conversations = {c.id: c for c in await session.scalars(select(Conversation).where(
        Conversation.id.in_([m.conversation_id for m in rows])))}
    for member in rows:
        member.conversation = conversations[member.conversation_id]
    return Page.of(rows, [m.conversation.activity_id for m in rows])


async def members(session: AsyncSession, *, viewer_id: int, conversation_id: int | None
                  ) -> list[ConversationMember]:
    """Everyone who receives the conversation: owner first, then admins, then by joining."""
    await membership(session, conversation_id=conversation_id, account_id=viewer_id)
    rows = await session.scalars(select(ConversationMember).where(
        ConversationMember.conversation_id == conversation_id, ConversationMember.state.in_(RECEIVING_STATES),
    ))
    found = list(rows)
    accounts = {a.id: a for a in await session.scalars(select(Account).where(
        Account.id.in_([m.account_id for m in found])))}
    for member in found:
        member.account = accounts[member.account_id]
    found.sort(key=lambda m: (-_RANK[m.role], m.joined_at, m.id))
    return found


async def request_count(session: AsyncSession, *, viewer_id: int) -> int:
    """Message requests waiting (direct ones count once they carry a message)."""
    return await session.scalar(
        select(func.count()).select_from(ConversationMember)
        .join(Conversation, Conversation.id == ConversationMember.conversation_id)
        .where(ConversationMember.account_id == viewer_id, ConversationMember.state == "request",
               Conversation.last_message_id.is_not(None))) or 0


async def unread_total(session: AsyncSession, *, viewer_id: int) -> int:
    """Unread messages across the viewer's inbox, muted conversations left out (the nav badge)."""
    counts = await unread_counts(session, viewer_id=viewer_id, conversation_ids=None, inbox_only=True)
    return sum(counts.values())


async def unread_counts(
    session: AsyncSession, *, viewer_id: int, conversation_ids: list[int] | None, inbox_only: bool = False,
) -> dict[int, int]:
    """Messages from others after the viewer's read receipt, per conversation."""
    query = (select(ConversationMember.conversation_id, func.count(ChatMessage.id))
             .join(ChatMessage, (ChatMessage.conversation_id == ConversationMember.conversation_id)
                   & (ChatMessage.id > ConversationMember.last_read_id)
                   & (ChatMessage.seq >= ConversationMember.since_seq)
                   & (ChatMessage.account_id != viewer_id) & ChatMessage.deleted_at.is_(None)
                   & ChatMessage.kind.in_(("text", "payment")))
             .where(ConversationMember.account_id == viewer_id, ConversationMember.state.in_(RECEIVING_STATES))
             .group_by(ConversationMember.conversation_id))
    if conversation_ids is not None:
        query = query.where(ConversationMember.conversation_id.in_(conversation_ids))
    if inbox_only:
        query = query.where(ConversationMember.muted.is_(False), ConversationMember.state == "active")
    return {cid: count for cid, count in (await session.execute(query)).all()}
