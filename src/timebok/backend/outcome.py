"""Errors of the API and the OperationOutcome each one answers with."""

from __future__ import annotations

from typing import Any

from timebok.domain.privacy import scrub

FHIR_JSON = "application/fhir+json"


class FhirError(Exception):
    """An error the client must hear about, with its HTTP status and FHIR issue code."""

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        *,
        headers: dict[str, str] | None = None,
        expression: list[str] | None = None,
        rule: str | None = None,
        extension: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.headers = headers or {}
        self.expression = expression  # the FHIR paths of the elements at fault
        self.rule = rule  # which booking rule said no, for clients to tell the user in their own words
        self.extension = extension  # what the rule found, in fields a client can read (the issue's extensions)


def not_found(what: str) -> FhirError:
    # `what` may echo a URL segment; a client that put an identity number there must not get it back in a trace.
    return FhirError(404, "not-found", f"{scrub(what)} was not found")


def invalid(diagnostics: str, *, expression: list[str] | None = None) -> FhirError:
    return FhirError(400, "invalid", diagnostics, expression=expression)


def at_fault(path: str, text: str, *, rule: str | None, status: int = 400, code: str = "invalid") -> FhirError:
    """A refusal of one element: the text starts with its FHIR path (`Setup.timebooks[0].end: ...`), the expression names it."""
    return FhirError(status, code, f"{path}: {text}", expression=[path], rule=rule)


def forbidden(diagnostics: str, *, rule: str | None = None) -> FhirError:
    return FhirError(403, "forbidden", diagnostics, rule=rule)


def conflict(diagnostics: str, *, rule: str | None = None, extension: list[dict[str, Any]] | None = None) -> FhirError:
    return FhirError(409, "conflict", diagnostics, rule=rule, extension=extension)


def precondition_failed(diagnostics: str) -> FhirError:
    """412: the version the caller sent (If-Match) is not the current one."""
    return FhirError(412, "conflict", diagnostics)


def unprocessable(code: str, diagnostics: str, *, rule: str | None = None) -> FhirError:
    """422: the request is well formed but a rule refuses it (`code` is "business-rule" or "not-found")."""
    return FhirError(422, code, diagnostics, rule=rule)


RULE_SYSTEM = "https://timebok.example/fhir/CodeSystem/booking-rule"


def operation_outcome(
    code: str,
    diagnostics: str,
    severity: str = "error",
    expression: list[str] | None = None,
    *,
    rule: str | None = None,
    extension: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    # Scrubbed here, once for every answer: a diagnostic may quote a parameter, header or path the caller sent.
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": scrub(diagnostics)}
    if expression:
        issue["expression"] = [scrub(path) for path in expression]
    if rule:
        issue["details"] = {"coding": [{"system": RULE_SYSTEM, "code": rule}]}
    if extension:
        issue["extension"] = extension
    return {"resourceType": "OperationOutcome", "issue": [issue]}
