from django.core.exceptions import ValidationError


def nhs_number_is_valid(value: str) -> bool:
    """Ten digits whose tenth is the modulus 11 check digit of the first nine (NHS Data Dictionary)."""
    if len(value) != 10 or not value.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10:  # no valid number has this remainder
        return False
    return check == int(value[9])


def validate_nhs_number(value: str) -> None:
    if value and not nhs_number_is_valid(value):
        raise ValidationError(
            "An NHS number is 10 digits and its last digit must match the check digit; please check it.",
            code="invalid_nhs_number",
        )
