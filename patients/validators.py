from django.core.exceptions import ValidationError

from clinics.parsing import is_ascii_digits

PHOTO_MAX_BYTES = 5 * 1024 * 1024
# Checked from the file's header before decoding: a 20 kB PNG can claim 13000 x 13000 pixels,
# half a gigabyte once decoded. 40 megapixels is more than any phone's default photo.
PHOTO_MAX_PIXELS = 40_000_000


def photo_too_many_pixels(width: int, height: int) -> str:
    return (
        f"Photo is {width} x {height} pixels; the most is {PHOTO_MAX_PIXELS // 1_000_000} megapixels "
        "(e.g. 8000 x 5000). Send a smaller one."
    )


def normalise_nhs_number(value: str | None) -> str:
    """People write NHS numbers as '943 476 5919' or '943-476-5919'; we store the ten digits."""
    return "".join((value or "").split()).replace("-", "")


def nhs_number_is_valid(value: str) -> bool:
    """Ten digits whose tenth is the modulus 11 check digit of the first nine (NHS Data Dictionary)."""
    if len(value) != 10 or not is_ascii_digits(value):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10:  # no valid number has this remainder
        return False
    return check == int(value[9])


def validate_nhs_number(value: str) -> None:
    if not value:
        return  # optional: some people have no NHS number
    if len(value) != 10 or not is_ascii_digits(value):
        raise ValidationError("NHS number must be exactly 10 digits (spaces are fine).", code="invalid_nhs_number")
    if not nhs_number_is_valid(value):
        raise ValidationError(
            "NHS number is not valid: its last digit does not match the check digit. "
            "Please check for a mistyped digit.",
            code="invalid_nhs_number",
        )
