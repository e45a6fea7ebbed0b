from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import user_has_device

from . import work_queues
from .access import staff_only
from .middleware import SESSION_KEY
from .navigation import links_for_role
from .parsing import parse_int
from .roles import Capability, Role
from .selectors import clinics_for, roles_of, security_events_for, staff_of_clinic
from .services import remember_clinic, witness_pin_set


@staff_only()
def home(request):
    roles = roles_of(request.user)
    links = {role.value: links_for_role(role, request.user) for role in roles}
    queues = work_queues.queues_for(request.user, getattr(request, "clinic", None))
    context = {"role_names": set(links), "links": links, "queues": queues}
    if request.clinic is not None and request.user.has_perm(Capability.MANAGE_CLINIC.perm):
        context["security_events"] = security_events_for(request.clinic, limit=5)
    return render(request, "clinics/home.html", context)


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
    remember_clinic(user=request.user, clinic=clinic)
    messages.success(request, f"You are now working in {clinic.name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "home"
    return redirect(target)


@staff_only()
def witness_pin(request):
    """Set the PIN used to confirm witnessing a dose or a register entry (S9).

    It is a signature: it needs the second factor (for anyone who has one, and for everyone when
    STAFF_2FA_REQUIRED) and the account password typed again.
    """
    user = request.user
    if not user.is_verified() and (settings.STAFF_2FA_REQUIRED or user_has_device(user, confirmed=True)):
        return redirect_to_login(request.get_full_path())
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
