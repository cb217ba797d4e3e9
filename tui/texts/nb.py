"""Norsk bokmål: every user-facing text of the app."""

TEXTS: dict[str, str] = {
    "app.title": "timebok",
    "calendar.week": "Uke",
    "calendar.prev_month": "Forrige måned",
    "calendar.next_month": "Neste måned",
    "calendar.free_legend": "● ledige timer",
    "time.at": "kl. {time}",
    "calendar.urgent": "Kontakt legekontoret hvis det haster",
}
