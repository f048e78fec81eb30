"""Mastodon client API routes for the public square."""
