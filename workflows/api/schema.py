"""OpenAPI: the error answers, which drf-spectacular leaves out, documented on every operation.

Every 4xx of the API is one JSON shape (workflows.api.errors.exception_handler): {"message": ...},
with "fields" ({path: [messages]}) when the input was refused. A drf-spectacular postprocessing hook
(SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds it as the Error component and answers
400 (when the operation takes a body or query parameters), 401 (when it needs credentials),
404 (when its path names an object) and 4XX for the rest (405, 409, 413, 415, 429...).
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": 'The refused input, by field path ("steps[1].key", "steps.a.config.url").',
        },
    },
    "required": ["message"],
}
METHODS = ("get", "put", "post", "patch", "delete")


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
                responses.setdefault("400", _error("Invalid input: the message, and the refused fields."))
            if {} not in operation.get("security", [{}]):  # {}: anonymous requests are allowed
                responses.setdefault("401", _error("No credentials, or invalid ones."))
            if any(p["in"] == "path" for p in parameters):
                responses.setdefault("404", _error("Not found (or not yours)."))
            responses.setdefault("4XX", _error("Another client error: method not allowed, conflicting state, "
                                               "body too large, unsupported media type, throttled..."))
    return result
