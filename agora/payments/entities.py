"""The payments API's objects, shaped as Stripe's: string ids, an `object` name, integer minor units,
`created` in Unix seconds, and `livemode` false while the sandbox provider funds the wallet."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.entities import account_json
from agora.config import Settings
from agora.kit.money import format_amount
from agora.models import Account, Hold, JournalEntry, PaymentRequest, Posting, RedPacket, Transfer
from agora.payments.funding import provider_for
from agora.payments.ledger import Balance


def unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _sid(value: int | None) -> str | None:
    return None if value is None else str(value)


async def accounts_by_id(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Account]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {a.id: a for a in await session.scalars(select(Account).where(Account.id.in_(wanted)))}


def _party(accounts: dict[int, Account], account_id: int | None, settings: Settings) -> dict[str, Any] | None:
    account = accounts.get(account_id) if account_id is not None else None
    return account_json(account, settings) if account is not None else None


def livemode(settings: Settings) -> bool:
    return provider_for(settings).livemode


def wallet_json(balances: list[Balance], settings: Settings, *, has_pin: bool) -> dict[str, Any]:
    shown = {b.currency: b for b in balances}
    shown.setdefault(settings.default_currency, Balance(settings.default_currency, 0, 0))
    return {
        "object": "wallet",
        "livemode": livemode(settings),
        "funding_provider": settings.funding_provider,
        "default_currency": settings.default_currency.lower(),
        "currencies": [c.lower() for c in settings.currencies],
        "available": [{"amount": b.available, "currency": b.currency.lower()} for b in shown.values()],
        "held": [{"amount": b.held, "currency": b.currency.lower()} for b in shown.values()],
        "pin_set": has_pin,
        "limits": {"per_payment": settings.payments_max_transfer, "per_day": settings.payments_daily_limit,
                   "pin_above": settings.payments_pin_threshold},
    }


def transfer_json(transfer: Transfer, accounts: dict[int, Account], settings: Settings, *, viewer_id: int
                  ) -> dict[str, Any]:
    return {
        "id": str(transfer.id),
        "object": "transfer",
        "type": transfer.kind,
        "status": transfer.status,
        "direction": "out" if transfer.sender_id == viewer_id else "in",
        "amount": transfer.amount,
        "amount_refunded": transfer.amount_refunded,
        "currency": transfer.currency.lower(),
        "display_amount": format_amount(transfer.amount, transfer.currency),
        "note": transfer.note,
        "emoji": transfer.emoji,
        "sender": _party(accounts, transfer.sender_id, settings),
        "recipient": _party(accounts, transfer.recipient_id, settings),
        "payment_request": _sid(transfer.request_id),
        "conversation_id": _sid(transfer.conversation_id),
        "message_id": _sid(transfer.message_id),
        "created": unix(transfer.created_at),
        "expires_at": unix(transfer.expires_at),
        "resolved_at": unix(transfer.resolved_at),
        "livemode": livemode(settings),
    }


async def render_transfers(session: AsyncSession, transfers: list[Transfer], settings: Settings, *, viewer_id: int
                           ) -> list[dict[str, Any]]:
    accounts = await accounts_by_id(session, [i for t in transfers for i in (t.sender_id, t.recipient_id)])
    return [transfer_json(t, accounts, settings, viewer_id=viewer_id) for t in transfers]


async def render_transfer(session: AsyncSession, transfer: Transfer, settings: Settings, *, viewer_id: int
                          ) -> dict[str, Any]:
    return (await render_transfers(session, [transfer], settings, viewer_id=viewer_id))[0]


def balance_transaction_json(posting: Posting, entry: JournalEntry, accounts: dict[int, Account],
                             settings: Settings) -> dict[str, Any]:
    return {
        "id": str(posting.id),
        "object": "balance_transaction",
        "type": entry.kind,
        "amount": posting.amount,
        "currency": posting.currency.lower(),
        "balance_after": posting.balance_after,
        "description": entry.memo,
        "counterparty": _party(accounts, posting.counterparty_id, settings),
        "source": _sid(entry.reference_id),
        "created": unix(posting.created_at),
    }


def payment_request_json(found: PaymentRequest, accounts: dict[int, Account], settings: Settings
                         ) -> dict[str, Any]:
    return {
        "id": str(found.id),
        "object": "payment_request",
        "status": found.status,
        "amount": found.amount,
        "currency": found.currency.lower(),
        "display_amount": format_amount(found.amount, found.currency),
        "note": found.note,
        "requester": _party(accounts, found.requester_id, settings),
        "payer": _party(accounts, found.payer_id, settings),
        "split": _sid(found.split_id),
        "transfer": _sid(found.transfer_id),
        "reminders": found.reminders,
        "created": unix(found.created_at),
        "resolved_at": unix(found.resolved_at),
    }


def hold_json(hold: Hold, accounts: dict[int, Account], settings: Settings) -> dict[str, Any]:
    return {
        "id": str(hold.id),
        "object": "hold",
        "status": hold.status,
        "amount": hold.amount,
        "amount_captured": hold.amount_captured,
        "currency": hold.currency.lower(),
        "description": hold.description,
        "payer": _party(accounts, hold.payer_id, settings),
        "payee": _party(accounts, hold.payee_id, settings),
        "created": unix(hold.created_at),
        "expires_at": unix(hold.expires_at),
        "resolved_at": unix(hold.resolved_at),
        "livemode": livemode(settings),
    }


def red_packet_json(packet: RedPacket, accounts: dict[int, Account], settings: Settings, *,
                    claims: list[dict[str, Any]], viewer_id: int) -> dict[str, Any]:
    mine = next((c["amount"] for c in claims if c["account_id"] == str(viewer_id)), None)
    return {
        "id": str(packet.id),
        "object": "red_packet",
        "status": packet.status,
        "mode": packet.mode,
        "amount": packet.amount,
        "currency": packet.currency.lower(),
        "count": packet.count,
        "claimed_count": packet.claimed_count,
        "amount_claimed": packet.amount_claimed,
        "note": packet.note,
        "sender": _party(accounts, packet.sender_id, settings),
        "conversation_id": str(packet.conversation_id),
        "message_id": _sid(packet.message_id),
        # What each opener got shows once the packet is done (WeChat's "best luck" reveal); your own at once.
        "claims": claims if packet.status != "open" or packet.sender_id == viewer_id else [],
        "my_amount": mine,
        "created": unix(packet.created_at),
        "expires_at": unix(packet.expires_at),
    }
