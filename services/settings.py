"""Configuration, read once from the environment (and an optional `.env`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec

ENV_PREFIX = "LEERKRING_"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the processes need to know; unset service URLs mean "use the embedded default"."""

    database_url: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    # Signs participant links and tokens; `leerkring run` makes one under var/ when none is configured.
    secret_key: str = ""
    mail_from: str = "Leerkring <noreply@leerkring.local>"
    var_dir: Path = Path("var")
    db_pool_min: int = 2
    db_pool_max: int = 10
    # Seconds a request waits for a pooled connection before it is answered 503 with Retry-After.
    db_acquire_timeout: float = 10.0
    max_body_bytes: int = 1_048_576
    # Exactly one of these: anything else (a typo such as "prod") refuses to start rather than running half-open.
    # The production image sets "production"; /dev/mail and the embedded servers exist only in "development".
    environment: Literal["development", "production"] = "development"
    # Webhooks go only to public addresses; a developer may let them reach their own machine (never in production).
    webhook_allow_private: bool = False
    # Seconds an idle HTTP keep-alive connection stays open: longer than a load balancer's idle timeout (often 60 s),
    # so the balancer closes first and never sends a request on a connection the API is closing.
    keep_alive_timeout: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 75
    # DEBUG, INFO, WARNING or ERROR for every process; arq's line per job start and end only with log_jobs.
    log_level: str = "INFO"
    log_jobs: bool = False
    # One JSON object per line (services/observe/logs.py) or plain text; "auto": JSON in production, text otherwise.
    log_format: Literal["auto", "text", "json"] = "auto"
    # When set, GET /metrics wants `Authorization: Bearer <this>` (services/observe/controllers.py).
    metrics_token: str = ""
    # OpenTelemetry traces to this OTLP/HTTP collector (http://collector:4318); unset: no tracing.
    otel_endpoint: str = ""
    # Participant links: sign-in links are single-use and short-lived; manage links (in every mail) last this many
    # days from the mail that carried them; a registration asked for without proof lapses if not confirmed.
    signin_link_hours: int = 4
    manage_link_days: int = 90
    confirm_link_hours: int = 48
    # Where calendar programs send their "accept/decline" replies (iTIP REPLY), when a mailbox reads them. Unset:
    # invitations say RSVP=FALSE and point to the links in the mail, instead of letting "accept" mail noreply.
    reply_address: str = ""
    # Multiplies every rate limit (services/ratelimit.py); 0 turns them off, e.g. for a load test from one address.
    rate_limit_scale: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    # Invitations one organising body may mail in 24 hours unless an admin set its own quota
    # (PUT /api/v1/organisations/{code}/mail-quota). DESIGN's largest fan-out is 50,000.
    mail_quota_per_day: Annotated[int, msgspec.Meta(ge=0)] = 60_000
    # Update mails after a change of time or place wait this many seconds for further edits (each edit restarts the
    # wait), but never longer than update_mail_max_delay after the first edit of the burst. 60 s covers the usual
    # burst (time, then the venue, then a typo) while invitees still hear within about a minute; 10 minutes caps an
    # organiser who keeps editing. The meeting's API answer shows the pending mail (`pending_update`).
    update_mail_debounce: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 60
    update_mail_max_delay: Annotated[int, msgspec.Meta(ge=0, le=86_400)] = 600
    # Funder reports: a cell with fewer than this many people shows "<k"; counts move by at most `report_noise`
    # (cell-key perturbation against differencing). 0 switches the noise off: for tests only, never in production.
    report_min_cell: Annotated[int, msgspec.Meta(ge=2, le=100)] = 5
    report_noise: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2
    # Retention (services/retention): inactive participants lose name and address after this many months; mail and
    # invitation logs go this many months after the send or the meeting; webhook response bodies after these days;
    # open evaluation answers (free text) this many months after the form closed, the figures kept.
    retention_participant_months: Annotated[int, msgspec.Meta(ge=1, le=240)] = 24
    retention_delivery_months: Annotated[int, msgspec.Meta(ge=1, le=240)] = 12
    retention_webhook_body_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30
    retention_evaluation_text_months: Annotated[int, msgspec.Meta(ge=1, le=240)] = 6

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def webhooks_may_reach_private(self) -> bool:
        return self.webhook_allow_private and not self.is_production


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_settings(environ: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Build Settings from LEERKRING_* variables; the process environment wins over `.env`."""
    source = _read_dotenv(dotenv) if dotenv is not None else {}
    source.update(os.environ if environ is None else environ)
    fields = {f.name for f in msgspec.structs.fields(Settings)}
    raw: dict[str, object] = {}
    for key, value in source.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name in fields and value != "":
            raw[name] = value
    return msgspec.convert(raw, Settings, strict=False, dec_hook=_decode)


def _decode(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)
