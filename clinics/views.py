from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .access import staff_only
from .middleware import SESSION_KEY
from .navigation import links_for_role
from .roles import Role
from .selectors import clinics_for, roles_of, staff_of_clinic


@staff_only()
def home(request):
    roles = roles_of(request.user)
    links = {role.value: links_for_role(role, request.user) for role in roles}
    return render(request, "clinics/home.html", {"role_names": set(links), "links": links})


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
    clinic = get_object_or_404(clinics_for(request.user), pk=request.POST.get("clinic"))
    request.session[SESSION_KEY] = clinic.pk
    messages.success(request, f"You are now working in {clinic.name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "home"
    return redirect(target)
