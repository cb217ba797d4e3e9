"""Typed async client for the timebok FHIR booking backend; never imports Textual."""
