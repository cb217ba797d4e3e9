"""timebok: book times in Norwegian GP offices' ressurstimebok from the terminal, and its FHIR backend."""
