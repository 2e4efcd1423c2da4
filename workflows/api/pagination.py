"""The API's list pages: limit/offset, capped.

A client that does not ask gets today's page: {count, next, previous, results}, PAGE_SIZE items.
A client that asks (?limit=, ?offset=) gets the same page and also the `limit` and `offset` it was
served with and, for workflows and executions, the list under the name seed 002's README reads
(`workflows`, `executions`) besides `results`. limit is capped at MAX_LIMIT (a larger one is served
MAX_LIMIT items, as DRF's max_limit does); an offset past any table is an empty page, not a SQL
overflow.
"""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000
MAX_OFFSET = 2**62  # PostgreSQL's OFFSET is a bigint: a larger one was a 500; this far, a page is empty anyway


class ListPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT
    list_key: str | None = None  # the list's other name, for clients that ask for limit/offset

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        self.asked = self.limit_query_param in params or self.offset_query_param in params
        return super().paginate_queryset(queryset, request, view)

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.asked:
            response.data["limit"] = self.limit
            response.data["offset"] = self.offset
            if self.list_key:
                response.data[self.list_key] = response.data["results"]
        return response

    def get_paginated_response_schema(self, schema):
        page = super().get_paginated_response_schema(schema)
        asked = "Only when the request gave limit or offset."
        page["properties"]["limit"] = {"type": "integer", "description": f"The limit served (at most {MAX_LIMIT}). {asked}"}
        page["properties"]["offset"] = {"type": "integer", "description": f"The offset served. {asked}"}
        if self.list_key:
            page["properties"][self.list_key] = {**schema, "description": f"The same items as results. {asked}"}
        return page

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": MAX_LIMIT}
                parameter["description"] = f"Number of results to return per page (at most {MAX_LIMIT})."
        return parameters


def named(list_key: str) -> type[ListPagination]:
    """The pagination of a list also answered under `list_key` when the client asks for limit/offset."""
    return type(f"{list_key.title()}Pagination", (ListPagination,), {"list_key": list_key, "__module__": __name__})
