"""The FHIR R4 booking backend: API, storage, seeding, auth; never imports the UI."""
