"""Authentication backend: Django's ModelBackend, with a user's access read in as few queries as possible.

Every staff request checks a capability (`has_capability`), which makes ModelBackend load the
user's permissions: one query for those granted directly and one for those through groups
(our roles). One query for both is one less round trip on every board poll and every dose.

On PostgreSQL the user of a signed-in request is loaded together with their roles, permissions and
active clinics in one statement (`get_user`): every board poll of every tablet needs all four, and
an unchanged poll is otherwise mostly these look-ups (issue 13). Nothing is kept between requests:
they are read afresh with the user row each time, so a role or clinic taken away applies to the
very next request, by whatever path it was changed (admin, manager's page, shell, SQL), with no
cache to invalidate.
"""

from django.contrib.auth.backends import ModelBackend, UserModel
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import F, OuterRef, Q, Value
from django.db.models.functions import Concat, JSONObject

from .models import Clinic
from .roles import Role


class StaffBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            granted = Permission.objects.all()
            if not user_obj.is_superuser:
                granted = granted.filter(Q(user=user_obj) | Q(group__user=user_obj))
            names = granted.values_list("content_type__app_label", "codename").order_by().distinct()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in names}
        return user_obj._perm_cache

    def get_user(self, user_id):
        """The session's user with their roles, permissions and active clinics: one query on PostgreSQL.

        The same values `roles_of`, `get_all_permissions` and `clinic_list` would read (each caches
        on the user object for the request only); a system administrator's come the usual way.
        """
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        fields = [field.attname for field in Clinic._meta.concrete_fields]
        clinics = (
            Clinic.objects.filter(staff=OuterRef("pk"), is_active=True)
            .order_by(*Clinic._meta.ordering)
            .values(row=JSONObject(**{name: F(name) for name in fields}))
        )
        permissions = (
            Permission.objects.filter(Q(user=OuterRef("pk")) | Q(group__user=OuterRef("pk")))
            .order_by()
            .values(full_name=Concat("content_type__app_label", Value("."), "codename"))
        )
        groups = Group.objects.filter(user=OuterRef("pk")).order_by().values("name")
        user = (
            UserModel.objects.filter(pk=user_id)
            .annotate(
                _clinic_rows=ArraySubquery(clinics),
                _perm_names=ArraySubquery(permissions),
                _group_names=ArraySubquery(groups),
            )
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        if not user.is_superuser:
            user._hat_roles = {role for role in Role if role.value in user._group_names}
            user._perm_cache = set(user._perm_names)
            user._hat_clinics = [
                Clinic.from_db(connection.alias, fields, [Clinic._meta.get_field(n).to_python(row[n]) for n in fields])
                for row in user._clinic_rows
            ]
        return user
