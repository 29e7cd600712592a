"""Suggested replies and summaries, grounded in retrieved knowledge, behind interchangeable backends."""
