"""The public square: statuses, the social graph, timelines and notifications."""
