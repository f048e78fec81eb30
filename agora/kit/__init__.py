"""Shared building blocks every feature stands on; imports nothing from the features."""
