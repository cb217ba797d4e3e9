"""Norwegian person and organisation numbers: parse, validate, build and mask them."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
HNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.3"
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
HERID_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2"

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG_W = (3, 2, 7, 6, 5, 4, 3, 2)

# From 2032 Skatteetaten issues numbers whose first control digit only has to bring the
# weighted sum (weights _W1 and then 1) to one of these remainders mod 11. The number
# itself does not tell when it was issued, so we accept the new rule for every number,
# today: refusing a real person's number is worse than accepting a rare typo that still
# passes both checks. The classic rule is the special case "remainder 0".
_K1_REMAINDERS_2032 = frozenset({0, 1, 2, 3})

_D_OFFSET = 40
_H_OFFSET = 40
_SYNTHETIC_OFFSET = 80

# Bounds of the individual-number ranges whose century rule differs (see _century).
_INDIVIDUAL_BANDS = ((0, 499), (500, 749), (750, 899), (900, 999))

# Between two groups of digits: a run of spaces, one hyphen or dot, or one of them with spaces around it, as people
# write, type and paste numbers («148385-12470», «148385  12470», «148385 - 12470»). The no-break spaces come with
# numbers copied from documents and web pages. Two separators («--», «-.») or any other character stay refused.
_SPACES = " \u00a0\u202f"
_INNER_SPACE = re.compile(rf"(?<=[0-9])(?:[{_SPACES}]+[-.]?[{_SPACES}]*|[-.][{_SPACES}]*)(?=[0-9])")
# What may trail a number still being typed: the separator before the next group.
_TRAILING_SEPARATOR = re.compile(rf"(?<=[0-9])[{_SPACES}]*[-.]?[{_SPACES}]*$")


class IdKind(Enum):
    FODSELSNUMMER = "fnr"
    D_NUMMER = "dnr"
    H_NUMMER = "hnr"


class IdProblem(Enum):
    """Why a number was refused; the UI maps each to a precise message."""

    EMPTY = "empty"
    NON_DIGITS = "non_digits"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    IMPOSSIBLE_DATE = "impossible_date"
    CONTROL_DIGIT = "control_digit"
    SYNTHETIC_NOT_ALLOWED = "synthetic_not_allowed"


class InvalidIdentityNumber(ValueError):
    """A fødselsnummer, D-nummer or H-nummer was refused; .problem says why."""

    def __init__(self, problem: IdProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


class InvalidOrgnr(ValueError):
    """An organisasjonsnummer was refused; .problem says why."""

    def __init__(self, problem: IdProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


_SYSTEMS = {
    IdKind.FODSELSNUMMER: FNR_SYSTEM,
    IdKind.D_NUMMER: DNR_SYSTEM,
    IdKind.H_NUMMER: HNR_SYSTEM,
}


# repr=False: the generated repr would put the whole number into logs and tracebacks.
@dataclass(frozen=True, repr=False)
class IdentityNumber:
    """A valid person number: its 11 digits and what they encode."""

    value: str
    kind: IdKind
    birth_date: date
    synthetic: bool

    @property
    def system(self) -> str:
        """The FHIR identifier system for this kind of number."""
        return _SYSTEMS[self.kind]

    @property
    def masked(self) -> str:
        return mask(self.value)

    def __repr__(self) -> str:
        return f"IdentityNumber({self.masked!r}, kind={self.kind}, synthetic={self.synthetic})"


def _normalise(text: str) -> str:
    # People paste "010203 12345", "010203-12345" or "974 760 673"; anything odder is a typo worth reporting.
    return _INNER_SPACE.sub("", text.strip())


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit alone would let "١٢٣" and superscripts through to int().
    return text.isascii() and text.isdigit()


def _century(individual: int, yy: int) -> int | None:
    if individual <= 499:
        return 1900
    if individual <= 749 and yy >= 54:
        return 1800
    if individual >= 500 and yy <= 39:
        return 2000
    if individual >= 900 and yy >= 40:
        return 1900
    return None


def _decode_day(dd: int) -> tuple[int, bool] | None:
    """(day, is D-nummer), or None when dd is neither a day nor a D-nummer day."""
    if 1 <= dd <= 31:
        return dd, False
    if 1 <= dd - _D_OFFSET <= 31:
        return dd - _D_OFFSET, True
    return None


def _decode_month(mm: int) -> tuple[int, bool, bool] | None:
    """(month, is H-nummer, is synthetic), or None when mm encodes no month."""
    if 1 <= mm <= 12:
        return mm, False, False
    if 1 <= mm - _H_OFFSET <= 12:
        return mm - _H_OFFSET, True, False
    if 1 <= mm - _SYNTHETIC_OFFSET <= 12:
        return mm - _SYNTHETIC_OFFSET, False, True
    return None


def _decode_date(digits: str) -> tuple[date, IdKind, bool] | str:
    """Birth date, kind and synthetic flag from the first 9 digits, or why there is none."""
    dd, mm, yy, individual = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6:9])
    day = _decode_day(dd)
    if day is None:
        return f"day field {dd:02d} is neither a day (01-31) nor a D-nummer day (41-71)"
    month = _decode_month(mm)
    if month is None:
        return f"month field {mm:02d} is neither a month (01-12), an H-nummer month (41-52) nor a synthetic test month (81-92)"
    (d, is_d), (m, is_h, synthetic) = day, month
    if is_d and is_h:
        return "day and month both carry a +40 offset; a number cannot be both D- and H-nummer"
    century = _century(individual, yy)
    if century is None:
        return f"individual number {individual:03d} is not issued for birth year ..{yy:02d}"
    try:
        born = date(century + yy, m, d)
    except ValueError:
        return f"{d:02d}.{m:02d}.{century + yy} is not a calendar date"
    kind = IdKind.D_NUMMER if is_d else IdKind.H_NUMMER if is_h else IdKind.FODSELSNUMMER
    return born, kind, synthetic


def _classic_control(digits: str, weights: tuple[int, ...]) -> int:
    """11 - (weighted sum mod 11), with 11 → 0; 10 means no valid digit exists."""
    return (11 - sum(int(c) * w for c, w in zip(digits, weights, strict=False)) % 11) % 11


def _controls_ok(digits: str) -> tuple[bool, bool]:
    """(first control digit ok, second control digit ok) for 11 digits."""
    k1_sum = sum(int(c) * w for c, w in zip(digits, _W1, strict=False)) + int(digits[9])
    # Weights _W2 then 1 over all 11 digits ≡ 0 is the same as k2 == classic control of the
    # first 10 (k2 is a single digit, so "10" can never match).
    k2_sum = sum(int(c) * w for c, w in zip(digits, _W2, strict=False)) + int(digits[10])
    return k1_sum % 11 in _K1_REMAINDERS_2032, k2_sum % 11 == 0


def _length_problem(digits: str, expected: int, what: str) -> tuple[IdProblem, str] | None:
    if len(digits) < expected:
        return IdProblem.TOO_SHORT, f"{what} has {len(digits)} digits; expected {expected}"
    if len(digits) > expected:
        return IdProblem.TOO_LONG, f"{what} has {len(digits)} digits; expected {expected}"
    return None


def _shape_problem(text: str, expected: int, what: str) -> tuple[str, tuple[IdProblem, str] | None]:
    """Normalised digits, and the first problem of emptiness, characters or length."""
    digits = _normalise(text)
    if not digits:
        return digits, (IdProblem.EMPTY, f"{what} is empty")
    if not _is_ascii_digits(digits):
        return digits, (
            IdProblem.NON_DIGITS,
            f"{what} may only contain the digits 0-9 (spaces, or one hyphen or dot, between groups are ignored)",
        )
    return digits, _length_problem(digits, expected, what)


def parse_identity_number(text: str, *, allow_synthetic: bool = False) -> IdentityNumber:
    """Read a fødselsnummer, D-nummer or H-nummer; raise InvalidIdentityNumber if it is not one."""
    what = "identity number"
    digits, problem = _shape_problem(text, 11, what)
    if problem is not None:
        raise InvalidIdentityNumber(*problem)
    decoded = _decode_date(digits)
    if isinstance(decoded, str):
        raise InvalidIdentityNumber(IdProblem.IMPOSSIBLE_DATE, f"{what} does not encode a birth date: {decoded}")
    born, kind, synthetic = decoded
    k1_ok, k2_ok = _controls_ok(digits)
    if not (k1_ok and k2_ok):
        which = "first" if not k1_ok else "second"
        raise InvalidIdentityNumber(
            IdProblem.CONTROL_DIGIT,
            f"{what} fails the {which} control digit check (mistyped digit?)",
        )
    if synthetic and not allow_synthetic:
        raise InvalidIdentityNumber(
            IdProblem.SYNTHETIC_NOT_ALLOWED,
            f"{what} is a synthetic test number (month + 80), accepted only in demo/test mode",
        )
    return IdentityNumber(value=digits, kind=kind, birth_date=born, synthetic=synthetic)


def is_identity_number(text: str, *, allow_synthetic: bool = False) -> bool:
    try:
        parse_identity_number(text, allow_synthetic=allow_synthetic)
    except InvalidIdentityNumber:
        return False
    return True


def _field_range(prefix: str, start: int, width: int) -> range:
    """All values of a fixed-width field that agree with the digits typed so far."""
    known = prefix[start : start + width]
    free = 10 ** (width - len(known))
    low = int(known or "0") * free
    return range(low, low + free)


def _date_still_possible(prefix: str) -> bool:
    """Whether some completion of fewer than 11 digits encodes a real birth date."""
    plain_days: list[int] = []
    d_days: list[int] = []
    for dd in _field_range(prefix, 0, 2):
        day = _decode_day(dd)
        if day is not None:
            (d_days if day[1] else plain_days).append(day[0])
    months = [m for mm in _field_range(prefix, 2, 2) if (m := _decode_month(mm)) is not None]
    years: set[int] = set()
    individuals = _field_range(prefix, 6, 3)
    for yy in _field_range(prefix, 4, 2):
        for low, high in _INDIVIDUAL_BANDS:
            # The century depends only on the band, so one member of each reachable band will do.
            if low <= individuals[-1] and high >= individuals[0]:
                century = _century(max(low, individuals[0]), yy)
                if century is not None:
                    years.add(century + yy)
    # The smallest reachable day fits whenever any does.
    min_plain = min(plain_days, default=99)
    min_d = min(d_days, default=99)
    for month, is_h, _synthetic in months:
        for year in years:
            longest = calendar.monthrange(year, month)[1]
            if min_plain <= longest or (not is_h and min_d <= longest):
                return True
    return False


def check_partial(text: str, *, allow_synthetic: bool = False) -> IdProblem | None:
    """Judge an identity number while it is being typed: None while it can still become valid."""
    # «148385-» or «148385 -» is a number whose next group is still to come, not a stray character.
    digits = _normalise(_TRAILING_SEPARATOR.sub("", text.strip()))
    if not digits:
        # Nothing typed yet is not an error to shout about; parse reports EMPTY on submit.
        return None
    if not _is_ascii_digits(digits):
        return IdProblem.NON_DIGITS
    if len(digits) > 11:
        return IdProblem.TOO_LONG
    if len(digits) == 11:
        try:
            parse_identity_number(digits, allow_synthetic=allow_synthetic)
        except InvalidIdentityNumber as e:
            return e.problem
        return None
    # Only the date is judged early: control digits cannot be known before the end, and
    # flagging a synthetic month mid-typing would contradict the full check's order.
    return None if _date_still_possible(digits) else IdProblem.IMPOSSIBLE_DATE


def make_identity_number(
    birth_date: date,
    individual: int,
    *,
    kind: IdKind = IdKind.FODSELSNUMMER,
    synthetic: bool = False,
) -> str | None:
    """Build a number by the classic control-digit rule; None if that individual number has none."""
    if not 0 <= individual <= 999:
        raise ValueError(f"individual number must be 0-999, got {individual}")
    yy = birth_date.year % 100
    if _century(individual, yy) != birth_date.year - yy:
        raise ValueError(f"individual number {individual:03d} is not issued for people born in {birth_date.year}")
    if kind is IdKind.H_NUMMER and synthetic:
        # Month + 40 + 80 does not fit in two digits, so no such number can exist.
        raise ValueError("an H-nummer cannot be synthetic")
    dd = birth_date.day + (_D_OFFSET if kind is IdKind.D_NUMMER else 0)
    mm = birth_date.month + (_H_OFFSET if kind is IdKind.H_NUMMER else 0) + (_SYNTHETIC_OFFSET if synthetic else 0)
    digits = f"{dd:02d}{mm:02d}{yy:02d}{individual:03d}"
    k1 = _classic_control(digits, _W1)
    if k1 == 10:
        return None
    digits += str(k1)
    k2 = _classic_control(digits, _W2)
    if k2 == 10:
        return None
    return digits + str(k2)


def mask(value: str) -> str:
    """Hide the personal part: "01020312345" → "010203 *****"; other lengths become all stars."""
    if len(value) == 11:
        return f"{value[:6]} *****"
    # A string of another length is not a known layout, so nothing of it is safe to show.
    return "*" * len(value)


def parse_orgnr(text: str) -> str:
    """Read an organisasjonsnummer and return its 9 digits; raise InvalidOrgnr if it is not one."""
    what = "organisation number"
    digits, problem = _shape_problem(text, 9, what)
    if problem is not None:
        raise InvalidOrgnr(*problem)
    if _classic_control(digits[:8], _ORG_W) != int(digits[8]):
        raise InvalidOrgnr(IdProblem.CONTROL_DIGIT, f"{what} fails the control digit check (mistyped digit?)")
    return digits


def is_orgnr(text: str) -> bool:
    try:
        parse_orgnr(text)
    except InvalidOrgnr:
        return False
    return True


def make_orgnr(first8: str) -> str | None:
    """Append the control digit to 8 digits; None when the control would be 10."""
    if len(first8) != 8 or not _is_ascii_digits(first8):
        raise ValueError(f"expected 8 digits, got {len(first8)} characters")
    control = _classic_control(first8, _ORG_W)
    return None if control == 10 else first8 + str(control)
