"""The ranges a timebook's setup may take, declared once for the backend's body and the setup form."""

from __future__ import annotations

from typing import Final

# Each range is (least, most), both allowed.
SLOT_MINUTES: Final = (5, 60)  # the length of one time
PARALLEL: Final = (1, 20)  # times at once (the same slot offered to this many citizens)
HORIZON_DAYS: Final = (1, 366)  # how far ahead free times are published
LEAD_MINUTES: Final = (0, 14 * 24 * 60)  # how long before a time a citizen must book it

# How many free times a setup may publish ahead (from today to the end of each timebook's horizon). A busy real
# timebook (08:00–15:30 in 10-minute times, two at once, 12 weeks) has about 2 600; the demo's largest has
# 1 932, its offices 4 812 and 3 128. The caps keep one setup from making millions of rows (issue 22, probe P1).
PER_TIMEBOOK: Final = 5000
PER_OFFICE: Final = 20000
