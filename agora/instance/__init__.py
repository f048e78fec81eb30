"""What this server is: Mastodon's instance metadata, read by every client on connect."""
