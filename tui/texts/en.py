"""English: every user-facing text of the app."""

TEXTS: dict[str, str] = {
    "app.title": "timebok",
    "calendar.week": "Wk",
    "calendar.prev_month": "Previous month",
    "calendar.next_month": "Next month",
    "calendar.free_legend": "● free times",
    "time.at": "{time}",
    "calendar.urgent": "Contact the GP office if it is urgent",
    "calendar.prev_day": "Previous day",
    "calendar.next_day": "Next day",
    "calendar.prev_week": "Previous week",
    "calendar.next_week": "Next week",
    "calendar.first_day": "First day of the month",
    "calendar.last_day": "Last day of the month",
    "calendar.select": "Choose date",
}
