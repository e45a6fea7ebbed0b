"""Every API error is a problem-details body (RFC 9457) with a readable message.

`detail` is one sentence a person can read; `errors` names each field and its reasons,
so a client can show them next to its own inputs. Domain services raise Django's
ValidationError; it becomes a 400 here, never a 500.
"""

from http import HTTPStatus

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            field: [str(item) for item in (messages if isinstance(messages, list) else [messages])]
            for field, messages in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def _summary(errors: dict[str, list[str]]) -> str:
    parts = []
    for field, messages in errors.items():
        label = "" if field in ("non_field_errors", "__all__") else f"{field}: "
        parts.append(label + " ".join(messages))
    return "; ".join(parts)


def to_drf_validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError(exc.messages)


def problem_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = to_drf_validation_error(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handling and error logging take over

    body = {"type": "about:blank", "title": HTTPStatus(response.status_code).phrase, "status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        body.update(title="Invalid input", detail=_summary(errors), errors=errors)
    else:
        body["detail"] = str(getattr(exc, "detail", body["title"]))
    response.data = body

    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is None or renderer.format == "json":
        response.content_type = PROBLEM_CONTENT_TYPE
    return response
