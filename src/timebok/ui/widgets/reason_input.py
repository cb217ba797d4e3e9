"""The one-line reason field: pasted lines are joined, not cut to the first, and reaching the limit is said out loud."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input


class ReasonInput(Input):
    """An Input that keeps a multi-line paste (joined with spaces) and tells when text would go past `max_length`."""

    class LimitReached(Message):
        """Some text did not fit: `dropped` characters were left out."""

        def __init__(self, dropped: int) -> None:
            super().__init__()
            self.dropped = dropped

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # Input's own handler would insert the first line again
        if event.text:
            joined = " ".join(line.strip() for line in event.text.splitlines() if line.strip())
            start, end = sorted(self.selection)
            self.replace(joined, start, end)
        event.stop()

    def replace(self, text: str, start: int, end: int) -> None:
        start, end = sorted((max(0, start), min(len(self.value), end)))
        room = self.max_length - (len(self.value) - (end - start)) if self.max_length else len(text)
        if len(text) > room:
            # Input would drop the whole insert without a word; keep what fits and say so.
            self.post_message(self.LimitReached(len(text) - max(room, 0)))
            text = text[: max(room, 0)]
            if not text and start == end:
                return
        super().replace(text, start, end)
