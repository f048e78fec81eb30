"""Members with tokens, made through the real services (no HTTP round trips, no mocks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from agora.accounts import oauth, service
from agora.accounts.secrets import Passwords
from agora.kit.runtime import Runtime

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Member:
    id: str
    username: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MEMBER_SCOPES = ("read", "write", "follow", "read:payments", "write:payments")


async def make_member(runtime: Runtime, username: str, *, locked: bool = False,
                      scopes: tuple[str, ...] = MEMBER_SCOPES) -> Member:
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        account = await service.register(
            session, form=service.Registration(username, f"{username}@example.org", PASSWORD), settings=settings,
            passwords=Passwords.for_settings(settings),
            by_operator=True,
        )
        account.locked = locked
        issued = await oauth.issue_token(session, app=None, account=account, scopes=list(scopes))
    return Member(str(account.id), username, account.email or "", issued.access_token)


async def post(client: httpx.AsyncClient, who: Member, text: str, **fields: Any) -> dict[str, Any]:
    """Post as `who` through the API; the test fails here if the post is refused."""
    response = await client.post("/api/v1/statuses", headers=who.headers, json={"status": text, **fields})
    assert response.status_code == 200, response.text
    return response.json()
