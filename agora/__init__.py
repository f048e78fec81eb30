"""Agora: an open, self-hostable everything app."""

__version__ = "0.1.0"
# The Mastodon API level we speak; clients such as Mastodon.py parse this to decide which calls exist.
MASTODON_COMPAT_VERSION = "4.5.0"
