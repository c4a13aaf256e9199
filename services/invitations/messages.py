"""The words of every mail to a participant, in Dutch and English: calendar mails (invitation, confirmation, update,
cancellation) and notices about their place (waiting list, offers, confirmation and sign-in links).

Kept as plain tables until the project has gettext catalogs; the templates only ever see `t.<key>`, so moving the
strings into catalogs later touches this file alone. Dutch is the default for everybody whose locale is not "en".
"""

from __future__ import annotations

from typing import Literal

from services.dates import Locale as Locale  # re-exported: the mail code names it from here

# Calendar mails: they carry an iMIP part (services/invitations/compose.METHODS).
Kind = Literal[
    "invitation", "confirmation", "promoted", "update", "cancellation", "registration_cancelled", "no_show_released"
]
# Notices: text and HTML only.
NoticeKind = Literal[
    "waitlisted",
    "offered",
    "offer_expired",
    "offer_declined",
    "request_confirm",
    "signin",
    "reminder",
    "still_coming",
    "evaluation",
    "evaluation_nudge",
]

# Everything a template or the subject line may ask for, per locale.
STRINGS: dict[Locale, dict[str, str]] = {
    "nl": {
        "subject_invitation": "Uitnodiging: {title}",
        "subject_confirmation": "Inschrijving bevestigd: {title}",
        "subject_update": "Gewijzigd: {title}",
        "subject_cancellation": "Geannuleerd: {title}",
        "subject_registration_cancelled": "Afgemeld: {title}",
        "subject_promoted": "Er is een plek vrij: je bent ingeschreven voor {title}",
        "subject_no_show_released": "Je plek is vrijgegeven: {title}",
        "intro_promoted": "Er is een plek vrijgekomen en die is voor jou: je bent nu ingeschreven. "
        "De bijeenkomst staat in je agenda.",
        "intro_no_show_released": "Je was bij het begin niet als aanwezig aangemeld. Daarom is je plek vrijgegeven "
        "aan iemand op de wachtlijst. De bijeenkomst verdwijnt uit je agenda.",
        "subject_waitlisted": "Je staat op de wachtlijst: {title}",
        "subject_offered": "Er is een plek voor je vrij: {title}",
        "subject_offer_expired": "Het aanbod is verlopen: {title}",
        "subject_offer_declined": "Je hebt de plek afgeslagen: {title}",
        "subject_request_confirm": "Bevestig je inschrijving: {title}",
        "subject_signin": "Je persoonlijke link voor Leerkring",
        "intro_waitlisted": "De bijeenkomst is vol. Je staat op de wachtlijst, op plaats {position}.",
        "next_waitlisted_auto": "Komt er een plek vrij, dan ben je meteen ingeschreven en krijg je daarvan bericht, "
        "met de uitnodiging voor je agenda.",
        "next_waitlisted_offer": "Komt er een plek vrij, dan houden we die {hours} uur voor je vast en krijg je een "
        "mail om hem aan te nemen.",
        "intro_offered": "Er is een plek vrijgekomen en die houden we voor je vast tot {deadline}. Neem je hem?",
        "next_offered": "Reageer je niet op tijd, dan gaat de plek naar de volgende op de wachtlijst.",
        "intro_offer_expired": "Je hebt niet op tijd gereageerd op de plek die we voor je vasthielden. Die gaat nu "
        "naar de volgende op de wachtlijst.",
        "next_offer_expired": "Wil je toch komen? Schrijf je dan opnieuw in via de pagina van de bijeenkomst.",
        "intro_offer_declined": "Je hebt de vrijgekomen plek afgeslagen; hij gaat naar de volgende op de wachtlijst. "
        "Bedankt dat je het laat weten.",
        "intro_request_confirm": "Je wilt je inschrijven voor deze bijeenkomst. Bevestig dat met de knop hieronder: "
        "pas daarna telt je inschrijving.",
        "next_request_confirm": "De link werkt tot {deadline}. Heb je je niet ingeschreven? Dan kun je deze mail "
        "negeren; er gebeurt dan niets.",
        "intro_signin": "Met de knop hieronder open je je persoonlijke pagina bij Leerkring: je inschrijvingen, "
        "je agenda-abonnement en je gegevens.",
        "next_signin": "De link werkt één keer, tot {deadline}. Heb je niet om deze mail gevraagd? Dan kun je hem "
        "negeren.",
        "subject_reminder": "Herinnering: {title}",
        "intro_reminder": "Je bent ingeschreven voor deze bijeenkomst; fijn dat je komt. Hieronder staan de tijd en "
        "de plaats zoals ze nu zijn.",
        "next_reminder": "Inchecken kan vanaf een half uur voor het begin: open {checkin} en vul de code in die de "
        "organisator ter plekke laat zien.",
        "button_cant_come": "Ik kan toch niet",
        "subject_still_coming": "Kom je nog? {title}",
        "intro_still_coming": "Je schreef je al een tijd geleden in voor deze bijeenkomst. Kom je nog? Laat het met "
        "één klik weten: kun je niet, dan gaat je plek naar iemand op de wachtlijst.",
        "next_still_coming": "Inchecken kan vanaf een half uur voor het begin: open {checkin} en vul de code in die de "
        "organisator ter plekke laat zien.",
        "next_reminder_updated": "De tijd of plaats is veranderd sinds je laatste bericht; deze mail werkt je agenda "
        "bij. Inchecken kan vanaf een half uur voor het begin: open {checkin}.",
        "next_still_coming_updated": "De tijd of plaats is veranderd sinds je laatste bericht; deze mail werkt je "
        "agenda bij. Inchecken kan vanaf een half uur voor het begin: open {checkin}.",
        "button_still_coming": "Ja, ik kom",
        "subject_evaluation": "Hoe was het? Je mening over {title}",
        "subject_evaluation_nudge": "Nog even: je mening over {title}",
        "intro_evaluation": "Bedankt dat je erbij was. Wil je in een paar minuten laten weten wat je ervan vond en "
        "wat je meeneemt naar je werk? Je antwoorden zijn anoniem: niemand kan zien wat jij hebt ingevuld.",
        "intro_evaluation_nudge": "Je hebt de evaluatie nog niet ingevuld. Het kost een paar minuten en helpt de "
        "organisator de volgende bijeenkomst beter te maken. Je antwoorden zijn anoniem.",
        "next_evaluation": "Het formulier is open tot {deadline}.",
        "next_evaluation_nudge": "Het formulier is open tot {deadline}.",
        "button_evaluation": "Vul de evaluatie in",
        "button_reminders_off_meeting": "Geen herinneringen meer voor deze bijeenkomst",
        "button_reminders_off_all": "Nooit meer herinneringen",
        "button_accept_offer": "Ja, ik neem de plek",
        "button_decline_offer": "Nee, geef hem door",
        "button_request_confirm": "Ja, schrijf me in",
        "button_signin": "Open mijn pagina",
        "position_unknown": "onbekend",
        "manage": "Je inschrijvingen en gegevens beheren",
        "feed_webcal": "Agenda-abonnement (webcal)",
        "feed_https": "Agenda-abonnement (https, voor Google en Outlook)",
        "personal_hint": "Deze links zijn persoonlijk: stuur deze mail niet door.",
        "rsvp_links": "Antwoorden via je agenda-programma komen niet bij ons aan; gebruik de knoppen in deze mail.",
        "greeting_plain": "Beste,",
        "greeting": "Beste {name},",
        "greeting_anonymous": "Beste collega,",
        "intro_invitation": "{organiser} nodigt je uit voor deze collegiale leerbijeenkomst.",
        "intro_confirmation": "Je inschrijving is bevestigd. Je bent van harte welkom.",
        "intro_update": "De bijeenkomst is gewijzigd. Je agenda wordt bijgewerkt.",
        "intro_cancellation": "Deze bijeenkomst gaat helaas niet door. Ze verdwijnt uit je agenda.",
        "intro_registration_cancelled": "Je inschrijving is geannuleerd. De bijeenkomst verdwijnt uit je agenda.",
        "note_heading": "Bericht van de organisator",
        "changes_heading": "Wat is er veranderd",
        "reason_heading": "Reden",
        "when": "Wanneer",
        "where": "Waar",
        "online": "Online",
        "about": "Over de bijeenkomst",
        "organiser": "Organisator",
        "register": "Ja, ik schrijf me in",
        "decline": "Nee, ik kom niet",
        "cancel_registration": "Afmelden",
        "actions_invitation": "Laat weten of je komt:",
        "actions_confirmation": "Kun je toch niet? Meld je dan af, zodat iemand anders je plek krijgt:",
        "more": "Meer informatie",
        "join_online": "Online deelnemen",
        "feed": "Je persoonlijke agenda-abonnement",
        "links_expire": "Deze links zijn persoonlijk en werken tot het begin van de bijeenkomst.",
        "calendar_hint": "Je agenda-programma toont deze mail als uitnodiging; "
        "zo staat de bijeenkomst meteen in je agenda.",
        "footer": "Je ontvangt deze mail via Leerkring, "
        "het platform voor collegiale leerbijeenkomsten van {organiser}.",
        "field_time": "Tijd",
        "field_location": "Locatie",
        "field_online": "Online link",
        "none": "geen",
    },
    "en": {
        "subject_invitation": "Invitation: {title}",
        "subject_confirmation": "Registration confirmed: {title}",
        "subject_update": "Updated: {title}",
        "subject_cancellation": "Cancelled: {title}",
        "subject_registration_cancelled": "Registration cancelled: {title}",
        "subject_promoted": "A seat is free: you are registered for {title}",
        "subject_no_show_released": "Your seat was released: {title}",
        "intro_promoted": "A seat has become free and it is yours: you are now registered. "
        "The meeting is in your calendar.",
        "intro_no_show_released": "You had not been marked as present at the start, so your seat was released to "
        "someone on the waiting list. The meeting will leave your calendar.",
        "subject_waitlisted": "You are on the waiting list: {title}",
        "subject_offered": "A seat is free for you: {title}",
        "subject_offer_expired": "The offer has expired: {title}",
        "subject_offer_declined": "You declined the seat: {title}",
        "subject_request_confirm": "Confirm your registration: {title}",
        "subject_signin": "Your personal link for Leerkring",
        "intro_waitlisted": "The meeting is full. You are on the waiting list, at place {position}.",
        "next_waitlisted_auto": "When a seat frees up you are registered at once and we let you know, with the "
        "invitation for your calendar.",
        "next_waitlisted_offer": "When a seat frees up we hold it for you for {hours} hours and send you an e-mail "
        "to accept it.",
        "intro_offered": "A seat has become free and we are holding it for you until {deadline}. Will you take it?",
        "next_offered": "If you do not answer in time, the seat goes to the next person on the waiting list.",
        "intro_offer_expired": "You did not answer in time about the seat we were holding for you. It now goes to "
        "the next person on the waiting list.",
        "next_offer_expired": "Still want to come? Register again on the meeting's page.",
        "intro_offer_declined": "You declined the free seat; it goes to the next person on the waiting list. "
        "Thank you for letting us know.",
        "intro_request_confirm": "You asked to register for this meeting. Please confirm with the button below: "
        "only then does your registration count.",
        "next_request_confirm": "The link works until {deadline}. Did you not register? Then ignore this e-mail; "
        "nothing will happen.",
        "intro_signin": "The button below opens your personal page at Leerkring: your registrations, your calendar "
        "subscription and your details.",
        "next_signin": "The link works once, until {deadline}. Did you not ask for this e-mail? Then ignore it.",
        "subject_reminder": "Reminder: {title}",
        "intro_reminder": "You are registered for this meeting; we look forward to seeing you. Below are the time "
        "and place as they are now.",
        "next_reminder": "You can check in from half an hour before the start: open {checkin} and enter the code the "
        "organiser shows on site.",
        "button_cant_come": "I can't make it after all",
        "subject_still_coming": "Are you still coming? {title}",
        "intro_still_coming": "You registered for this meeting a while ago. Are you still coming? Let us know with one "
        "click: if you cannot, your seat goes to someone on the waiting list.",
        "next_still_coming": "You can check in from half an hour before the start: open {checkin} and enter the code "
        "the organiser shows on site.",
        "next_reminder_updated": "The time or place has changed since your last message; this e-mail updates your "
        "calendar. You can check in from half an hour before the start: open {checkin}.",
        "next_still_coming_updated": "The time or place has changed since your last message; this e-mail updates your "
        "calendar. You can check in from half an hour before the start: open {checkin}.",
        "button_still_coming": "Yes, I am coming",
        "subject_evaluation": "How was it? Your view on {title}",
        "subject_evaluation_nudge": "A reminder: your view on {title}",
        "intro_evaluation": "Thank you for taking part. Would you take a few minutes to tell us what you thought and "
        "what you take back to your work? Your answers are anonymous: nobody can see what you filled in.",
        "intro_evaluation_nudge": "You have not filled in the evaluation yet. It takes a few minutes and helps the "
        "organiser make the next meeting better. Your answers are anonymous.",
        "next_evaluation": "The form is open until {deadline}.",
        "next_evaluation_nudge": "The form is open until {deadline}.",
        "button_evaluation": "Fill in the evaluation",
        "button_reminders_off_meeting": "No more reminders for this meeting",
        "button_reminders_off_all": "Never send me reminders",
        "button_accept_offer": "Yes, I take the seat",
        "button_decline_offer": "No, pass it on",
        "button_request_confirm": "Yes, register me",
        "button_signin": "Open my page",
        "position_unknown": "unknown",
        "manage": "Manage your registrations and details",
        "feed_webcal": "Calendar subscription (webcal)",
        "feed_https": "Calendar subscription (https, for Google and Outlook)",
        "personal_hint": "These links are personal: do not forward this e-mail.",
        "rsvp_links": "Replies from your calendar program do not reach us; please use the buttons in this e-mail.",
        "greeting_plain": "Hello,",
        "greeting": "Dear {name},",
        "greeting_anonymous": "Dear colleague,",
        "intro_invitation": "{organiser} invites you to this peer learning meeting.",
        "intro_confirmation": "Your registration is confirmed. You are very welcome.",
        "intro_update": "The meeting has changed. Your calendar will be updated.",
        "intro_cancellation": "Unfortunately this meeting has been cancelled. It will disappear from your calendar.",
        "intro_registration_cancelled": "Your registration has been cancelled. The meeting will leave your calendar.",
        "note_heading": "Message from the organiser",
        "changes_heading": "What changed",
        "reason_heading": "Reason",
        "when": "When",
        "where": "Where",
        "online": "Online",
        "about": "About the meeting",
        "organiser": "Organiser",
        "register": "Yes, register me",
        "decline": "No, I will not attend",
        "cancel_registration": "Cancel my registration",
        "actions_invitation": "Let us know whether you will attend:",
        "actions_confirmation": "Can't make it after all? Cancel, so someone else gets your seat:",
        "more": "More information",
        "join_online": "Join online",
        "feed": "Your personal calendar subscription",
        "links_expire": "These links are personal and work until the meeting starts.",
        "calendar_hint": "Your calendar program shows this e-mail as an invitation, "
        "so the meeting lands in your calendar.",
        "footer": "You receive this e-mail through Leerkring, the platform for peer learning meetings of {organiser}.",
        "field_time": "Time",
        "field_location": "Location",
        "field_online": "Online link",
        "none": "none",
    },
}


class Strings:
    """Attribute access to one locale's table, for templates (`t.register`)."""

    def __init__(self, locale: Locale) -> None:
        self.locale: Locale = locale
        self._table = STRINGS[locale]

    def __getattr__(self, key: str) -> str:
        try:
            return self._table[key]
        except KeyError:
            raise AttributeError(key) from None

    def get(self, key: str, **values: str) -> str:
        return self._table[key].format(**values) if values else self._table[key]

    def __contains__(self, key: str) -> bool:
        return key in self._table


def pick_locale(value: str | None) -> Locale:
    return "en" if value == "en" else "nl"
