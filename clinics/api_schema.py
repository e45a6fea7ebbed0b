"""The OpenAPI schema tells the truth about errors and bounds (issue 11, hole 16), for every endpoint at once.

A drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) rather than
an `extend_schema` on each view: every API view answers its errors through the one exception
handler (clinics/api_errors.py), so every operation can answer the same error statuses, always
as `application/problem+json`:

- 400 bad input, 401 no or bad credentials, 403 not allowed, 404 not found (or not yours),
  406 an Accept header we cannot serve, 429 throttled; with a body also 413 and 415;
- an error answer a view documented itself keeps its description and schema, as problem+json;
- integer parameters get the bounds the parsers enforce (clinics/parsing.py: ids from 1 to
  PostgreSQL's bigint maximum; pages from 1).
"""

from .api_errors import PROBLEM_CONTENT_TYPE
from .parsing import ID_MAX

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An error as problem details (RFC 9457): `detail` says what went wrong in one sentence.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Bad input: each field or parameter and its reasons.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail"],
}
EVERY_OPERATION = {
    "400": "Bad input: `errors` names each field or parameter and its reasons.",
    "401": "No credentials, or ones that are unknown or expired: sign in (staff) or get a new token (partners).",
    "403": "Signed in, but your role or token's scopes do not allow this.",
    "404": "Not found: no such thing, one of another clinic or organisation, a page past the end, or no such path.",
    "406": "The Accept header asks for a format this endpoint does not produce.",
    "429": "Too many requests; try again after `Retry-After` seconds.",
}
WITH_A_BODY = {
    "413": "The request body is larger than the limit.",
    "415": "The request body is not in a format this endpoint reads (send application/json).",
}
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


def add_problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if code[0] in "45":
                    _as_problem(response)
            wanted = {**EVERY_OPERATION, **(WITH_A_BODY if "requestBody" in operation else {})}
            for code, description in wanted.items():
                responses.setdefault(code, {"description": description, "content": {PROBLEM_CONTENT_TYPE: _problem()}})
            for parameter in operation.get("parameters", []):
                _bound(parameter)
    return result


def _problem() -> dict:
    return {"schema": dict(PROBLEM_REF)}


def _as_problem(response: dict) -> None:
    content = response.get("content") or {}
    schema = next((media.get("schema") for media in content.values() if media.get("schema")), None)
    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": schema} if schema else _problem()}


def _bound(parameter: dict) -> None:
    schema = parameter.get("schema", {})
    if schema.get("type") != "integer":
        return
    schema.setdefault("minimum", 1)
    schema.setdefault("maximum", ID_MAX)
