"""Whom a citizen may act for (book, read, cancel) on Helsenorge's rules: pure, from what the register says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

# Ages in whole years, counted from the birth date on the day asked about (the birthday itself counts).
CHILD_LIMITED_FROM = 12  # from the 12th birthday a parent has limited access (the child may withhold information)
HEALTH_ADULT_FROM = 16  # from the 16th birthday a young person decides over their own health (helserettslig myndig)

FULLMAKT_HEALTH = "helse"  # the area of a fullmakt that covers health services


class Protection(Enum):
    """Folkeregisteret's address protection (adressebeskyttelse)."""

    NONE = "none"
    FORTROLIG = "fortrolig"  # confidential address (kode 7)
    STRENGT_FORTROLIG = "strengt-fortrolig"  # strictly confidential address (kode 6)


class Kind(Enum):
    """How the register ties the representative to the person: parent of a child, or a fullmakt given."""

    PARENT = "parent"
    FULLMAKT = "fullmakt"


class Access(Enum):
    """What a representative may do for the person."""

    NONE = "none"
    READ = "read"  # see the person's appointments and messages, not book or cancel
    WRITE = "write"  # book, cancel and read, as the person themself


class Rule(Enum):
    """The rule that decided, named on the wire (support's «why not?») and in the README."""

    CHILD_UNDER_12 = "child-under-12"  # write
    CHILD_12_TO_16 = "child-12-16"  # read only
    CHILD_16_PLUS = "child-16-plus"  # none: helserettslig myndig
    NO_PARENTAL_RESPONSIBILITY = "no-parental-responsibility"
    DIFFERENT_ADDRESS = "different-address"
    PROTECTED_ADDRESS = "protected-address"
    FULLMAKT_HEALTH = "fullmakt-health"  # write
    FULLMAKT_OTHER_AREA = "fullmakt-other-area"
    FULLMAKT_WITHDRAWN = "fullmakt-withdrawn"
    NO_RELATION = "no-relation"


@dataclass(frozen=True)
class Person:
    """What the register holds about one person that the rules read."""

    birth_date: date
    address: str
    protection: Protection = Protection.NONE


@dataclass(frozen=True)
class Relation:
    """One tie in the register from a representative to a person."""

    kind: Kind
    parental_responsibility: bool = False  # a parent only: foreldreansvar
    area: str | None = None  # a fullmakt only: what it covers
    withdrawn: bool = False  # a fullmakt only: withdrawn by the person who gave it


@dataclass(frozen=True)
class Verdict:
    access: Access
    rule: Rule

    @property
    def may_book(self) -> bool:
        return self.access is Access.WRITE

    @property
    def may_read(self) -> bool:
        return self.access is not Access.NONE


def age(birth_date: date, today: date) -> int:
    """Whole years on `today`: the birthday itself counts (a child is 12 on their 12th birthday)."""
    years = today.year - birth_date.year
    # 29 February: in a year without it, the birthday is passed on 1 March.
    return years - ((today.month, today.day) < (birth_date.month, birth_date.day))


def decide(representative: Person, person: Person, relation: Relation | None, today: date) -> Verdict:
    """What `representative` may do for `person` on `today`; protection goes before any relation."""
    if person.protection is not Protection.NONE:
        # Nobody acts for a person whose address is protected: acting would reveal where they live.
        return Verdict(Access.NONE, Rule.PROTECTED_ADDRESS)
    if relation is None:
        return Verdict(Access.NONE, Rule.NO_RELATION)
    if relation.kind is Kind.FULLMAKT:
        if relation.withdrawn:
            return Verdict(Access.NONE, Rule.FULLMAKT_WITHDRAWN)
        if relation.area != FULLMAKT_HEALTH:
            return Verdict(Access.NONE, Rule.FULLMAKT_OTHER_AREA)
        return Verdict(Access.WRITE, Rule.FULLMAKT_HEALTH)
    years = age(person.birth_date, today)
    if years >= HEALTH_ADULT_FROM:
        return Verdict(Access.NONE, Rule.CHILD_16_PLUS)
    if not relation.parental_responsibility:
        return Verdict(Access.NONE, Rule.NO_PARENTAL_RESPONSIBILITY)
    if representative.address != person.address:
        return Verdict(Access.NONE, Rule.DIFFERENT_ADDRESS)
    if years >= CHILD_LIMITED_FROM:
        return Verdict(Access.READ, Rule.CHILD_12_TO_16)
    return Verdict(Access.WRITE, Rule.CHILD_UNDER_12)
