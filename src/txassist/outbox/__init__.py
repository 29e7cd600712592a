"""Transactional outbox: signals become CloudEvents, delivered at least once to the TX store."""
