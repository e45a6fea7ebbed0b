"""Who may open which page. Views declare the capability they need; this checks it.

Anonymous users go to the login page; staff without a clinic or a role see a page that
says so (not an error); staff without the capability get 403. Objects of another clinic
are never found (404), because every queryset starts from `clinics_for(user)`.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .roles import Capability
from .selectors import clinic_list, roles_of, works_at


def has_capability(user, capability: Capability) -> bool:
    return user.is_authenticated and user.has_perm(capability.perm)


def may_act(user, *capabilities: Capability, clinic) -> bool:
    """True when this active member of staff works at `clinic` and holds one of `capabilities`.

    Services check this themselves, so the page and the API can never disagree on who may act.
    """
    return bool(
        user is not None
        and user.is_active
        and any(has_capability(user, capability) for capability in capabilities)
        and works_at(user, clinic)
    )


def require_capability_at(user, *capabilities: Capability, clinic, doing: str) -> None:
    """Raise PermissionDenied ("Only staff of this clinic who may {doing} can do this.") unless may_act."""
    if not may_act(user, *capabilities, clinic=clinic):
        raise PermissionDenied(f"Only staff of this clinic who may {doing} can do this.")


def staff_only(*capabilities: Capability | None):
    """Decorate a view: signed-in staff with a clinic, a role and (optionally) one of `capabilities`."""
    wanted = [capability for capability in capabilities if capability is not None]

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_superuser:
                missing = []
                if not roles_of(user):
                    missing.append("role")
                if not (request.clinics if hasattr(request, "clinics") else clinic_list(user)):
                    missing.append("clinic")
                if missing:
                    return render(request, "clinics/no_access.html", {"missing": missing}, status=403)
            if wanted and not any(has_capability(user, capability) for capability in wanted):
                needed = "' or '".join(capability.label for capability in wanted)
                raise PermissionDenied(f"This page needs the '{needed}' permission.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
