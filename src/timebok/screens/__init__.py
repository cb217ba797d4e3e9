"""Screens of the booking flow and the staff desk, one module each."""
