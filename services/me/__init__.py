"""/api/v1/me: a participant's own data, by their personal link."""
