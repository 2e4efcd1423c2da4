"""Session login for the single-page app: GET /auth/me/, POST /auth/login/, POST /auth/logout/.

The browser keeps a Django session cookie (the same one the WebSockets read) and sends the CSRF
cookie's value back as X-CSRFToken on every unsafe request. me/ and login/ always set the CSRF
cookie, so the app's first request gives it one. Login itself is CSRF-checked (no logging a victim
in as someone else), with DRF's check, so a refusal is a 403 in the API's error shape.
"""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.errors import InvalidInput

BAD_CREDENTIALS = "Invalid username or password."


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True, help_text="May be empty.")
    is_staff = serializers.BooleanField(read_only=True, help_text="May use the admin (/admin/): the app links it.")


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


@method_decorator(ensure_csrf_cookie, name="dispatch")
class MeView(APIView):
    """The signed-in user (401 when there is none). Sets the CSRF cookie either way."""

    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(UserSerializer(request.user).data)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class LoginView(APIView):
    """Sign in with a username and password: the answer sets the session cookie (and a new CSRF cookie)."""

    permission_classes = (permissions.AllowAny,)

    @extend_schema(request=LoginSerializer, responses=UserSerializer)
    def post(self, request):
        SessionAuthentication().enforce_csrf(request)
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request._request, **data.validated_data)
        if user is None:  # unknown user, wrong password, or inactive: one answer for all
            raise InvalidInput(BAD_CREDENTIALS, fields={"": [BAD_CREDENTIALS]})
        login(request._request, user)
        return Response(UserSerializer(user).data)


class LogoutView(APIView):
    """End the session (nothing to do without one)."""

    permission_classes = (permissions.AllowAny,)

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
