"""NHS number, date of birth and TOP schedule rules, with the messages people will read."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from patients import rules
from patients.validators import nhs_number_is_valid, normalise_nhs_number, validate_nhs_number

from .conftest import INVALID_NHS, VALID_NHS


@pytest.mark.parametrize("number", [VALID_NHS, "4010232137", "9990000026"])
def test_valid_nhs_numbers_pass_the_modulus_11_check(number):
    assert nhs_number_is_valid(number)
    validate_nhs_number(number)


@pytest.mark.parametrize("number", [INVALID_NHS, "1234567890", "4010232138"])
def test_a_wrong_check_digit_is_refused_with_a_message_naming_the_field(number):
    with pytest.raises(ValidationError) as error:
        validate_nhs_number(number)
    assert error.value.messages == [
        "NHS number is not valid: its last digit does not match the check digit. Please check for a mistyped digit."
    ]


@pytest.mark.parametrize("number", ["943476591", "94347659190", "94347659x9"])
def test_a_number_that_is_not_ten_digits_is_refused(number):
    with pytest.raises(ValidationError, match="NHS number must be exactly 10 digits"):
        validate_nhs_number(number)


def test_a_remainder_of_ten_is_never_a_valid_number():
    # 1000000010: weights give 10*1 + 2*1 = 12 -> 11 - 1 = 10, which no number may use
    assert not nhs_number_is_valid("1000000010")


def test_spaces_and_dashes_are_dropped_and_empty_means_no_number():
    assert normalise_nhs_number(" 943 476-5919 ") == VALID_NHS
    validate_nhs_number("")


def test_date_of_birth_in_the_future_is_refused():
    with pytest.raises(ValidationError) as error:
        rules.check_date_of_birth(datetime.date(2026, 3, 2), on=datetime.date(2026, 3, 1))
    assert error.value.message_dict == {"date_of_birth": ["Date of birth cannot be in the future; please check it."]}


@pytest.mark.parametrize(("born", "age"), [(datetime.date(2010, 3, 2), 15), (datetime.date(1925, 2, 28), 101)])
def test_an_implausible_age_at_registration_is_refused(born, age):
    with pytest.raises(ValidationError) as error:
        rules.check_date_of_birth(born, on=datetime.date(2026, 3, 1))
    assert error.value.message_dict["date_of_birth"] == [
        f"Date of birth gives an age of {age}; patients are 16 to 100 years old at registration. Please check the year."
    ]


@pytest.mark.parametrize("born", [datetime.date(2010, 3, 1), datetime.date(1926, 3, 2)])
def test_ages_16_and_100_are_accepted(born):
    rules.check_date_of_birth(born, on=datetime.date(2026, 3, 1))


def test_the_start_interview_is_due_at_once_and_overdue_91_days_after_the_start():
    start = datetime.date(2026, 1, 5)
    now = rules.top_schedule(episode_started_on=start, last_interview_on=None, today=start)
    assert now.is_due and now.is_start_interview and not now.is_overdue
    assert now.deadline == datetime.date(2026, 4, 6)
    late = rules.top_schedule(episode_started_on=start, last_interview_on=None, today=datetime.date(2026, 4, 7))
    assert late.is_overdue


def test_the_next_interview_is_due_14_days_before_91_days_after_the_last():
    start, last = datetime.date(2026, 1, 5), datetime.date(2026, 1, 10)
    deadline = last + datetime.timedelta(days=91)
    quiet = rules.top_schedule(
        episode_started_on=start, last_interview_on=last, today=deadline - datetime.timedelta(15)
    )
    assert not quiet.is_due
    due = rules.top_schedule(episode_started_on=start, last_interview_on=last, today=deadline - datetime.timedelta(14))
    assert due.is_due and not due.is_overdue
    on_deadline = rules.top_schedule(episode_started_on=start, last_interview_on=last, today=deadline)
    assert on_deadline.is_due and not on_deadline.is_overdue
    after = rules.top_schedule(episode_started_on=start, last_interview_on=last, today=deadline + datetime.timedelta(1))
    assert after.is_overdue
