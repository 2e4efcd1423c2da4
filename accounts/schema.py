"""OpenAPI: ApiTokenAuthentication uses the same header as DRF's token scheme, so it is the same scheme."""

from drf_spectacular.authentication import TokenScheme


class ApiTokenScheme(TokenScheme):
    target_class = "accounts.authentication.ApiTokenAuthentication"
