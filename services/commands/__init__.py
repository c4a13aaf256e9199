"""The `leerkring` subcommands that production needs (services/cli.py parses; localdev/ holds the rest)."""
