"""Learned replies: the organisation's own proven replies, offered again when the same question recurs."""
