"""What a client or a browser learns about the server: instance metadata, the about page, metrics."""

from __future__ import annotations

from tests.factories import Member, post


async def test_instance_metadata_has_what_clients_read(client) -> None:
    v1 = (await client.get("/api/v1/instance")).json()
    assert v1["version"].startswith("4.5.0+agora")
    assert v1["urls"]["streaming_api"] == "ws://testserver"
    assert v1["configuration"]["statuses"]["max_characters"] == 500
    assert "image/webp" in v1["configuration"]["media_attachments"]["supported_mime_types"]
    v2 = (await client.get("/api/v2/instance/")).json()
    assert v2["api_versions"]["mastodon"] >= 1
    assert v2["configuration"]["urls"]["streaming"] == "ws://testserver"
    assert v2["registrations"]["enabled"] is True


async def test_about_page_shows_public_posts_only(client, alice: Member) -> None:
    await post(client, alice, "Hello, <world> & friends #intro")
    await post(client, alice, "for followers only", visibility="private")
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Hello, &lt;world&gt; &amp; friends" in page.text
    assert "for followers only" not in page.text


async def test_metrics_count_requests(client) -> None:
    await client.get("/api/v1/instance")
    metrics = (await client.get("/metrics")).text
    assert 'agora_http_requests_total{method="GET",route="/api/v1/instance",status="200"}' in metrics
    assert (await client.get("/health")).json() == {"status": "ok"}


async def test_unknown_route_is_a_json_404(client) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json() == {"error": "Record not found"}


async def test_a_parameter_sent_both_plain_and_as_an_array_is_read_as_a_list(client, alice: Member) -> None:
    response = await client.get("/api/v1/notifications?types=mention&types[]=follow", headers=alice.headers)
    assert response.status_code == 200
