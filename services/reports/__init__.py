"""Funder reports: attendance and reach, safe to slice."""
