"""Retention: personal data that nobody needs any more is removed on schedules of its own."""
