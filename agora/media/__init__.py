"""Uploaded images: checked, re-encoded without metadata, previewed, stored under the data dir.

Sits beside `accounts` in the dependency order (it needs only kit and models), so profiles, posts
and later chat all use the same service.
"""
