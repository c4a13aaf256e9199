"""`GET /metrics`: Prometheus text format, for the scraper inside the cluster, never for the public.

The route is left out of the OpenAPI document. When LEERKRING_METRICS_TOKEN is set, scrapes must send it as a bearer
token (the figures hold nothing personal, but they are nobody else's business either); deploy/README.md also keeps
/metrics off the public ingress.
"""

from __future__ import annotations

import hmac

from litestar import Controller, Request, Response, get
from litestar.datastructures import State

from services.errors import NotAuthenticated
from services.observe import metrics
from services.observe.state import backbone


class MetricsController(Controller):
    include_in_schema = False

    @get("/metrics")
    async def scrape(self, request: Request[object, object, State], state: State) -> Response[bytes]:
        """This process's counters (all of `leerkring api --workers N`'s in multiprocess mode), then the backbone's
        state read now: outbox lag, queue depth, jobs pending, scheduled work due and late."""
        wanted = state.settings.metrics_token
        if wanted:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {wanted}".encode()):
                raise NotAuthenticated("Geef het metrics-token mee: Authorization: Bearer …")
        figures = await backbone(state.pool, state.redis)
        return Response(metrics.exposition(figures), media_type=metrics.CONTENT_TYPE)
