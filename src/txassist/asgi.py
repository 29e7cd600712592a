"""ASGI entry point for multi-worker servers: ``uvicorn txassist.asgi:app``."""

from txassist.app import create_app

app = create_app()
