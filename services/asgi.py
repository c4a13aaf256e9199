"""ASGI entry point for uvicorn/granian: `services.asgi:create` (a factory, so each worker reads settings)."""

from __future__ import annotations

from litestar import Litestar

from services.app import create_app
from services.settings import load_settings


def create() -> Litestar:
    return create_app(load_settings())
