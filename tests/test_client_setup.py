"""The client's timebook setup calls against the real backend: read, preview, save, and a refusal naming the field."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from tests.conftest import FJORD_STAFF, KARI
from timebok.client.api import BookingClient
from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Closure


async def test_preview_changes_nothing_save_lists_the_booking_and_a_repeat_changes_nothing(live_server):
    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        setup = await staff.office_setup("1")
        assert [s.type for s in setup.services] == ["Koronatest", "Koronavaksine", "Lab", "Vaksine"]
        closed = copy.deepcopy(setup)
        closed.closures.append(Closure(day=date(2026, 11, 27), reason="Sykepleier syk"))
        preview = await staff.change_setup(closed, preview=True)
        assert preview.preview and preview.removed > 0
        assert [(a.id, a.patient_name, a.start.strftime("%d.%m %H:%M")) for a in preview.affected] == [
            ("2", "Ola Nordmann", "27.11 09:00")
        ]
        assert await staff.office_setup("1") == setup  # nothing was written
        saved = await staff.change_setup(closed)
        assert not saved.preview and saved.removed == preview.removed
        again = await staff.change_setup(saved.setup)
        assert (again.created, again.removed) == (0, 0)


async def test_a_refusal_names_the_field_and_a_citizen_may_not_read(live_server):
    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        setup = await staff.office_setup("1")
        setup.timebooks[0].weekly[0].days = []
        with pytest.raises(BookingError) as refused:
            await staff.change_setup(setup, preview=True)
        assert refused.value.kind is ErrorKind.INVALID and refused.value.field == "Setup.timebooks[0].weekly[0].days"
    async with BookingClient(live_server.url, KARI) as kari:
        with pytest.raises(BookingError) as forbidden:
            await kari.office_setup("1")
        assert forbidden.value.kind is ErrorKind.FORBIDDEN


async def test_a_save_from_an_older_read_is_refused_as_stale_and_nothing_is_written(live_server):
    async with BookingClient(live_server.url, FJORD_STAFF) as one, BookingClient(live_server.url, FJORD_STAFF) as two:
        first, second = await one.office_setup("1"), await two.office_setup("1")
        first.closures.append(Closure(day=date(2026, 11, 27), reason="Sykepleier syk"))
        await one.change_setup(first)
        second.closures.append(Closure(day=date(2026, 11, 30), reason="Planleggingsdag"))
        with pytest.raises(BookingError) as stale:
            await two.change_setup(second)
        assert stale.value.kind is ErrorKind.STALE and stale.value.status == 412
        stored = await two.office_setup("1")
        assert [c.reason for c in stored.closures if c.day.isoformat() in ("2026-11-27", "2026-11-30")] == ["Sykepleier syk"]
