"""A member's choice whether the community model may learn from their public posts: in the web
settings and through the Mastodon API (an Agora extension), following the operator's default until
the member chooses."""

from __future__ import annotations

import re

import httpx

from agora.kit.runtime import Runtime
from agora.models import Account
from tests.conftest import app_client, make_settings
from tests.factories import Member, make_member
from tests.web.pages import form_post, signed_in

BOX = re.compile(r'<input type="checkbox" name="ai_training" value="1"( checked)?')


async def effective(client: httpx.AsyncClient, who: Member) -> bool:
    answer = await client.get("/api/v1/accounts/verify_credentials", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["source"]["ai_training"]


async def stored(runtime: Runtime, who: Member) -> bool | None:
    async with runtime.db.transaction(write=False) as session:
        return (await session.get(Account, int(who.id))).ai_training


async def test_the_api_shows_and_changes_the_choice(client: httpx.AsyncClient, runtime: Runtime, alice: Member) -> None:
    assert await effective(client, alice) is True  # the operator's default: nobody chose yet
    assert await stored(runtime, alice) is None
    changed = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                 data={"ai_training": "false"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["source"]["ai_training"] is False
    assert await effective(client, alice) is False and await stored(runtime, alice) is False
    # JSON too; and another change leaves the choice alone.
    await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, json={"ai_training": True})
    await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, json={"display_name": "Al"})
    assert await effective(client, alice) is True and await stored(runtime, alice) is True


async def test_the_api_refuses_a_choice_that_is_not_yes_or_no(client: httpx.AsyncClient, alice: Member) -> None:
    refused = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                 json={"ai_training": "perhaps"})
    assert refused.status_code == 422 and "ai_training" in refused.json()["error"]
    assert await effective(client, alice) is True


async def test_the_operator_default_applies_until_the_member_chooses(database_url: str, tmp_path) -> None:
    settings = make_settings(database_url, tmp_path / "data", ai_training_default=False)
    async with app_client(settings) as (client, runtime):
        olga = await make_member(runtime, "olga")
        assert await effective(client, olga) is False
        await client.patch("/api/v1/accounts/update_credentials", headers=olga.headers, json={"ai_training": True})
        assert await effective(client, olga) is True


async def test_the_preferences_page_has_the_box(client: httpx.AsyncClient, runtime: Runtime, alice: Member) -> None:
    await signed_in(client, alice)
    page = await client.get("/settings/preferences")
    assert "Let the community model learn from my public posts" in page.text
    assert "never direct messages, chats" in page.text
    assert BOX.search(page.text).group(1)  # ticked: the operator's default is yes

    # Saving the page as shown is not an answer: the member still follows the operator's default.
    sent = await form_post(client, "/settings/preferences", "/settings/preferences", {
        "default_visibility": "unlisted", "locale": "auto", "ai_training": "1"})
    assert sent.status_code == 303
    assert await stored(runtime, alice) is None

    # Unticking it is: the member is out, whatever the default, and the page shows it.
    sent = await form_post(client, "/settings/preferences", "/settings/preferences", {
        "default_visibility": "unlisted", "locale": "auto"})
    assert sent.status_code == 303
    assert await stored(runtime, alice) is False and await effective(client, alice) is False
    assert not BOX.search((await client.get("/settings/preferences")).text).group(1)

    sent = await form_post(client, "/settings/preferences", "/settings/preferences", {
        "default_visibility": "public", "locale": "auto", "ai_training": "1"})
    assert await stored(runtime, alice) is True
