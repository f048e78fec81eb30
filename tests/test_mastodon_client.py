"""Mastodon.py — a real, unmodified Mastodon client library — against a live Agora server."""

from __future__ import annotations

import io
import threading
import time

import pytest
from mastodon import Mastodon, StreamListener
from PIL import Image

SCOPES = ["read", "write", "follow"]


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 60, 90)).save(out, "PNG")
    return out.getvalue()


class Collector(StreamListener):
    def __init__(self) -> None:
        self.updates: list = []
        self.notifications: list = []
        self.arrived = threading.Event()

    def on_update(self, status) -> None:
        self.updates.append(status)
        self.arrived.set()

    def on_notification(self, notification) -> None:
        self.notifications.append(notification)


@pytest.fixture
def app_credentials(live_server):
    return Mastodon.create_app("agora-tests", api_base_url=live_server.url, scopes=SCOPES)


def register(live_server, credentials, username: str) -> Mastodon:
    client_id, client_secret = credentials
    client = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url)
    client.create_account(username, f"{username}-password-1", f"{username}@example.org", agreement=True,
                          scopes=SCOPES)
    return client


def log_in(live_server, credentials, login: str, password: str) -> Mastodon:
    client_id, client_secret = credentials
    client = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url)
    client.log_in(login, password, scopes=SCOPES, allow_http=True)
    return client


def test_a_member_journey_through_mastodon_py(live_server, app_credentials) -> None:
    register(live_server, app_credentials, "ana")
    register(live_server, app_credentials, "ben")
    ana = log_in(live_server, app_credentials, "ana@example.org", "ana-password-1")  # e-mail, as Mastodon
    ben = log_in(live_server, app_credentials, "ben", "ben-password-1")  # or the username
    assert ana.retrieve_mastodon_version().startswith("4.")
    ana_me, ben_me = ana.me(), ben.me()
    assert (ana_me.username, ben_me.username) == ("ana", "ben")

    # Ben follows Ana, and listens to his home stream.
    ben.account_follow(ana_me.id)
    collector = Collector()
    handle = ben.stream_user(collector, run_async=True, reconnect_async=False)
    try:
        time.sleep(0.5)  # let the stream subscribe before the post is made
        posted_at = time.monotonic()
        first = ana.status_post("Morning everyone! #coffee time, @ben?")
        assert collector.arrived.wait(5), "the update did not arrive over stream_user"
        assert time.monotonic() - posted_at < 5
        assert collector.updates[0].id == first.id
    finally:
        handle.close()

    assert [t.name for t in first.tags] == ["coffee"]
    assert [m.username for m in first.mentions] == ["ben"]

    reply = ben.status_post("@ana always", in_reply_to_id=first.id)
    assert reply.in_reply_to_id == first.id
    edited = ana.status_update(first.id, "Morning everyone! #coffee time, @ben? (edited)")
    assert edited.edited_at is not None
    assert len(ana.status_history(first.id)) == 2
    quote = ben.status_post("Best way to start the day", quoted_status_id=first.id)
    assert quote.quote.quoted_status.id == first.id
    assert ben.status_favourite(first.id).favourited
    assert ben.status_reblog(first.id).reblog.id == first.id
    context = ana.status_context(first.id)
    assert [s.id for s in context.descendants] == [reply.id]

    # Media: upload, describe, attach.
    media = ana.media_post(png_bytes(), mime_type="image/png", description="A pink rectangle")
    ana.media_update(media.id, description="A pink rectangle, 800 by 600")
    with_image = ana.status_post("Look at this", media_ids=[media.id])
    assert with_image.media_attachments[0].description == "A pink rectangle, 800 by 600"
    assert with_image.media_attachments[0].url.startswith(live_server.url)

    # A locked account gets a follow request instead of a follower.
    carla = register(live_server, app_credentials, "carla")
    carla.account_update_credentials(locked=True)
    relationship = ana.account_follow(carla.me().id)
    assert relationship.requested and not relationship.following
    requests = carla.follow_requests()
    assert [a.username for a in requests] == ["ana"]
    carla.follow_request_authorize(requests[0].id)
    assert ana.account_relationships(carla.me().id)[0].following

    # Ana's notifications: mention (from the reply), quote, favourite, reblog, follow.
    kinds = {n.type for n in ana.notifications()}
    assert {"mention", "quote", "favourite", "reblog", "follow"} <= kinds

    # Ben reads his home timeline across several pages with fetch_next.
    for i in range(12):
        ana.status_post(f"note {i} #paging")
    page = ben.timeline_home(limit=5)
    seen = [s.id for s in page]
    while (page := ben.fetch_next(page)) is not None and len(page):
        seen.extend(s.id for s in page)
    assert len(seen) == len(set(seen)), "a status came twice across pages"
    assert len(seen) >= 12 + 4
    assert seen == sorted(seen, reverse=True)
    tagged = ben.timeline_hashtag("paging", limit=40)
    assert len(tagged) == 12
