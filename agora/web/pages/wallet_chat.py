"""Money in chat, in the browser: send money in a conversation (a card the recipient accepts or
declines), a red packet, and the card buttons (accept, decline, open). Each form carries a one-time
key and goes through the keyed `run_once`, so a double click moves money once; each answer goes
back to the conversation, at the card."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat import conversations
from agora.kit.errors import AgoraError, NotFound
from agora.kit.http import path_id
from agora.kit.runtime import runtime_of
from agora.models import Account, ConversationMember
from agora.payments import chat_money, guard, red_packets, transfers
from agora.payments.api.transfers import checked_payment_emoji
from agora.web import forms, wallet_data
from agora.web.forms import FieldErrors
from agora.web.pages.wallet import LIMITED
from agora.web.render import is_htmx, page, prepare
from agora.web.session import Viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])
KINDS = ("money", "red_packet")


def _back(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _others(session: AsyncSession, conversation_id: int, viewer_id: int) -> list[Account]:
    query = (select(Account).join(ConversationMember, ConversationMember.account_id == Account.id)
             .where(ConversationMember.conversation_id == conversation_id, ConversationMember.account_id != viewer_id)
             .order_by(Account.username))
    return list(await session.scalars(query))


async def _form_page(request: Request, viewer: Viewer, conversation_id: int, kind: str, *,
                     form: dict[str, str] | None = None, errors: FieldErrors | None = None,
                     status: int = 200) -> Response:
    settings = runtime_of(request).settings
    async with runtime_of(request).db.transaction(write=False) as session:
        me = await conversations.membership(session, conversation_id=conversation_id, account_id=viewer.id)
        others = await _others(session, conversation_id, viewer.id)
    return await page(request, "wallet_chat_send.html", {
        "kind": kind, "conversation_id": conversation_id, "group": me.conversation.kind == "group", "others": others,
        "form": form or {}, "errors": errors or {}, "key": (form or {}).get("key") or forms.new_key(),
        "example": wallet_data.example_amount(settings.default_currency),
        "pin_above": wallet_data.money(settings.payments_pin_threshold, settings.default_currency)}, status=status)


@router.get("/chat/{conversation_id}/{kind}")
async def send_page(request: Request, conversation_id: str, kind: str,
                    viewer: Viewer = Depends(require_viewer)) -> Response:
    if kind not in KINDS:
        raise NotFound()
    return await _form_page(request, viewer, path_id(conversation_id), kind)


@router.post("/web/chat/{conversation_id}/{kind}", dependencies=LIMITED)
async def send(request: Request, conversation_id: str, kind: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    if kind not in KINDS:
        raise NotFound()
    target = path_id(conversation_id)
    raw = await request.form()
    runtime = runtime_of(request)
    settings = runtime.settings
    form = {n: forms.text(raw, n, limit=1000) for n in ("to", "amount", "currency", "note", "emoji", "count",
                                                         "mode", "key")}
    errors: FieldErrors = {}
    currency = wallet_data.read_currency(form["currency"], settings, errors)
    amount = wallet_data.read_amount(form["amount"], currency, errors)
    if errors or amount is None:
        return await _form_page(request, viewer, target, kind, form=form, errors=errors, status=422)
    try:
        note = transfers.checked_note(form["note"])
        count, mode = 1, "random"
        if kind == "red_packet":
            count, mode = red_packets.checked_shape(settings, amount=amount, count=form["count"] or "1",
                                                    mode=form["mode"] or "random")
        emoji = checked_payment_emoji(form["emoji"]) if kind == "money" else ""
        await guard.check_pin(runtime.db, settings, account_id=viewer.id, pin=forms.text(raw, "pin", limit=20),
                              amount=amount, currency=currency)

        async def work(session: AsyncSession) -> dict[str, Any]:
            sender = await session.get_one(Account, viewer.id)
            if kind == "money":
                made: Any = await chat_money.send_in_chat(session, settings, sender=sender, conversation_id=target,
                                                          to=form["to"] or None, amount=amount, currency=currency,
                                                          note=note, emoji=emoji)
            else:
                made = await red_packets.create(session, settings, sender=sender, conversation_id=target,
                                                amount=amount, currency=currency, count=count, mode=mode, note=note)
            return {"id": str(made.id), "message_id": str(made.message_id)}

        body = await wallet_data.run_keyed(request, viewer, operation=f"web.chat_{kind}.{target}", key=form["key"],
                                           params={k: v for k, v in form.items() if k != "key"}, work=work)
    except AgoraError as error:
        wallet_data.refused(error, settings, currency, errors)
        return await _form_page(request, viewer, target, kind, form=form, errors=errors, status=422)
    return _back(request, f"/chat/{target}#msg-{body['message_id']}")


async def _card_action(request: Request, viewer: Viewer, operation: str,
                       act: Any) -> Response:
    """Run `act(session) -> (conversation_id, message_id)` once per form key; back to the card."""
    raw = await request.form()
    settings = runtime_of(request).settings

    async def work(session: AsyncSession) -> dict[str, Any]:
        conversation_id, message_id = await act(session)
        return {"id": "0", "conversation_id": str(conversation_id), "message_id": str(message_id)}

    try:
        body = await wallet_data.run_keyed(request, viewer, operation=operation, key=forms.text(raw, "key", limit=100),
                                           params={}, work=work)
    except AgoraError as error:  # shown as the error page (or a toast), in the reader's language
        error.message = wallet_data.worded(error, settings, settings.default_currency)
        raise
    return _back(request, f"/chat/{body['conversation_id']}#msg-{body['message_id']}")


@router.post("/web/wallet/transfers/{transfer_id}/{action}", dependencies=LIMITED)
async def answer_transfer(request: Request, transfer_id: str, action: str,
                          viewer: Viewer = Depends(require_viewer)) -> Response:
    """Accept or decline a transfer sent to you in a chat."""
    if action not in ("accept", "decline"):
        raise NotFound()
    target = path_id(transfer_id)
    resolve = transfers.accept if action == "accept" else transfers.decline

    async def act(session: AsyncSession) -> tuple[int | None, int | None]:
        done = await resolve(session, viewer_id=viewer.id, transfer_id=target)  # updates the chat card too
        return done.conversation_id, done.message_id

    return await _card_action(request, viewer, f"transfers.{action}.{target}", act)


@router.post("/web/wallet/red_packets/{packet_id}/open", dependencies=LIMITED)
async def open_packet(request: Request, packet_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    target = path_id(packet_id)

    async def act(session: AsyncSession) -> tuple[int | None, int | None]:
        packet, _share = await red_packets.open_packet(session, viewer_id=viewer.id, packet_id=target)
        return packet.conversation_id, packet.message_id

    return await _card_action(request, viewer, f"red_packets.open.{target}", act)
