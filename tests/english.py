"""Does a page read as English? The words people read on it (text, and the attributes a screen reader speaks),
checked for Dutch words that English never uses. Names are data, not copy: the choices of a <select> (places,
groups, themes) and anything marked with another `lang` are left out, and so is what the caller names as data
(a meeting's title, a person's name)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Everyday Dutch words that appear in nearly every sentence of the pages and in no English one. Not "van", "de",
# "den" or "op": those are in Dutch place names ("Alphen aan den Rijn", "Bergen op Zoom").
_WORDS = """
je jij jouw jezelf bijeenkomst bijeenkomsten inschrijving inschrijvingen ingeschreven wachtlijst afmelden afgemeld
niet geen een het voor naar wordt kun kunt mijn deze bent zijn hebt heb plek plaats plaatsen nog ook alle klaar uit
bij tot wat waar wanneer hier hoe meer gegevens agenda-abonnement herinneringen herinnering inloggen inchecken
bevestigen verwijder opslaan kies vul tevoren vooraf vooruit terug weken maanden jaar dag uur kwartier
"""
DUTCH = frozenset(_WORDS.split())
_SPOKEN = ("aria-label", "title", "alt", "placeholder")
_SKIPPED = {"option", "script", "style"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Words(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []  # tags we are inside whose text is not copy
        self._page_lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self._page_lang = found.get("lang") or ""
            return
        # Another language than the page's: the language switch ("Nederlands" on an English page).
        foreign = found.get("lang") not in (None, self._page_lang)
        if tag in _VOID:
            if not self._skipping and not foreign:
                self.parts += [found[a] or "" for a in _SPOKEN if a in found]
            return
        if self._skipping or tag in _SKIPPED or foreign:
            self._skipping.append(tag)
            return
        self.parts += [found[a] or "" for a in _SPOKEN if a in found]

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def dutch_words(html: str, *, data: tuple[str, ...] = ()) -> list[str]:
    """The Dutch marker words of the page's copy, in order (empty: the page reads as English)."""
    parser = _Words()
    parser.feed(html)
    text = " ".join(parser.parts)
    for value in data:
        text = text.replace(value, " ")
    return [word for word in re.findall(r"[\w'-]+", text.lower()) if word in DUTCH]
