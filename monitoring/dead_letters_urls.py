"""Routes of the dead-letter queues (under /api/v1/)."""

from django.urls import path

from . import dead_letters_api as api

urlpatterns = [
    path("dead-letters/", api.DeadLetterListView.as_view(), name="dead-letter-list"),
    path("dead-letters/<str:group>/", api.DeadLetterDetailView.as_view(), name="dead-letter-detail"),
    path("dead-letters/<str:group>/retry/", api.DeadLetterRetryView.as_view(), name="dead-letter-retry"),
    path("dead-letters/<str:group>/dismiss/", api.DeadLetterDismissView.as_view(), name="dead-letter-dismiss"),
]
