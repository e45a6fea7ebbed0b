"""Every API error is a problem-details body (RFC 9457) with a readable message.

`detail` is one sentence a person can read; `errors` names each field and its reasons,
so a client can show them next to its own inputs; the nested errors of a list or dict input
become sentences on that input's own field. Domain services raise Django's
ValidationError; it becomes a 400 here, never a 500.
"""

from http import HTTPStatus

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"


NON_FIELD_KEYS = ("non_field_errors", "__all__")


def _sentences(detail, prefix: str = ""):
    """Nested errors of a list or dict input as plain sentences ('item 2, count: ...')."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            # DRF keys a list's errors by position (LIST_SERIALIZER_ERRORS_AS_DICT); people count from 1.
            label = f"item {key + 1}, " if isinstance(key, int) else "" if key in NON_FIELD_KEYS else f"{key}: "
            yield from _sentences(value, prefix + label)
    elif isinstance(detail, list):
        for index, item in enumerate(detail, start=1):
            if isinstance(item, dict | list):
                yield from _sentences(item, f"{prefix}item {index}, ")
            else:
                yield f"{prefix}{item}"
    else:
        yield f"{prefix}{detail}"


def _is_nested(messages) -> bool:
    return isinstance(messages, dict) or (
        isinstance(messages, list) and any(isinstance(item, dict | list) for item in messages)
    )


def _messages(field: str, messages) -> list[str]:
    """A field's reasons as strings: a problem body lists sentences, never a repr of DRF's nesting."""
    if not _is_nested(messages):
        return [str(item) for item in (messages if isinstance(messages, list) else [messages])]
    # A list or dict input (rows of `ampoules`, say): each row's refusal becomes a sentence on the
    # field itself, labelled as the services label theirs ("Ampoules: item 2, count: ...").
    label = "" if field in NON_FIELD_KEYS else field.replace("_", " ").capitalize() + ": "
    return [label + sentence for sentence in _sentences(messages)]


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {field: _messages(field, messages) for field, messages in detail.items()}
    return {"non_field_errors": _messages("non_field_errors", detail)}


def _summary(errors: dict[str, list[str]]) -> str:
    parts = []
    for field, messages in errors.items():
        label = "" if field in NON_FIELD_KEYS else f"{field}: "
        parts.append(label + " ".join(messages))
    return "; ".join(parts)


def to_drf_validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError(exc.messages)


def problem_exception_handler(exc, context):
    rule = getattr(exc, "rule", None)  # a safety rule's refusal (dosing.rules.RuleViolation) names its rule
    if isinstance(exc, DjangoValidationError):
        exc = to_drf_validation_error(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handling and error logging take over

    body = {"type": "about:blank", "title": HTTPStatus(response.status_code).phrase, "status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        body.update(title="Invalid input", detail=_summary(errors), errors=errors)
        if isinstance(rule, str):
            body["rule"] = rule
    else:
        body["detail"] = str(getattr(exc, "detail", body["title"]))
    response.data = body

    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is None or renderer.format == "json":
        response.content_type = PROBLEM_CONTENT_TYPE
    return response
