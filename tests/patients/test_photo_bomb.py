"""Issue 11, hole 8: a small file that claims a huge picture is refused before it is decoded.

A 13000 x 13000 PNG of one colour compresses to about 20 kB but decodes to about half a
gigabyte as RGB. The size in the file's header is checked first (patients.validators.PHOTO_MAX_PIXELS);
such a photo is refused with a message on the upload form, and nothing is stored.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from patients.validators import PHOTO_MAX_PIXELS

from .conftest import image_upload

pytestmark = pytest.mark.django_db


def bomb(size=(13000, 13000), fmt="PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("1", size, 0).save(buffer, format=fmt, optimize=True)
    return SimpleUploadedFile(f"bomb.{fmt.lower()}", buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def test_a_decompression_bomb_is_refused_before_decoding(client_for, keyworker, patient):
    upload = bomb()
    assert upload.size < 100_000  # small on the wire: the size limit in bytes does not catch it

    response = client_for(keyworker).post(reverse("patient-photo-upload", args=[patient.pk]), {"photo": upload})

    assert response.status_code == 200
    errors = response.context["form"].errors["photo"]
    assert errors == [
        "Photo is 13000 x 13000 pixels; the most is 40 megapixels (e.g. 8000 x 5000). Send a smaller one."
    ]
    patient.refresh_from_db()
    assert not patient.photo


def test_a_photo_just_within_the_pixel_limit_is_taken(client_for, keyworker, patient):
    assert PHOTO_MAX_PIXELS >= 8000 * 5000

    response = client_for(keyworker).post(
        reverse("patient-photo-upload", args=[patient.pk]), {"photo": image_upload(size=(8000, 5000), fmt="PNG")}
    )

    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.photo
