"""Leerkring's API process and all database access."""

# The API's version: in the OpenAPI document and, as `API-Version`, on every response.
VERSION = "0.1.0"
