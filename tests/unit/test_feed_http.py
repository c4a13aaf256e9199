"""Feed HTTP rules without a server: validators, conditional requests, subscription links."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services.feeds.links import personal_links, subscription_links
from services.feeds.respond import Representation, make_etag, not_found, not_modified, visible

ETAG = make_etag(1, b"body")
SETTLED = int(time.time()) - 3600


def test_etags_are_strong_quoted_and_follow_the_parts():
    assert ETAG.startswith('"lk1-')
    assert ETAG.endswith('"')
    assert make_etag(1, b"body") == ETAG
    assert make_etag(1, b"body2") != ETAG
    assert make_etag("ab", "c") != make_etag("a", "bc")


@pytest.mark.parametrize(
    ("if_none_match", "fresh"),
    [
        (ETAG, True),
        (f"W/{ETAG}", True),
        (f'"andere", {ETAG}', True),
        ("*", True),
        ('"lk1-000"', False),
        ("", False),
        (ETAG[:-1], False),
    ],
)
def test_if_none_match(if_none_match: str, fresh: bool):
    assert not_modified(if_none_match, None, ETAG, SETTLED) is fresh


def test_if_modified_since_compares_whole_seconds_and_ignores_garbage():
    header = formatdate(SETTLED, usegmt=True)
    assert not_modified(None, header, ETAG, SETTLED)
    assert not_modified(None, formatdate(SETTLED + 10, usegmt=True), ETAG, SETTLED)
    assert not not_modified(None, formatdate(SETTLED - 1, usegmt=True), ETAG, SETTLED)
    assert not not_modified(None, "gisteren", ETAG, SETTLED)
    assert not not_modified(None, "Mon, 01 Jan 2035 00:00:00 -0000", ETAG, SETTLED), "no zone: not an HTTP-date"
    assert not not_modified(None, None, ETAG, SETTLED)


def test_if_none_match_wins_over_if_modified_since():
    assert not not_modified('"oud"', formatdate(SETTLED, usegmt=True), ETAG, SETTLED)


def test_a_recent_last_modified_is_neither_sent_nor_trusted():
    recent = int(time.time())
    assert not visible(recent)
    assert visible(SETTLED)
    assert not not_modified(None, formatdate(recent + 60, usegmt=True), ETAG, recent)


def scope(method: str = "GET", **headers: str) -> Any:
    return {"method": method, "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


def test_representation_answers_200_head_and_304_with_validators():
    rep = Representation(b"BODY", ETAG, SETTLED, "no-cache")
    ok = rep.reply(scope())
    headers = dict(ok.headers)
    assert (ok.status, ok.body) == (200, b"BODY")
    assert headers[b"content-type"] == b"text/calendar; charset=utf-8"
    assert headers[b"content-length"] == b"4"
    assert headers[b"etag"] == ETAG.encode()
    assert headers[b"last-modified"] == formatdate(SETTLED, usegmt=True).encode()
    assert b"content-encoding" not in headers
    head = rep.reply(scope("HEAD"))
    assert (head.status, head.body, dict(head.headers)[b"content-length"]) == (200, b"", b"4")
    cached = rep.reply(scope(if_none_match=ETAG))
    assert (cached.status, cached.body) == (304, b"")
    assert dict(cached.headers)[b"etag"] == ETAG.encode()
    assert b"content-length" not in dict(cached.headers)
    assert rep.reply(scope(if_none_match='"oud"', if_modified_since=formatdate(SETTLED, usegmt=True))).status == 200
    assert rep.reply(scope(if_modified_since=formatdate(SETTLED, usegmt=True))).status == 304


def test_a_fresh_last_modified_is_left_out():
    rep = Representation(b"BODY", ETAG, int(time.time()), "no-cache")
    assert b"last-modified" not in dict(rep.reply(scope()).headers)


def test_not_found_is_one_answer():
    assert not_found(scope()).status == 404
    assert not_found(scope()).body == not_found(scope()).body
    assert not_found(scope("HEAD")).body == b""


def test_subscription_links():
    links = subscription_links(
        "https://leerkring.nl/feeds/public.ics", "Leerkring – alle bijeenkomsten", description="Alles", window="kort"
    )
    assert (links.description, links.window) == ("Alles", "kort")
    assert links.webcal == "webcal://leerkring.nl/feeds/public.ics"
    google = urlsplit(links.google)
    assert (google.netloc, google.path) == ("calendar.google.com", "/calendar/r")
    assert parse_qs(google.query) == {"cid": ["webcal://leerkring.nl/feeds/public.ics"]}
    outlook = urlsplit(links.outlook)
    assert (outlook.netloc, outlook.path) == ("outlook.live.com", "/calendar/0/addfromweb")
    assert parse_qs(outlook.query) == {
        "url": ["https://leerkring.nl/feeds/public.ics"],
        "name": ["Leerkring – alle bijeenkomsten"],
    }
    assert urlsplit(links.office365).netloc == "outlook.office.com"
    with pytest.raises(ValueError, match="http"):
        subscription_links("ftp://leerkring.nl/x.ics", "x", description="", window="")


def test_personal_links_keep_their_query_inside_the_google_cid():
    links = personal_links("https://leerkring.nl", "lkp_abc", "Mijn", with_group=True)
    assert links.https == "https://leerkring.nl/feeds/p/lkp_abc.ics?beroepsgroep=true"
    assert parse_qs(urlsplit(links.google).query) == {
        "cid": ["webcal://leerkring.nl/feeds/p/lkp_abc.ics?beroepsgroep=true"]
    }
