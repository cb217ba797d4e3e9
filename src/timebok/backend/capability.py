"""The CapabilityStatement: what this server does, for FHIR clients that ask first."""

from __future__ import annotations

from datetime import datetime
from typing import Any


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
        "software": {"name": "timebok", "version": "0.1.0"},
        "implementation": {"description": "timebok ressurstimebok booking backend", "url": base},
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
                    _resource("Location", ["read"], {}),
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
                        {"patient": "reference", "status": "token", "date": "date"},
                        searchInclude=["Appointment:actor"],
                        versioning="versioned",
                        conditionalUpdate=False,
                    ),
                    _resource("AppointmentResponse", ["create"], {}),
                    _resource("Communication", ["search-type"], {"recipient": "reference", "subject": "reference"}),
                    _resource("Patient", ["read", "search-type"], {"identifier": "token", "name": "string"}),
                ],
            }
        ],
    }
