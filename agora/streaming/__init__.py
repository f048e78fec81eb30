"""The streaming gateway: Mastodon's SSE and WebSocket streams, fed by the event bus."""
