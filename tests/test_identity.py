"""Properties and hand-checked examples for Norwegian identity and organisation numbers."""

from __future__ import annotations

import calendar
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from timebok.domain.identity import (
    DNR_SYSTEM,
    FNR_SYSTEM,
    HNR_SYSTEM,
    IdentityNumber,
    IdKind,
    IdProblem,
    InvalidIdentityNumber,
    InvalidOrgnr,
    check_partial,
    is_identity_number,
    is_orgnr,
    make_identity_number,
    make_orgnr,
    mask,
    parse_identity_number,
    parse_orgnr,
)

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

# Worked by hand (w1 = 3,7,6,1,8,9,4,5,2; w2 = 5,4,3,2,7,6,5,4,3,2; k = 11 - sum mod 11):
#   15088512313  fnr 15.08.1985, iii 123: w1 sum 175 ≡ 10 → k1 1; w2 sum 151 ≡ 8 → k2 3
#   55088512307  dnr 15.08.1985, iii 123: w1 sum 187 ≡ 0 → k1 0;  w2 sum 169 ≡ 4 → k2 7
#   15488512134  hnr 15.08.1985, iii 121: w1 sum 195 ≡ 8 → k1 3;  w2 sum 161 ≡ 7 → k2 4
#   01011051460  fnr 01.01.2010, iii 514: w1 sum 49 ≡ 5 → k1 6;   w2 sum 66 ≡ 0 → k2 0
#   01067060063  fnr 01.06.1870, iii 600: w1 sum 93 ≡ 5 → k1 6;   w2 sum 107 ≡ 8 → k2 3
#   15888512389  synthetic fnr 15.08.1985: w1 sum 223 ≡ 3 → k1 8; w2 sum 189 ≡ 2 → k2 9
#   41811051258  synthetic dnr 01.01.2010: w1 sum 105 ≡ 6 → k1 5; w2 sum 102 ≡ 3 → k2 8
KNOWN_VALID = [
    ("15088512313", IdKind.FODSELSNUMMER, date(1985, 8, 15), False),
    ("55088512307", IdKind.D_NUMMER, date(1985, 8, 15), False),
    ("15488512134", IdKind.H_NUMMER, date(1985, 8, 15), False),
    ("01011051460", IdKind.FODSELSNUMMER, date(2010, 1, 1), False),
    ("01067060063", IdKind.FODSELSNUMMER, date(1870, 6, 1), False),
    ("15888512389", IdKind.FODSELSNUMMER, date(1985, 8, 15), True),
    ("41811051258", IdKind.D_NUMMER, date(2010, 1, 1), True),
]

# 010203 123: w1 sum 56 ≡ 1, so the classic k1 would be 10 and no classic number exists.
# The 2032 rule takes k1 = 0 (56 + 0 ≡ 1 ∈ {0,1,2,3}); then w2 sum 48 ≡ 4 → k2 7.
VALID_ONLY_UNDER_2032 = "01020312307"


def k1_remainder(number: str) -> int:
    """Weighted sum (w1, then 1 for k1) mod 11: 0 under the classic rule, 0-3 under 2032."""
    return (sum(int(c) * w for c, w in zip(number, W1)) + int(number[9])) % 11


def with_second_control(first10: str) -> str | None:
    k2 = (11 - sum(int(c) * w for c, w in zip(first10, W2)) % 11) % 11
    return None if k2 == 10 else first10 + str(k2)


def make_prefix(born: date, individual: int, kind: IdKind, synthetic: bool) -> str:
    dd = born.day + (40 if kind is IdKind.D_NUMMER else 0)
    mm = born.month + (40 if kind is IdKind.H_NUMMER else 0) + (80 if synthetic else 0)
    return f"{dd:02d}{mm:02d}{born.year % 100:02d}{individual:03d}"


def problem_of(text: str, *, allow_synthetic: bool = False) -> IdProblem | None:
    try:
        parse_identity_number(text, allow_synthetic=allow_synthetic)
    except InvalidIdentityNumber as e:
        return e.problem
    return None


# --- strategies -------------------------------------------------------------------------


@st.composite
def number_specs(draw: st.DrawFn) -> tuple[date, int, IdKind, bool]:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2039, 12, 31)))
    if born.year >= 2000:
        individual = draw(st.integers(500, 999))
    elif born.year >= 1940:
        individual = draw(st.integers(0, 499) | st.integers(900, 999))
    else:
        individual = draw(st.integers(0, 499))
    kind = draw(st.sampled_from(IdKind))
    # Month + 40 + 80 does not fit two digits: there is no synthetic H-nummer.
    synthetic = kind is not IdKind.H_NUMMER and draw(st.booleans())
    return born, individual, kind, synthetic


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, date, IdKind, bool]:
    born, individual, kind, synthetic = draw(number_specs())
    number = make_identity_number(born, individual, kind=kind, synthetic=synthetic)
    assume(number is not None)
    return number, born, kind, synthetic


digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=11)
eleven_digits = st.text(alphabet="0123456789", min_size=11, max_size=11)


# --- identity numbers: properties ---------------------------------------------------------


@settings(max_examples=200)
@given(valid_numbers())
def test_made_numbers_parse_back(case: tuple[str, date, IdKind, bool]) -> None:
    number, born, kind, synthetic = case
    parsed = parse_identity_number(number, allow_synthetic=True)
    assert parsed == IdentityNumber(number, kind, born, synthetic)
    assert k1_remainder(number) == 0  # made by the classic rule
    assert check_partial(number, allow_synthetic=True) is None
    assert is_identity_number(number, allow_synthetic=True)


@settings(max_examples=200)
@given(valid_numbers())
def test_synthetic_numbers_need_permission(case: tuple[str, date, IdKind, bool]) -> None:
    number, _, _, synthetic = case
    if synthetic:
        with pytest.raises(InvalidIdentityNumber) as e:
            parse_identity_number(number)
        assert e.value.problem is IdProblem.SYNTHETIC_NOT_ALLOWED
        assert check_partial(number) is IdProblem.SYNTHETIC_NOT_ALLOWED
        assert not is_identity_number(number)
    else:
        assert parse_identity_number(number).synthetic is False


@settings(max_examples=200)
@given(valid_numbers(), st.integers(0, 10), st.integers(1, 9), st.booleans())
def test_changing_one_digit_always_breaks_the_number(
    case: tuple[str, date, IdKind, bool], position: int, shift: int, allow_synthetic: bool
) -> None:
    # Every w2 weight (and the 1 on k2) is nonzero mod 11, so any single-digit change breaks
    # the k2 check — even a change to k1 that the 2032 rule alone would have allowed.
    number = case[0]
    digit = (int(number[position]) + shift) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    date_broken = check_partial(changed[:9], allow_synthetic=True) is IdProblem.IMPOSSIBLE_DATE
    expected = IdProblem.IMPOSSIBLE_DATE if date_broken else IdProblem.CONTROL_DIGIT
    assert problem_of(changed, allow_synthetic=allow_synthetic) is expected


@settings(max_examples=200)
@given(valid_numbers(), st.integers(0, 9))
def test_first_control_digit_follows_the_2032_rule(case: tuple[str, date, IdKind, bool], k1: int) -> None:
    # Replacing k1 and recomputing k2 is the one change the 2032 rule can make legal.
    number = with_second_control(case[0][:9] + str(k1))
    assume(number is not None)
    valid = is_identity_number(number, allow_synthetic=True)
    assert valid == (k1_remainder(number) in {0, 1, 2, 3})


@settings(max_examples=100)
@given(number_specs())
def test_make_returns_the_one_classic_completion(spec: tuple[date, int, IdKind, bool]) -> None:
    born, individual, kind, synthetic = spec
    made = make_identity_number(born, individual, kind=kind, synthetic=synthetic)
    prefix = (made or make_prefix(born, individual, kind, synthetic))[:9]
    valid = [prefix + f"{k:02d}" for k in range(100) if is_identity_number(prefix + f"{k:02d}", allow_synthetic=True)]
    classic = [n for n in valid if k1_remainder(n) == 0]
    assert classic == ([made] if made else [])
    assert all(k1_remainder(n) in {1, 2, 3} for n in valid if n != made)


@settings(max_examples=200)
@given(valid_numbers(), st.integers(1, 10))
def test_prefixes_of_valid_numbers_are_plausible(case: tuple[str, date, IdKind, bool], length: int) -> None:
    # Not even a synthetic prefix is refused early: the full check owns that verdict.
    assert check_partial(case[0][:length]) is None


@settings(max_examples=200)
@given(digit_strings, eleven_digits)
def test_impossible_date_prefixes_stay_impossible(prefix: str, filler: str) -> None:
    number = prefix + filler[len(prefix) :]
    if check_partial(prefix) is IdProblem.IMPOSSIBLE_DATE:
        assert problem_of(number, allow_synthetic=True) is IdProblem.IMPOSSIBLE_DATE


@settings(max_examples=200)
@given(st.text(alphabet="0123456789", min_size=4, max_size=4))
def test_four_digit_prefix_judges_day_and_month(prefix: str) -> None:
    dd, mm = int(prefix[:2]), int(prefix[2:])
    day, is_d = (dd - 40, True) if dd > 40 else (dd, False)
    month, is_h = (mm - 40, True) if 40 < mm <= 52 else (mm - 80 if mm > 80 else mm, False)
    # 29 because the year is still unknown and a leap year may follow.
    longest = 29 if month == 2 else calendar.monthrange(2001, month)[1] if 1 <= month <= 12 else 0
    possible = 1 <= day <= longest and not (is_d and is_h)
    assert (check_partial(prefix) is None) == possible


@settings(max_examples=200)
@given(eleven_digits | valid_numbers().map(lambda case: case[0]), st.booleans())
def test_full_length_partial_check_agrees_with_parse(digits: str, allow_synthetic: bool) -> None:
    assert check_partial(digits, allow_synthetic=allow_synthetic) == problem_of(digits, allow_synthetic=allow_synthetic)


@given(st.text(min_size=11, max_size=11))
def test_mask_keeps_six_and_hides_five(value: str) -> None:
    assert mask(value) == value[:6] + " *****"


@given(st.text().filter(lambda s: len(s) != 11))
def test_mask_hides_every_other_length(value: str) -> None:
    assert mask(value) == "*" * len(value)


@settings(max_examples=200)
@given(valid_numbers())
def test_masked_number_never_shows_its_last_five(case: tuple[str, date, IdKind, bool]) -> None:
    parsed = parse_identity_number(case[0], allow_synthetic=True)
    assert parsed.masked == case[0][:6] + " *****"
    assert case[0][6:] not in repr(parsed)


# --- identity numbers: examples -----------------------------------------------------------


@pytest.mark.parametrize(("number", "kind", "born", "synthetic"), KNOWN_VALID)
def test_known_valid_numbers(number: str, kind: IdKind, born: date, synthetic: bool) -> None:
    parsed = parse_identity_number(number, allow_synthetic=True)
    assert (parsed.value, parsed.kind, parsed.birth_date, parsed.synthetic) == (
        number,
        kind,
        born,
        synthetic,
    )
    assert make_identity_number(born, int(number[6:9]), kind=kind, synthetic=synthetic) == number


def test_number_valid_only_under_the_2032_rule() -> None:
    assert make_identity_number(date(1903, 2, 1), 123) is None
    parsed = parse_identity_number(VALID_ONLY_UNDER_2032)
    assert parsed.birth_date == date(1903, 2, 1)
    assert k1_remainder(VALID_ONLY_UNDER_2032) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", IdProblem.EMPTY),
        ("   ", IdProblem.EMPTY),
        ("1508851231x", IdProblem.NON_DIGITS),
        ("150885--12313", IdProblem.NON_DIGITS),  # one separator between groups, not two
        ("150885/12313", IdProblem.NON_DIGITS),
        ("150885 -- 12313", IdProblem.NON_DIGITS),  # spaces around two separators do not make them one
        ("150885 -. 12313", IdProblem.NON_DIGITS),
        ("150885\t12313", IdProblem.NON_DIGITS),  # a tab is no space typed between groups
        ("１５０８８５１２３１３", IdProblem.NON_DIGITS),  # full-width digits
        ("1508851231", IdProblem.TOO_SHORT),
        ("150885123130", IdProblem.TOO_LONG),
        ("32088512313", IdProblem.IMPOSSIBLE_DATE),  # day 32
        ("15138512313", IdProblem.IMPOSSIBLE_DATE),  # month 13
        ("55488512313", IdProblem.IMPOSSIBLE_DATE),  # D- and H-nummer at once
        ("15088580013", IdProblem.IMPOSSIBLE_DATE),  # individual 800 is not issued for 1985
        ("29020012345", IdProblem.IMPOSSIBLE_DATE),  # iii 123 → 1900, not a leap year
        ("15088512314", IdProblem.CONTROL_DIGIT),
        ("15088512303", IdProblem.CONTROL_DIGIT),  # k1 0 leaves remainder 10: not even 2032
        ("15888512389", IdProblem.SYNTHETIC_NOT_ALLOWED),
    ],
)
def test_each_problem_has_a_concrete_input(text: str, problem: IdProblem) -> None:
    with pytest.raises(InvalidIdentityNumber) as e:
        parse_identity_number(text)
    assert e.value.problem is problem
    assert isinstance(e.value, ValueError)
    assert str(e.value).startswith("identity number ")


def test_surrounding_whitespace_and_single_inner_spaces_are_ignored() -> None:
    assert parse_identity_number("  150885 12313\n").value == "15088512313"
    assert parse_identity_number("150 885 123 13").value == "15088512313"


@pytest.mark.parametrize("text", ["150885-12313", "150885.12313", "15.08.85 12313"])
def test_the_common_separators_between_groups_are_ignored(text: str) -> None:
    assert parse_identity_number(text).value == "15088512313"
    assert check_partial(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "150885  12313",  # two spaces (issue 22: refused as «har bare sifre»)
        "150885     12313",
        "150 885  123 13",
        "150885 - 12313",  # one separator with spaces around it
        "150885- 12313",
        "150885 .12313",
        "150885\u00a012313",  # a no-break space, as copied from a document
        "150885\u202f12313",  # a narrow no-break space, as Norwegian number formatting writes groups
    ],
)
def test_any_run_of_spaces_between_groups_is_ignored(text: str) -> None:
    assert parse_identity_number(text).value == "15088512313"
    assert check_partial(text) is None


def test_an_organisation_number_takes_runs_of_spaces_too() -> None:
    assert parse_orgnr("974  760  673") == "974760673"


@pytest.mark.parametrize("text", ["150885-", "150885 -", "150885 ", "150885  ", "15.08.", "150885 - 1"])
def test_a_separator_typed_before_the_next_group_is_not_an_error_yet(text: str) -> None:
    assert check_partial(text) is None


@pytest.mark.parametrize("text", ["150885--", "150885/", "150885 x", "-150885"])
def test_a_stray_character_while_typing_is_still_an_error(text: str) -> None:
    assert check_partial(text) is IdProblem.NON_DIGITS


@pytest.mark.parametrize(
    ("number", "system"),
    [("15088512313", FNR_SYSTEM), ("55088512307", DNR_SYSTEM), ("15488512134", HNR_SYSTEM)],
)
def test_identifier_systems_follow_the_kind(number: str, system: str) -> None:
    assert parse_identity_number(number).system == system


def test_mask_example() -> None:
    assert mask("01020312345") == "010203 *****"
    assert mask("0102") == "****"
    assert mask("") == ""


@pytest.mark.parametrize(
    ("born", "individual", "kind", "synthetic"),
    [
        (date(2005, 1, 1), 123, IdKind.FODSELSNUMMER, False),  # 2000s need 500-999
        (date(1985, 1, 1), 800, IdKind.FODSELSNUMMER, False),  # 750-899 never before 2000
        (date(1920, 1, 1), 950, IdKind.FODSELSNUMMER, False),  # 900-999 only from 1940
        (date(1850, 1, 1), 600, IdKind.FODSELSNUMMER, False),  # 1800s start at 1854
        (date(1985, 1, 1), -1, IdKind.FODSELSNUMMER, False),
        (date(1985, 1, 1), 1000, IdKind.FODSELSNUMMER, False),
        (date(1985, 1, 1), 123, IdKind.H_NUMMER, True),
    ],
)
def test_make_refuses_impossible_requests(born: date, individual: int, kind: IdKind, synthetic: bool) -> None:
    with pytest.raises(ValueError):
        make_identity_number(born, individual, kind=kind, synthetic=synthetic)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("12a", IdProblem.NON_DIGITS),
        ("3213", IdProblem.IMPOSSIBLE_DATE),  # day 32
        ("0113", IdProblem.IMPOSSIBLE_DATE),  # month 13
        ("3102", IdProblem.IMPOSSIBLE_DATE),  # 31 February
        ("4102", None),  # D-nummer, day 1
        ("0181", None),  # synthetic month: judged only once complete
        ("0142", None),  # H-nummer, month 2
        ("010203", None),
        ("010203 1", None),
        ("2902001", IdProblem.IMPOSSIBLE_DATE),  # iii 1xx → 1900, not a leap year
        ("2902005", None),  # iii 5xx → 2000, a leap year
        ("150885123130", IdProblem.TOO_LONG),
        ("15088512314", IdProblem.CONTROL_DIGIT),
        ("15088512313", None),
    ],
)
def test_check_partial_examples(text: str, expected: IdProblem | None) -> None:
    assert check_partial(text) is expected


# --- organisation numbers -----------------------------------------------------------------

orgnr_prefixes = st.text(alphabet="0123456789", min_size=8, max_size=8)


@settings(max_examples=200)
@given(orgnr_prefixes)
def test_make_orgnr_round_trips_or_has_no_valid_control(first8: str) -> None:
    valid = [first8 + str(c) for c in range(10) if is_orgnr(first8 + str(c))]
    made = make_orgnr(first8)
    assert valid == ([made] if made else [])
    if made:
        assert parse_orgnr(made) == made


@settings(max_examples=200)
@given(orgnr_prefixes, st.integers(0, 8), st.integers(1, 9))
def test_changing_one_orgnr_digit_breaks_it(first8: str, position: int, shift: int) -> None:
    orgnr = make_orgnr(first8)
    assume(orgnr is not None)
    digit = (int(orgnr[position]) + shift) % 10
    changed = orgnr[:position] + str(digit) + orgnr[position + 1 :]
    with pytest.raises(InvalidOrgnr) as e:
        parse_orgnr(changed)
    assert e.value.problem is IdProblem.CONTROL_DIGIT


@pytest.mark.parametrize("orgnr", ["974760673", "983044778"])
def test_known_valid_orgnr(orgnr: str) -> None:
    # 974760673: 9·3+7·2+4·7+7·6+6·5+0·4+6·3+7·2 = 173 ≡ 8 → control 3
    # 983044778: 9·3+8·2+3·7+0·6+4·5+4·4+7·3+7·2 = 135 ≡ 3 → control 8
    assert parse_orgnr(orgnr) == orgnr
    assert make_orgnr(orgnr[:8]) == orgnr


def test_orgnr_spacing_is_forgiven() -> None:
    assert parse_orgnr(" 974 760 673 ") == "974760673"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", IdProblem.EMPTY),
        ("97476067a", IdProblem.NON_DIGITS),
        ("97476067", IdProblem.TOO_SHORT),
        ("9747606730", IdProblem.TOO_LONG),
        ("974760674", IdProblem.CONTROL_DIGIT),
    ],
)
def test_each_orgnr_problem_has_a_concrete_input(text: str, problem: IdProblem) -> None:
    with pytest.raises(InvalidOrgnr) as e:
        parse_orgnr(text)
    assert e.value.problem is problem
    assert not is_orgnr(text)


@pytest.mark.parametrize("first8", ["1234567", "123456789", "1234567a"])
def test_make_orgnr_needs_eight_digits(first8: str) -> None:
    with pytest.raises(ValueError):
        make_orgnr(first8)
