import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from . import work_queues
from .access import staff_only
from .middleware import SESSION_KEY
from .navigation import links_for_role
from .parsing import parse_int
from .roles import Role
from .selectors import clinics_for, roles_of, staff_of_clinic
from .services import totp_device_confirm, totp_device_for_setup, totp_verify, witness_pin_set


@staff_only()
def home(request):
    roles = roles_of(request.user)
    links = {role.value: links_for_role(role, request.user) for role in roles}
    queues = work_queues.queues_for(request.user, getattr(request, "clinic", None))
    return render(request, "clinics/home.html", {"role_names": set(links), "links": links, "queues": queues})


@staff_only()
def clinic_detail(request, pk: int):
    clinic = get_object_or_404(clinics_for(request.user), pk=pk)
    staff = staff_of_clinic(clinic)
    by_role = {role: [] for role in Role}
    for member in staff:
        for group in member.groups.all():
            if group.name in Role.values:
                by_role[Role(group.name)].append(member)
    return render(request, "clinics/clinic_detail.html", {"clinic": clinic, "staff_by_role": by_role.items()})


@require_POST
@staff_only()
def switch_clinic(request):
    clinic = get_object_or_404(clinics_for(request.user), pk=parse_int(request.POST.get("clinic"), name="clinic"))
    request.session[SESSION_KEY] = clinic.pk
    messages.success(request, f"You are now working in {clinic.name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "home"
    return redirect(target)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def _qr_code_data_uri(text: str) -> str:
    buffer = BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
def two_factor_setup(request):
    """Enrol an authenticator app: scan the code (or type the key), then confirm with one code."""
    if request.user.is_verified():
        return redirect(_safe_next(request))
    device = totp_device_for_setup(user=request.user)
    error = ""
    if request.method == "POST":
        confirmed = totp_device_confirm(user=request.user, token=request.POST.get("token", "").strip())
        if confirmed is not None:
            otp_login(request, confirmed)
            messages.success(request, "Two-factor sign-in is set up. You will be asked for a code each time.")
            return redirect(_safe_next(request))
        error = "That code is not right. Check the time on your phone and try the newest code."
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "qr_code": _qr_code_data_uri(device.config_url),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "error": error,
        "next": _safe_next(request),
    }
    return render(request, "clinics/two_factor_setup.html", context, status=400 if error else 200)


@login_required
def two_factor_verify(request):
    """The second step of signing in: a code from the authenticator app."""
    if request.user.is_verified():
        return redirect(_safe_next(request))
    error = ""
    if request.method == "POST":
        device = totp_verify(user=request.user, token=request.POST.get("token", "").strip())
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request))
        error = "That code is not right. Try the newest code from your authenticator app."
    return render(
        request,
        "clinics/two_factor_verify.html",
        {"error": error, "next": _safe_next(request)},
        status=400 if error else 200,
    )


@staff_only()
def witness_pin(request):
    """Set the PIN used to confirm witnessing a dose or a register entry (S9)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        pin, again = request.POST.get("pin", ""), request.POST.get("pin_again", "")
        if not request.user.check_password(request.POST.get("password", "")):
            errors["password"] = "Password: not correct."  # noqa: S105 (a message, not a secret)
        elif pin != again:
            errors["pin_again"] = "Repeat PIN: the two PINs are not the same."
        else:
            try:
                witness_pin_set(user=request.user, pin=pin)
            except ValidationError as exc:
                errors.update({field: " ".join(messages) for field, messages in exc.message_dict.items()})
            else:
                messages.success(
                    request, "Your witness PIN is set. Use it when you witness a dose or a register entry."
                )
                return redirect("home")
    context = {"errors": errors, "has_pin": bool(request.user.witness_pin)}
    return render(request, "clinics/witness_pin.html", context, status=400 if errors else 200)
