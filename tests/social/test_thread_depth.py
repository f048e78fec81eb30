"""A reply chain thousands of posts deep (years of back-and-forth, or an import) still opens."""

from __future__ import annotations

import httpx

from agora.kit.ids import new_id
from agora.kit.runtime import Runtime
from agora.models import Status
from tests.factories import Member, post
from tests.web.pages import form_post, signed_in

DEPTH = 1500  # beyond Python's default recursion limit of 1,000


async def test_the_context_of_a_very_deep_reply_chain_lists_it_in_reading_order(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member) -> None:
    root = await post(client, alice, "Let us count to fifteen hundred, one reply at a time.")
    chain: list[int] = []
    async with runtime.db.transaction() as session:
        parent = int(root["id"])
        for n in range(1, DEPTH + 1):
            reply = Status(id=new_id(), account_id=int(bob.id if n % 2 else alice.id), text=str(n),
                           content=f"<p>{n}</p>", in_reply_to_id=parent)
            session.add(reply)
            chain.append(reply.id)
            parent = reply.id
    context = await client.get(f"/api/v1/statuses/{root['id']}/context", headers=alice.headers)
    assert context.status_code == 200
    assert [int(s["id"]) for s in context.json()["descendants"]] == chain

    browser = await signed_in(client, alice)
    assert (await browser.get(f"/@alice/{root['id']}")).status_code == 200
    summary = await form_post(browser, "/assistant", "/assistant", {"thread": root["id"]})
    assert summary.status_code == 200 and f"{DEPTH} replies from 2 members" in summary.text
