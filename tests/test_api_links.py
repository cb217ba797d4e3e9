"""Links in answers (self, next, Location) name the configured public URL or the listening address, never the Host header."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import KARI, bearer
from tests.fhir_validate import booking_request, fhir_json, free_slots, next_link, timebook
from timebok.backend.app import create_app
from timebok.backend.http import public_url

EVIL = {"Host": "evil.example"}


async def _links(client: httpx.AsyncClient) -> list[str]:
    lab = await timebook(client, KARI, 1, "Lab")
    bundle = fhir_json(
        await client.get("/Slot", params={"schedule": f"Schedule/{lab}", "_count": 2}, headers=bearer(KARI) | EVIL)
    )
    slot = (await free_slots(client, KARI, lab, "2026-12-03"))[0]["id"]
    created = await client.post("/Appointment", json=booking_request(slot, 1), headers=bearer(KARI) | EVIL)
    metadata = fhir_json(await client.get("/metadata", headers=EVIL))
    return (
        [link["url"] for link in bundle["link"]]
        + [e["fullUrl"] for e in bundle["entry"]]
        + [created.headers["location"], metadata["implementation"]["url"]]
    )


async def test_a_forged_host_header_never_reaches_a_link(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        links = await _links(client)
    assert all(link.startswith(live_server.url) for link in links), links
    assert len(links) == 6 and next_link({"link": [{"relation": "next", "url": links[1]}]}).startswith(live_server.url)


async def test_links_name_the_configured_public_url(database):
    app = create_app(database, demo=True, public_url="https://timebok.example.no/")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver/fhir") as client:
        links = await _links(client)
    assert all(
        link.startswith("https://timebok.example.no/fhir/") or link == "https://timebok.example.no/fhir" for link in links
    ), links


def test_a_public_url_must_be_a_plain_http_base():
    assert public_url("https://timebok.example.no/fhir/") == "https://timebok.example.no"
    assert public_url("http://10.0.0.5:8787") == "http://10.0.0.5:8787"
    for bad in ("timebok.example.no", "ftp://x", "https://x/?a=1", "https://"):
        with pytest.raises(ValueError, match="public URL"):
            public_url(bad)
