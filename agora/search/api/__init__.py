"""Mastodon client API routes for search and discovery."""
