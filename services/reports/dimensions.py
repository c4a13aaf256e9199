"""The fixed vocabulary of funder reports: the dimensions a table may be grouped by and the measures it shows.

Only these names ever reach SQL (as the constant fragments below); what a caller sends is checked against them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str  # Dutch column header
    # SQL over the columns of `scope` / `presence` (services/reports/queries.py) giving the cell's code.
    key: str
    # True when the value comes from the person (their municipality, group): such cells have no "seats offered".
    personal: bool = False
    # A meeting with several themes (organisers) counts in each: the values come from unnesting this array.
    unnest: str | None = None


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("month", "Maand", "to_char(held_on, 'YYYY-MM')"),
        Dimension("quarter", "Kwartaal", "to_char(held_on, 'YYYY-\"Q\"Q')"),
        Dimension("meeting", "Bijeenkomst", "meeting_id::text"),
        Dimension("series", "Reeks", "series_id::text"),
        Dimension("theme", "Thema", "theme.value", unnest="themes"),
        Dimension("format", "Werkvorm", "format"),
        Dimension("organiser", "Organisator", "organiser.value", unnest="organiser_codes"),
        Dimension("municipality", "Gemeente", "municipality", personal=True),
        Dimension("province", "Provincie", "province_code", personal=True),
        Dimension("safety_region", "Veiligheidsregio", "safety_region_code", personal=True),
        Dimension("professional_group", "Beroepsgroep", "professional_group", personal=True),
    )
}


@dataclass(frozen=True)
class Measure:
    name: str
    label: str  # Dutch column header
    explanation: str  # for the "Toelichting" sheet and the README


MEASURES: tuple[Measure, ...] = (
    Measure("meetings_held", "Bijeenkomsten", "Gehouden bijeenkomsten (gepubliceerd, niet geannuleerd, afgelopen) in "
            "de periode; per gemeente of beroepsgroep: bijeenkomsten waar iemand uit die groep was aangemeld of kwam."),
    Measure("seats_offered", "Plaatsen", "Aangeboden plaatsen (capaciteit); leeg bij een indeling naar persoon."),
    Measure("registrations", "Aanmeldingen", "Aanmeldingen met een plaats op het moment van de bijeenkomst."),
    Measure("attended", "Aanwezig", "Aanwezigen, inclusief mensen die zonder aanmelding kwamen."),
    Measure("no_shows", "Niet verschenen", "Aangemelden die niet kwamen."),
    Measure("no_show_rate", "No-show (%)", "Niet verschenen als percentage van de aanmeldingen."),
    Measure("unique_participants", "Unieke deelnemers", "Verschillende personen die aanwezig waren."),
    Measure("municipalities_reached", "Gemeenten bereikt", "Verschillende gemeenten waaruit iemand aanwezig was."),
    Measure("municipalities_total", "Gemeenten totaal", "Het aantal gemeenten in het gebied van de cel (alle "
            "gemeenten, de provincie of de veiligheidsregio) volgens de gekozen gemeentelijke indeling."),
    Measure("participant_hours", "Deelnemersuren", "Aanwezigen maal de duur van de bijeenkomst, in uren."),
    Measure("evaluation_response_rate", "Respons evaluatie (%)", "Ingevulde evaluaties als percentage van de "
            "aanwezigen. Evaluaties zijn anoniem en horen bij de bijeenkomst: leeg bij een indeling naar gemeente, "
            "provincie, veiligheidsregio of beroepsgroep, en zolang er geen evaluaties zijn."),
    Measure("average_grade", "Gemiddeld cijfer", "Gemiddeld rapportcijfer uit de evaluaties; alleen bij ten minste "
            "k antwoorden."),
)  # fmt: skip
