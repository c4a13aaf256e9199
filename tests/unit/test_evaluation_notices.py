"""The evaluation mail rendered once per variant and personalised by substitution is, byte for byte, the mail
compose_notice renders for that one person: hostile and empty names, missing links, both languages and kinds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.evaluations.notices import EvaluationNotices
from services.invitations.compose import Action, Links, Recipient, compose_notice
from services.invitations.messages import Locale, NoticeKind, Strings
from tests.unit.test_invitation_compose import meeting

# The compose tests' meeting, with markup and an ampersand where the templates escape them.
MEETING = meeting(title="Casuïstiek: <b>‘de bedoeling’</b> & samen", organizer_name="VNG & partners")
DEADLINES: dict[Locale, str] = {"nl": "woensdag 1 april 2027 15:30", "en": "Wednesday 1 April 2027 15:30"}
FORM = "https://lk.test/evaluatie/5b0c/sig?a=1&b=<2>"
LINKS = Links(manage="https://lk.test/mijn/x?y=1&z=2", feed="https://lk.test/feed/x.ics",
              feed_webcal="webcal://lk.test/feed/x.ics")  # fmt: skip


def direct(kind: NoticeKind, to: Recipient, links: Links, form: str = FORM) -> tuple[str, str, str]:
    n = compose_notice(kind, to, meeting=MEETING, links=links,
                       actions=[Action(label=Strings(to.locale).button_evaluation, url=form)],
                       facts={"deadline": DEADLINES[to.locale]})  # fmt: skip
    return n.subject, n.text, n.html


def substituted(notices: EvaluationNotices, kind: NoticeKind, to: Recipient, links: Links,
                form: str = FORM) -> tuple[str, str, str]:  # fmt: skip
    n = notices.notice(kind, to, form_url=form, links=links)
    return n.subject, n.text, n.html


@pytest.mark.parametrize("kind", ["evaluation", "evaluation_nudge"])
@pytest.mark.parametrize("locale", ["nl", "en"])
@pytest.mark.parametrize(
    "name", ["Jan Jansen", "", "  ", "<script>alert(1)</script> & \"Zn\" 'x'", "Zoë\u202e Ölçek", "x" * 300]
)
@pytest.mark.parametrize("links", [LINKS, Links(), Links(manage="https://lk.test/mijn/q")])
def test_same_mail_as_rendering_for_the_one_person(kind: NoticeKind, locale: Locale, name: str, links: Links) -> None:
    notices = EvaluationNotices(MEETING, DEADLINES)
    to = Recipient(email="jan@gemeente.nl", name=name, locale=locale)
    assert substituted(notices, kind, to, links) == direct(kind, to, links)


def test_one_render_serves_every_recipient_of_a_variant() -> None:
    notices = EvaluationNotices(MEETING, DEADLINES)
    for n in range(20):
        to = Recipient(email=f"p{n}@gemeente.nl", name=f"Deelnemer {n}", locale="nl")
        mine = Links(manage=f"https://lk.test/mijn/{n}", feed=f"https://lk.test/f/{n}", feed_webcal=f"webcal://f/{n}")
        form = f"https://lk.test/evaluatie/{n}/sig"
        assert substituted(notices, "evaluation", to, mine, form) == direct("evaluation", to, mine, form)
    assert len(notices._rendered) == 1


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=40), manage=st.text(max_size=30))
def test_any_name_and_link_text(name: str, manage: str) -> None:
    to = Recipient(email="jan@gemeente.nl", name=name, locale="nl")
    links = Links(manage="https://lk.test/" + manage)
    assert substituted(EvaluationNotices(MEETING, DEADLINES), "evaluation", to, links) == direct("evaluation", to,
                                                                                                 links)  # fmt: skip
