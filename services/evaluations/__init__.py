"""Evaluations after a meeting: request and nudges to attendees, the anonymous form, the results."""
