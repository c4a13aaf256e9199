"""A year of meetings at DESIGN scale, bulk-inserted, and the size of every kind of feed over it.

Used by tests/integration/test_feeds_scale.py (each feed kind stays under the limit) and bench/bench_feeds.py
--sizes (the figures in bench/README.md).

The model, stated so the windows in services/feeds/windows.py can be checked against it:

* 5,000 meetings a year, all held in the 42 weeks outside the school holidays: 120 a week, taken as the rate all
  year round (stricter than 5,000 spread over 52 weeks), from 5 weeks back to 53 weeks ahead.
* Texts as organisers write them: titles of 30-90 characters with the odd emoji, descriptions of 80-900
  characters (cut at 500 in feeds), a venue for 80 %, an online link for 30 %, 4 % cancelled.
* Themes: one each, the largest theme on 30 % of the meetings, and a second theme on 20 %.
* Professional groups: half the meetings are for every group, the rest for one (Wmo-consulent on 30 % of those).
* Audience: 60 % for every organisation, 20 % for one province, 10 % one safety region, 10 % one municipality.
* Bodies: VNG organises 60 %, BZK and the A&O fonds 20 % each; the A&O fonds funds 30 %, BZK 20 %.

Meetings and their fragments go in with COPY; each fragment is rendered by the real renderer
(services.feeds.fragments.render_fragment), just not through the job (which would take a transaction each).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.db import Connection, Pool
from services.feeds import personal, service
from services.feeds.cache import FeedCache
from services.feeds.fragments import render_fragment
from services.feeds.queries import MeetingSource, NewFragment

PER_WEEK = 120
FROM_WEEKS = -5
TO_WEEKS = 53
REGISTRATIONS = 60  # one busy participant: more than anybody attends in a year
THEMES = [
    ("de-bedoeling", "De bedoeling", 30),
    ("vraagverheldering", "Vraagverheldering", 20),
    ("netwerkend-werken", "Netwerkend werken", 15),
    ("zelfsturende-teams", "Zelfsturende teams", 15),
    ("integraal-werken", "Integraal werken", 10),
    ("bestaanszekerheid", "Bestaanszekerheid", 10),
]
GROUPS = [
    ("wmo-consulent", 30),
    ("jeugdconsulent", 20),
    ("wijkteammedewerker", 15),
    ("beleidsmedewerker", 10),
    ("leidinggevende", 10),
    ("hr-adviseur", 5),
    ("participatieconsulent", 5),
    ("schuldhulpverlener", 5),
]
ORGANISERS = [("VNG", 60), ("BZK", 20), ("AOF", 20)]
FUNDERS = [(None, 50), ("AOF", 30), ("BZK", 20)]
BODY_NAMES = {
    "VNG": "Vereniging van Nederlandse Gemeenten",
    "BZK": "Ministerie van Binnenlandse Zaken en Koninkrijksrelaties",
    "AOF": "A&O fonds Gemeenten",
}
WORDS = [
    "casuïstiek",
    "vraagverheldering",
    "zorg",
    "jeugd",
    "wijkteam",
    "gemeente",
    "samenwerking",
    "ervaring",
    "praktijk",
    "casus",
    "intervisie",
    "netwerk",
    "bestaanszekerheid",
    "schulden",
    "Wmo-consulent",
    "beleid",
    "uitvoering",
    "inwoner",
    "gesprek",
    "maatwerk",
    "regie",
]
BASE_URL = "https://leerkring.vng.nl"
ORGANIZER = "noreply@leerkring.vng.nl"


def _pick(rnd: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rnd.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _text(rnd: random.Random, low: int, high: int) -> str:
    size = rnd.randint(low, high)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < size:
        words.append(rnd.choice(WORDS))
    text = " ".join(words)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class Seeded:
    meetings: int
    participant_id: uuid.UUID
    municipalities: list[str]  # the ones targeted directly, plus GM0518 (where the participant works)


async def seed(conn: Connection, *, now: datetime | None = None, seed_value: int = 5545) -> Seeded:
    """Insert a year of meetings at DESIGN scale with their fragments, and one busy participant (GM0518, Wmo)."""
    rnd = random.Random(seed_value)
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    provinces = [r["code"] for r in await conn.fetch("SELECT code FROM provinces ORDER BY code")]
    regions = [r["code"] for r in await conn.fetch("SELECT code FROM safety_regions ORDER BY code")]
    towns = [r["code"] for r in await conn.fetch("SELECT code FROM organisations WHERE kind = 'municipality'")]
    theme_names = {slug: name for slug, name, _ in THEMES}
    meetings: list[tuple[Any, ...]] = []
    fragments: list[tuple[Any, ...]] = []
    targeted: set[str] = set()
    count = PER_WEEK * (TO_WEEKS - FROM_WEEKS)
    span = timedelta(weeks=TO_WEEKS - FROM_WEEKS)
    first = now + timedelta(weeks=FROM_WEEKS)
    for i in range(count):
        start = first + span * i / count
        start = start.replace(hour=rnd.choice([9, 10, 13, 14]), minute=rnd.choice([0, 30]))
        end = start + timedelta(hours=rnd.choice([2, 3, 4]))
        themes = [_pick(rnd, [(s, w) for s, _, w in THEMES])]
        if rnd.random() < 0.2:
            themes.append(rnd.choice([s for s, _, _ in THEMES if s != themes[0]]))
        groups = [] if rnd.random() < 0.5 else [_pick(rnd, GROUPS)]
        where = rnd.random()
        orgs: list[str] = []
        areas: list[str] = []
        if where >= 0.9:
            orgs = [rnd.choice(towns)]
            targeted.update(orgs)
        elif where >= 0.8:
            areas = [rnd.choice(regions)]
        elif where >= 0.6:
            areas = [rnd.choice(provinces)]
        organiser = _pick(rnd, ORGANISERS)
        funder = _pick(rnd, FUNDERS)
        cancelled = rnd.random() < 0.04
        has_venue = rnd.random() < 0.8
        src = MeetingSource(
            id=uuid.UUID(int=rnd.getrandbits(128), version=4),
            title=_text(rnd, 30, 90) + (" 🧭" if i % 7 == 0 else ""),
            description=_text(rnd, 80, 900),
            themes=themes,
            theme_names=[theme_names[t] for t in themes],
            starts_at=start,
            ends_at=end,
            timezone="Europe/Amsterdam",
            venue_name="Stadhuis" if has_venue else None,
            venue_address=f"Spui {i % 200 + 1}" if has_venue else None,
            venue_city="Den Haag" if has_venue else None,
            online_url=f"https://meet.example.nl/{uuid.UUID(int=i)}" if rnd.random() < 0.3 else None,
            audience_groups=groups,
            audience_organisations=orgs,
            audience_regions=areas,
            organiser_codes=[organiser],
            funder_codes=[funder] if funder and funder != organiser else [],
            organiser_name=BODY_NAMES[organiser],
            status="cancelled" if cancelled else "published",
            sequence=1 if cancelled else 0,
            revision=2 if cancelled else 1,
            updated_at=now - timedelta(days=60),
            published_at=now - timedelta(days=60),
        )
        meetings.append(
            (
                src.id,
                src.title,
                src.description,
                src.themes,
                "intervisie",
                src.starts_at,
                src.ends_at,
                src.timezone,
                src.venue_name,
                src.venue_address,
                src.venue_city,
                src.online_url,
                30,
                src.audience_groups,
                src.audience_organisations,
                src.audience_regions,
                src.organiser_codes,
                src.funder_codes,
                src.status,
                src.sequence,
                src.revision,
                src.updated_at,
                src.published_at,
            )
        )
        fragment = render_fragment(src, base_url=BASE_URL, organizer=ORGANIZER)
        fragments.append(tuple(getattr(fragment, name) for name in NewFragment.__struct_fields__))
    await conn.copy_records_to_table(
        "meetings",
        records=meetings,
        columns=[
            "id",
            "title",
            "description",
            "themes",
            "format",
            "starts_at",
            "ends_at",
            "timezone",
            "venue_name",
            "venue_address",
            "venue_city",
            "online_url",
            "capacity",
            "audience_groups",
            "audience_organisations",
            "audience_regions",
            "organiser_codes",
            "funder_codes",
            "status",
            "sequence",
            "revision",
            "updated_at",
            "published_at",
        ],
    )
    await conn.copy_records_to_table(
        "meeting_fragments", records=fragments, columns=list(NewFragment.__struct_fields__)
    )
    person = await conn.fetchval(
        "INSERT INTO participants (email, name, organisation_code, professional_group) "
        "VALUES ('drukbezet@gemeente.example.nl', 'Druk Bezet', 'GM0518', 'wmo-consulent') RETURNING id"
    )
    await conn.execute(
        """
        INSERT INTO registrations (id, meeting_id, participant_id, status, position)
        SELECT gen_random_uuid(), id, $1, CASE WHEN k % 6 = 0 THEN 'waitlisted' ELSE 'confirmed' END,
               CASE WHEN k % 6 = 0 THEN 1 END
        FROM (SELECT id, row_number() OVER (ORDER BY starts_at) AS k FROM meetings
              WHERE status = 'published' AND starts_at > now()) m
        WHERE k <= $2
        """,
        person,
        REGISTRATIONS,
    )
    await conn.execute("ANALYZE meetings; ANALYZE meeting_fragments; ANALYZE registrations")
    return Seeded(meetings=count, participant_id=person, municipalities=sorted(targeted | {"GM0518"}))


@dataclass(frozen=True, slots=True)
class FeedSize:
    kind: str  # public, themes, groups, organisations (municipalities and regions), bodies, personal
    largest: str  # which feed of the kind is the largest
    bytes: int
    meetings: int
    feeds: int  # how many feeds of the kind were measured


async def sizes(pool: Pool, seeded: Seeded) -> list[FeedSize]:
    """The largest feed of every kind over the seeded data, as the API would serve it."""
    cache = FeedCache(recheck_seconds=0.0)
    candidates: dict[str, list[tuple[service.FeedKind, str]]] = {
        "public": [("public", "")],
        "themes": [("themes", slug) for slug, _, _ in THEMES],
        "groups": [("groups", slug) for slug, _ in GROUPS],
        "organisations": [("organisations", code) for code in seeded.municipalities[:40]],
        "bodies": [("organisations", code) for code, _ in ORGANISERS],
    }
    found: list[FeedSize] = []
    for kind, feeds in candidates.items():
        best: FeedSize | None = None
        for feed_kind, ident in feeds:
            entry = await service.shared_feed(cache, pool, feed_kind, ident)
            assert entry is not None, (feed_kind, ident)
            body = entry.rep.body
            size = FeedSize(kind, entry.spec.path, len(body), body.count(b"BEGIN:VEVENT"), len(feeds))
            if best is None or size.bytes > best.bytes:
                best = size
        assert best is not None
        found.append(best)
    async with pool.acquire() as conn:
        feed = await personal.personal_feed(conn, seeded.participant_id, with_group=True)
    body = feed.body()
    found.append(FeedSize("personal", "p/…?beroepsgroep=true", len(body), body.count(b"BEGIN:VEVENT"), 1))
    return found
