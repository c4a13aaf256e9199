"""The audit log: who did what to which meeting, registration, key or export (admins read it)."""
