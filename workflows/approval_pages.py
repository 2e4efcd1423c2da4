"""The pages an approve/reject link opens (/approval-links/<token>/), for people who may not be
signed in: GET shows what the link would decide and a button, changing nothing (mail scanners
open links); POST decides, once (services/approvals.py)."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .approval_links import LinkRefused
from .errors import Conflict, InvalidInput
from .services import approvals

TEMPLATE = "workflows/approval_link.html"


@csrf_exempt  # the signed token in the URL is the credential; no session is involved
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def approval_link(request, token: str):
    try:
        link, task = approvals.approval_link_read(token=token)
    except LinkRefused as refused:
        return render(request, TEMPLATE, {"title": "Link refused", "problem": refused.reason}, status=400)
    context = {"link": link, "task": task, "verb": "Approve" if link.approved else "Reject",
               "workflow": task.execution.workflow.name if task else "",
               "message": str((task.output or {}).get("message") or "")[:2000] if task else ""}
    if request.method == "POST":
        try:
            task = approvals.approval_link_use(token=token)
        except (Conflict, InvalidInput) as refused:
            return render(request, TEMPLATE, {**context, "title": "Not decided", "problem": refused.message},
                          status=409)
        return render(request, TEMPLATE, {**context, "title": "Approved" if link.approved else "Rejected",
                                          "done": True, "task": task})
    if task is None:
        return render(request, TEMPLATE, {**context, "title": "Nothing to decide",
                                          "problem": "This link was already used, or the approval is no longer "
                                                     "waiting (decided, timed out or cancelled)."}, status=409)
    return render(request, TEMPLATE, {**context, "title": f"{context['verb']} this step?"})
