"""What a short-notice wish («kan komme på kort varsel») says on the wire, shared by the backend and the client."""

from __future__ import annotations

from typing import Final

from timebok.domain.appointment_life import SHORT_NOTICE_OFFER_URL

ID_PREFIX: Final = "waitlist-"  # the wish's id on the wire (Appointment/waitlist-N), apart from the appointments' numbers
_OWN: Final = "https://timebok.example/fhir/StructureDefinition/"
OFFER_URL: Final = SHORT_NOTICE_OFFER_URL  # valueReference: the hold offered for the wish
OFFERED_TIME_URL: Final = _OWN + "short-notice-offered-time"  # valueInstant: while offered, the offered time's start
