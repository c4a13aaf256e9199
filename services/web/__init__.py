"""The pages behind every link a mail or calendar entry carries: meetings, check-in, sign-in, confirmation, offers
and the participant's own page. Plain, accessible HTML; the pages call the same service functions as the API."""
