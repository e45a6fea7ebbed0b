"""Reads about drug alerts for the banner, the staff pages and the partner feed."""

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from clinics.cursors import decode_cursor, encode_cursor
from clinics.selectors import clinics_for

from .models import AlertAcknowledgement, AlertStatus, DrugAlert

FEED_PAGE_SIZE = 50
FEED_MAX_PAGE_SIZE = 200
FEED_STATUSES = (AlertStatus.PUBLISHED, AlertStatus.WITHDRAWN)


def unacknowledged_alerts(user, clinic, *, now=None) -> list[DrugAlert]:
    """The banner: published, unexpired alerts of `clinic` whose current version this user has not read. One query."""
    if clinic is None or not user.is_authenticated:
        return []
    now = now or timezone.now()
    read_current_version = AlertAcknowledgement.objects.filter(
        alert=OuterRef("pk"), user=user, version=OuterRef("version")
    )
    return list(
        DrugAlert.objects.live(now=now)
        .filter(clinic=clinic)
        .exclude(Exists(read_current_version))
        .order_by("-published_at", "-pk")
    )


def alerts_of_clinic(user, clinic) -> QuerySet[DrugAlert]:
    """The staff list: every alert of the user's current clinic (another clinic's: none)."""
    return (
        DrugAlert.objects.filter(clinic__in=clinics_for(user), clinic=clinic)
        .select_related("submitted_by_partner", "published_by")
        .annotate(acknowledged=Count("acknowledgements"))
        .order_by("-created_at", "-pk")
    )


def alert_detail(user, pk: int) -> DrugAlert:
    """One alert of the user's clinics (DoesNotExist for another clinic's)."""
    return (
        DrugAlert.objects.filter(clinic__in=clinics_for(user))
        .select_related("clinic", "submitted_by_partner", "published_by", "withdrawn_by", "declined_by")
        .get(pk=pk)
    )


def acknowledgements_of(alert: DrugAlert):
    return alert.acknowledgements.select_related("user").order_by("at")


# --- The partner feed ------------------------------------------------------------------------


def partner_feed(clinic_id: int) -> QuerySet[DrugAlert]:
    """What a partner's client sees: its clinic's published (live or expired) and withdrawn alerts, never
    drafts, submissions or declined ones (another partner's submissions are not for it to see)."""
    return DrugAlert.objects.filter(clinic_id=clinic_id, status__in=FEED_STATUSES).select_related("clinic")


def feed_page(alerts: QuerySet[DrugAlert], *, updated_since=None, cursor=None, page_size=FEED_PAGE_SIZE):
    """A page ordered by (updated_at, id), as the partner referral list: a changed alert moves to the end."""
    if updated_since is not None:
        alerts = alerts.filter(updated_at__gte=updated_since.astimezone(dt.UTC))
    if cursor:
        moment, pk = decode_cursor(cursor)
        alerts = alerts.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, pk__gt=pk))
    rows = list(alerts.order_by("updated_at", "pk")[: page_size + 1])
    next_cursor = encode_cursor(rows[page_size - 1]) if len(rows) > page_size else None
    return rows[:page_size], next_cursor
