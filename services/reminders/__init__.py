"""Reminders before a meeting: rules, their scheduled rows per confirmed participant, the mails' links."""
