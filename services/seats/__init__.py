"""Seats: who holds one of a meeting's places, the waiting list, promotion and offers.

Registrations, meetings, attendance and erasure all change who holds a seat; they share this package, which
depends on none of them (the lock order and counters are defined here, in queries.py).
"""
