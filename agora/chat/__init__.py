"""Chat: direct and group conversations, delivered live and exactly once by cursor."""
