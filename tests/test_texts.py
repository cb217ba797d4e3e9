"""The two catalogues say the same things: a text missing in English would show Norwegian on an English screen."""

from __future__ import annotations

import string

from timebok.ui.texts import en, nb


def _forms(text) -> dict[str, str]:
    """A text's forms: one, or its plural forms by name."""
    return text if isinstance(text, dict) else {"": text}


def _fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name}


def test_every_text_is_in_both_languages():
    assert sorted(set(nb.TEXTS) - set(en.TEXTS)) == []
    assert sorted(set(en.TEXTS) - set(nb.TEXTS)) == []


def test_each_text_has_the_same_forms_and_fields_in_both_languages_and_none_is_empty():
    for key, norwegian in nb.TEXTS.items():
        english = en.TEXTS[key]
        assert _forms(norwegian).keys() == _forms(english).keys(), key
        for form, text in _forms(norwegian).items():
            other = _forms(english)[form]
            assert text.strip() and other.strip(), key
            # A field only one language names would raise KeyError (or be left out) when the other is shown.
            assert _fields(text) == _fields(other), (key, form)
