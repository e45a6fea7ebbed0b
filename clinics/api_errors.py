"""Every API error is a problem-details body (RFC 9457) with a readable message.

`detail` is one sentence a person can read; `errors` names each field and its reasons,
so a client can show them next to its own inputs; the nested errors of a list or dict input
become sentences on that input's own field. Domain services raise Django's
ValidationError; it becomes a 400 here, never a 500.
"""

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
# A session-authenticated API still answers 401 to a caller without credentials (RFC 9110 wants a
# challenge with it): sign in at /accounts/login/, then send the session cookie and CSRF token.
SESSION_CHALLENGE = 'Session realm="HAT Clinic staff API"'
NO_ENDPOINT = "No API endpoint at this address; the API's paths are listed at /api/schema/."


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


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:.1f} MB" if limit >= 1024 * 1024 else f"{limit / 1024:.0f} kB"


def _as_api_exception(exc):
    """Django's own exceptions as DRF's, with their message: the problem body then says what happened."""
    if isinstance(exc, DjangoValidationError):
        return to_drf_validation_error(exc)
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return PayloadTooLarge(f"The request body is larger than the {_size(limit)} allowed; send less.")
    if isinstance(exc, SuspiciousOperation):  # e.g. too many form fields: the request is malformed
        return exceptions.ParseError(str(exc) or "The request is malformed.")
    return exc


def problem_exception_handler(exc, context):
    rule = getattr(exc, "rule", None)  # a safety rule's refusal (dosing.rules.RuleViolation) names its rule
    exc = _as_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handling and error logging take over
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed) and response.status_code == 403:
        # DRF answers 403 when the view's authenticators offer no challenge (session authentication).
        response.status_code = 401
        response["WWW-Authenticate"] = SESSION_CHALLENGE

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
    if renderer is not None and renderer.format not in ("json", "api"):
        # A CSV (or other) endpoint's error is a problem body too, not a CSV file of an error.
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), PROBLEM_CONTENT_TYPE
        renderer = request.accepted_renderer
    if renderer is None or renderer.format == "json":
        response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_response(status: int, detail: str) -> JsonResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


# Django's error views (handler400/403/404/500 in hat_clinic/urls.py): pages keep their templates,
# anything under /api/ that no API view answered (an unknown path, a body refused before the view) is a problem.
def bad_request(request, exception):
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return problem_response(413, str(_as_api_exception(exception).detail))
        return problem_response(400, "The request is malformed.")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return problem_response(403, str(exception) or "You do not have permission to do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return problem_response(404, NO_ENDPOINT)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return problem_response(500, "Something went wrong on our side; it has been logged. Please try again later.")
    return defaults.server_error(request)
