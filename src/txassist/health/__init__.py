"""Liveness, readiness and service info."""
