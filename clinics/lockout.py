"""The page shown when django-axes refuses a sign-in: it says how long the pause lasts and until when."""

from datetime import timedelta

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.shortcuts import render
from django.utils import timezone

from .client_ip import client_ip_address


def lockout_until(*, username: str, ip_address: str | None):
    """When the pause of this (username, address) pair ends, from its latest failed attempt."""
    attempt = AccessAttempt.objects.filter(username=username, ip_address=ip_address).order_by("-attempt_time").first()
    cool_off = get_cool_off() or timedelta(0)
    return (attempt.attempt_time if attempt else timezone.now()) + cool_off


def lockout_response(request, original_response=None, credentials=None):
    username = get_client_username(request, credentials) or ""
    cool_off = get_cool_off(request) or timedelta(0)
    until = lockout_until(username=username, ip_address=client_ip_address(request))
    context = {"minutes": int(cool_off.total_seconds() // 60), "until": timezone.localtime(until)}
    return render(request, "registration/locked_out.html", context, status=429)
