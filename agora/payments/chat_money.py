"""Money in a chat: a transfer card the recipient accepts (or declines), which returns to the sender if
nobody accepts it in time (24 h by default, as WeChat's).

The card is a chat message of kind `payment` whose `action` says what it is and where it stands;
the money waits in the sender's held balance (see `transfers.send_pending`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat import conversations
from agora.chat.messages import add_payment_card
from agora.config import Settings
from agora.kit.errors import NotFound
from agora.kit.money import format_amount
from agora.models import Account, ConversationMember, Transfer
from agora.payments import transfers
from agora.payments.errors import invalid, missing
from agora.payments.members import counterparty

TRANSFER_CARD = "transfer"


async def _recipient(session: AsyncSession, sender: Account, member: ConversationMember, to: Any) -> Account:
    """In a direct chat, the other member; in a group, the member `to` names (who must be in it)."""
    if member.conversation.kind == "direct" and to in (None, ""):
        other = await session.scalar(select(ConversationMember.account_id).where(
            ConversationMember.conversation_id == member.conversation_id,
            ConversationMember.account_id != sender.id))
        if other is None:
            raise missing("member")
        to = str(other)
    if to in (None, ""):
        raise invalid("In a group, say whom the transfer is for (to)", param="to")
    recipient = await counterparty(session, payer_id=sender.id, to=to)
    try:
        await conversations.membership(session, conversation_id=member.conversation_id, account_id=recipient.id)
    except NotFound:
        raise invalid("The recipient is not in this chat", param="to", code="not_in_chat") from None
    return recipient


async def send_in_chat(session: AsyncSession, settings: Settings, *, sender: Account, conversation_id: int,
                       to: Any, amount: int, currency: str, note: str, emoji: str) -> Transfer:
    member = await conversations.membership(session, conversation_id=conversation_id, account_id=sender.id)
    recipient = await _recipient(session, sender, member, to)
    card = {"type": TRANSFER_CARD, "amount": amount, "currency": currency.lower(), "note": note, "emoji": emoji,
            "recipient_id": str(recipient.id), "status": "pending"}
    message, _ = await add_payment_card(session, sender_id=sender.id, conversation_id=conversation_id,
                                        action=card, text=f"{emoji or '💸'} {format_amount(amount, currency)}")
    transfer = await transfers.send_pending(session, settings, sender=sender, recipient=recipient, amount=amount,
                                            currency=currency, note=note, emoji=emoji,
                                            conversation_id=conversation_id, message_id=message.id)
    message.action = {**card, "id": str(transfer.id), "expires_at": int(transfer.expires_at.timestamp())
                      if transfer.expires_at else None}
    await session.flush()
    return transfer

