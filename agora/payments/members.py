"""Who may pay whom: the counterparty of a payment, named by id or `acct`, is a public member who
has not blocked the payer (nor been blocked by them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.service import get_account, get_account_by_username
from agora.kit.errors import NotFound
from agora.kit.ids import parse_id
from agora.models import Account
from agora.payments.errors import invalid, missing, not_allowed
from agora.social.notifications import notify
from agora.social.visibility import blocked_either_way


async def counterparty(session: AsyncSession, *, payer_id: int, to: Any, param: str = "to") -> Account:
    """The member `to` names: an account id, or an `acct` (`alice` or `@alice`)."""
    if isinstance(to, int) and not isinstance(to, bool):
        to = str(to)
    if not isinstance(to, str) or not to.strip():
        raise invalid(f"{param} must name a member: an account id or username", param=param)
    raw = to.strip().removeprefix("@")
    try:
        if (account_id := parse_id(raw)) is not None:
            account = await get_account(session, account_id=account_id)
        else:
            account = await get_account_by_username(session, username=raw.split("@", 1)[0])
    except NotFound:
        raise missing("member") from None
    if account.id == payer_id:
        raise invalid("You cannot pay yourself", param=param, code="same_account")
    if account.id in set(await session.scalars(blocked_either_way(payer_id))):
        raise not_allowed("You cannot move money with this member", code="account_blocked")
    return account


async def notify_payment(session: AsyncSession, *, recipient_id: int, actor_id: int, kind: str, payment_id: int
                         ) -> None:
    """A payment notification (payment_received, payment_requested, payment_returned)."""
    await notify(session, recipient_id=recipient_id, actor_id=actor_id, kind=kind, payment_id=payment_id)
