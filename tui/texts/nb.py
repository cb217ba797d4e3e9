"""Norsk bokmål: every user-facing text of the app."""

TEXTS: dict[str, str] = {
    "app.title": "timebok",
    "calendar.week": "Uke",
    "calendar.prev_month": "Forrige måned",
    "calendar.next_month": "Neste måned",
    "calendar.free_legend": "● ledige timer",
    "time.at": "kl. {time}",
    "calendar.urgent": "Kontakt legekontoret hvis det haster",
    "calendar.prev_day": "Forrige dag",
    "calendar.next_day": "Neste dag",
    "calendar.prev_week": "Forrige uke",
    "calendar.next_week": "Neste uke",
    "calendar.first_day": "Første dag i måneden",
    "calendar.last_day": "Siste dag i måneden",
    "calendar.select": "Velg dato",
}
