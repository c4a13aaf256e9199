"""Event jobs, one module per feature. Every module in this package is imported when the worker starts,
so a module's `@job` functions (workers/registry.py) and `@scheduling.handler` task handlers register
themselves; route them to event types in workers/routes.py.
"""

from __future__ import annotations

import importlib
import pkgutil

from workers.registry import JOBS, JobSpec


def load_all() -> dict[str, JobSpec]:
    """Import every job module here and return the registry."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}")
    return JOBS
