"""Mastodon's stream names, the bus channels behind each, and who may open them."""

from __future__ import annotations

from dataclasses import dataclass

from agora.accounts import scopes as scope_rules
from agora.accounts.auth import require_approved
from agora.accounts.oauth import Grant
from agora.kit.errors import Forbidden, Unauthorized, Unprocessable
from agora.social import events, timelines

PUBLIC_STREAMS = {"public", "public:local", "public:media", "public:local:media", "hashtag", "hashtag:local"}
USER_STREAMS = {"user", "user:notification", "chat"}  # chat: Agora's own, see agora.chat.delivery


@dataclass(frozen=True, slots=True)
class Stream:
    name: str
    tag: str | None = None

    @classmethod
    def parse(cls, name: str, tag: str | None) -> Stream:
        name = name.strip("/").replace("/", ":")
        if name not in PUBLIC_STREAMS | USER_STREAMS:
            raise Unprocessable(f"Unknown stream type: {name}")
        if name.startswith("hashtag"):
            if not tag or len(tag) > 100:
                raise Unprocessable("No tag for stream provided")
            return cls(name, tag.lstrip("#").casefold())
        return cls(name)

    def authorise(self, grant: Grant | None) -> int | None:
        """The viewer's account id (None for a signed-out public stream); refuses what is not allowed."""
        if grant is not None and grant.account is None and self.name in USER_STREAMS:
            raise Forbidden("This stream requires an authenticated user")
        if grant is not None and grant.account is not None:
            require_approved(grant.account)
        if self.name in USER_STREAMS:
            if grant is None:
                raise Unauthorized("Missing access token")
            needed = {"user:notification": "read:notifications", "chat": "read:chats"}.get(self.name, "read:statuses")
            if not scope_rules.allows(set(grant.scopes), needed):
                raise Forbidden("Access token does not have the required scopes")
        return grant.account.id if grant is not None and grant.account is not None else None

    def channels(self, viewer_id: int | None) -> list[str]:
        if self.name == "chat":  # its channels follow the viewer's conversations: the ChatFeed keeps them
            return []
        if self.name == "user" and viewer_id is not None:
            return [events.home_channel(viewer_id), events.notifications_channel(viewer_id)]
        if self.name == "user:notification" and viewer_id is not None:
            return [events.notifications_channel(viewer_id)]
        if self.tag is not None:
            return [events.hashtag_channel(self.tag)]
        return [events.PUBLIC_CHANNEL]

    def feed(self, viewer_id: int | None) -> timelines.Feed:
        """The timeline whose rule decides whether a post belongs on this stream for this viewer."""
        if self.name == "user" and viewer_id is not None:
            return timelines.home_feed(viewer_id)
        if self.tag is not None:
            return timelines.tag_feed(viewer_id, self.tag)
        return timelines.public_feed(viewer_id, only_media=self.name.endswith(":media"))

    def wire_name(self) -> list[str]:
        return [self.name, self.tag] if self.tag is not None else [self.name]
