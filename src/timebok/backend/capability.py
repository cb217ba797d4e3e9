"""The CapabilityStatement: what this server does, for FHIR clients that ask first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from timebok.domain.release import version

IHE = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/"
OFFER_DEFINITION = "https://timebok.example/fhir/OperationDefinition/appointment-offer"


def _resource(type_: str, interactions: list[str], params: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "interaction": [{"code": code} for code in interactions],
        "searchParam": [{"name": name, "type": kind} for name, kind in params.items()],
        **extra,
    }


def capability_statement(base: str, moment: datetime) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": moment.date().isoformat(),
        "publisher": "timebok",
        "kind": "instance",
        "software": {"name": "timebok", "version": version()},
        "implementation": {"description": "timebok ressurstimebok booking backend", "url": base},
        "instantiates": ["https://profiles.ihe.net/ITI/Scheduling/CapabilityStatement/IHE.Scheduling.server"],
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer tokens bound to a citizen (one Patient) or to staff (one Organization).",
                },
                "resource": [
                    _resource("Organization", ["read", "search-type"], {"identifier": "token", "name": "string", "_id": "token"}),
                    _resource(
                        "Location",
                        ["read", "search-type"],
                        {"organization": "reference", "name": "string", "address-city": "string", "_id": "token"},
                    ),
                    _resource(
                        "HealthcareService",
                        ["read", "search-type"],
                        {"organization": "reference", "active": "token", "service-type": "token"},
                    ),
                    _resource(
                        "Schedule",
                        ["read", "search-type"],
                        {"actor": "reference", "active": "token"},
                        searchInclude=["Schedule:actor"],
                    ),
                    _resource("Slot", ["read", "search-type"], {"schedule": "reference", "status": "token", "start": "date"}),
                    _resource(
                        "Appointment",
                        ["read", "create", "update", "patch", "delete", "search-type"],  # delete: release a hold
                        # service-type, actor and location: the short-notice list's (status=waitlist) search
                        {
                            "patient": "reference",
                            "status": "token",
                            "date": "date",
                            "service-type": "token",
                            "actor": "reference",
                            "location": "reference",
                        },
                        searchInclude=["Appointment:actor"],
                        # IHE ITI Scheduling: ITI-115, ITI-116, ITI-117 (ITI-118 is the search above)
                        operation=[{"name": name, "definition": IHE + f"appointment-{name}"} for name in ("find", "hold", "book")]
                        # The desk offers a freed time to a short-notice wish by hand (instance level: waitlist-N).
                        + [{"name": "offer", "definition": OFFER_DEFINITION}],
                        versioning="versioned",
                        conditionalUpdate=False,
                    ),
                    _resource("AppointmentResponse", ["read", "create", "search-type"], {"appointment": "reference"}),
                    _resource("Communication", ["read", "search-type"], {"recipient": "reference", "subject": "reference"}),
                    _resource("Patient", ["read", "search-type"], {"identifier": "token", "name": "string"}),
                ],
            }
        ],
    }
