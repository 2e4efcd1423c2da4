from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import ApiTokenViewSet
from .session_api import LoginView, LogoutView, MeView

router = SimpleRouter()
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("auth/me/", MeView.as_view(), name="auth-me"),
    path("auth/login/", LoginView.as_view(), name="auth-login"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    *router.urls,
]
