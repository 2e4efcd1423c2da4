"""POST /bench/bare/: a bare DRF endpoint that inserts one row; the same authentication, throttling,
middleware and server as the API, nothing of FlowPilot's. The load test's ceiling."""

from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import BareRow


class BareRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = BareRow
        fields = ["id", "payload", "created_at"]


class BareInsert(APIView):
    def post(self, request):
        data = BareRowSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = data.save()
        return Response(BareRowSerializer(row).data, status=status.HTTP_201_CREATED)
