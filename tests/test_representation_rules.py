"""Helsenorge's representation rules as pure functions: every combination the register can hold (hypothesis)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from timebok.domain.representation import (
    FULLMAKT_HEALTH,
    Access,
    Kind,
    Person,
    Protection,
    Relation,
    Rule,
    age,
    decide,
)

TODAY = date(2026, 11, 25)
HOME = "Strandgaten 30, 5013 Bergen"
KARI = Person(date(1985, 3, 14), HOME)

people = st.builds(
    Person,
    birth_date=st.dates(min_value=date(1930, 1, 1), max_value=TODAY),
    address=st.sampled_from([HOME, "Fjellveien 1, 5019 Bergen"]),
    protection=st.sampled_from(list(Protection)),
)
relations = st.none() | st.builds(
    Relation,
    kind=st.sampled_from(list(Kind)),
    parental_responsibility=st.booleans(),
    area=st.sampled_from([None, FULLMAKT_HEALTH, "okonomi"]),
    withdrawn=st.booleans(),
)


@given(person=people, relation=relations, today=st.dates(min_value=date(2026, 1, 1), max_value=date(2040, 12, 31)))
def test_every_combination_follows_the_documented_rules(person, relation, today):
    if person.birth_date > today:
        return
    verdict = decide(KARI, person, relation, today)
    years = age(person.birth_date, today)
    if person.protection is not Protection.NONE:
        assert verdict.access is Access.NONE and verdict.rule is Rule.PROTECTED_ADDRESS
        return
    if verdict.access is Access.WRITE:
        assert relation is not None
        if relation.kind is Kind.FULLMAKT:
            assert relation.area == FULLMAKT_HEALTH and not relation.withdrawn and verdict.rule is Rule.FULLMAKT_HEALTH
        else:
            assert relation.parental_responsibility and person.address == KARI.address and years < 12
            assert verdict.rule is Rule.CHILD_UNDER_12
    elif verdict.access is Access.READ:
        assert relation is not None and relation.kind is Kind.PARENT and relation.parental_responsibility
        assert person.address == KARI.address and 12 <= years < 16 and verdict.rule is Rule.CHILD_12_TO_16
    else:  # nothing: a rule that says why
        assert verdict.rule not in (Rule.CHILD_UNDER_12, Rule.CHILD_12_TO_16, Rule.FULLMAKT_HEALTH)
    # Nothing is granted without a tie in the register, and a withdrawn fullmakt grants nothing.
    if relation is None or (relation.kind is Kind.FULLMAKT and relation.withdrawn):
        assert verdict.access is Access.NONE


def _parent(born: date, on: date) -> Access:
    return decide(KARI, Person(born, HOME), Relation(Kind.PARENT, parental_responsibility=True), on).access


def test_the_12th_and_16th_birthdays_change_access_on_the_day():
    born = date(2014, 11, 25)
    assert _parent(born, date(2026, 11, 24)) is Access.WRITE
    assert _parent(born, date(2026, 11, 25)) is Access.READ
    assert _parent(born, date(2030, 11, 24)) is Access.READ
    assert _parent(born, date(2030, 11, 25)) is Access.NONE


def test_a_child_born_on_29_february_has_birthdays_on_the_leap_day_or_else_on_1_march():
    born = date(2016, 2, 29)
    assert _parent(born, date(2028, 2, 28)) is Access.WRITE
    assert _parent(born, date(2028, 2, 29)) is Access.READ  # a leap year: the birthday itself
    assert age(born, date(2029, 2, 28)) == 12 and age(born, date(2029, 3, 1)) == 13
