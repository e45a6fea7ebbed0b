from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .checks import CHECKS
from .selectors import scheduled_jobs


@never_cache
@require_GET
def health(request):
    """200 when the database, Redis and the Celery workers answer; 503 naming each part that does not.

    Late scheduled jobs are a warning, not a failure: the web service itself is well and keeps
    dosing, and a load balancer must not take it out of service because beat has stopped.
    """
    results = {}
    for name, check in CHECKS.items():
        ok, detail = check()
        results[name] = {"ok": ok, "detail": detail}
    failing = [name for name, result in results.items() if not result["ok"]]
    body = {"status": "failing" if failing else "ok", "failing": failing, "checks": results, "warnings": []}
    if results["database"]["ok"]:
        jobs = scheduled_jobs()
        body["scheduled_jobs"] = {
            "last_run": jobs.last_run.isoformat() if jobs.last_run else None,
            "stale": jobs.stale,
            "jobs": {
                job.name: {"task": job.task, "last_run": job.last_run.isoformat() if job.last_run else None}
                | {"stale": job.stale}
                for job in jobs.jobs
            },
        }
        if jobs.stale:
            body["warnings"].append(jobs.warning())
    return JsonResponse(body, status=503 if failing else 200)
