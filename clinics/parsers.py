"""The API's one JSON parser (DRF's DEFAULT_PARSER_CLASSES): bodies nested too deep are a 400.

`[` a thousand times over is 2 kB that makes Python's JSON decoder (or whatever walks the result
next) recurse until RecursionError: a 500. No body of ours nests more than a few levels, so
anything deeper than MAX_JSON_DEPTH is refused as malformed, before any view sees it.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32
TOO_DEEP = f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep; no request here needs that."


def json_depth_exceeds(data, limit: int) -> bool:
    """True when lists and objects in `data` nest deeper than `limit` (iterative: no recursion of its own)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
