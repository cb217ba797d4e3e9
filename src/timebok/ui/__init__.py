"""The parts screens are made of: texts in two languages, keys, widgets, error wording and the booking draft."""
