"""The four ressurstimebok time types (Volven 7617 codes) and their code system."""

TIMETYPE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.7617"

# Code → display, in the order the guide lists them.
TIMETYPES: dict[str, str] = {
    "Koronatest": "Koronatest",
    "Koronavaksine": "Koronavaksine",
    "Lab": "Lab",
    "Vaksine": "Vaksine",
}
TIMETYPE_CODES: tuple[str, ...] = tuple(TIMETYPES)  # in the guide's order
