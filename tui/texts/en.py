"""English: every user-facing text of the app."""

TEXTS: dict[str, str] = {
    "app.title": "timebok",
    "calendar.week": "Wk",
    "calendar.prev_month": "Previous month",
    "calendar.next_month": "Next month",
    "calendar.free_legend": "● free times",
    "time.at": "{time}",
    "calendar.urgent": "Contact the GP office if it is urgent",
}
