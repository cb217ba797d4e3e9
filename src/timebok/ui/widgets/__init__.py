"""Custom widgets of the app."""
