"""Development only: embedded PostgreSQL and Redis, the SMTP sink, the /dev/mail page and demo data.

Production images leave this package out (deploy/Dockerfile.dockerignore), and production code never needs it.
"""
