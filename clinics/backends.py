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

What is kept is the statement's SQL text: the ORM compiles it once per process (`_user_statement`)
rather than on every request. Compiling three correlated subqueries cost about 4 ms of Python on
each poll, ten times what PostgreSQL takes to run the statement; the text depends on nothing but
the models, so every request runs the same statement with its own user id and reads fresh rows.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.contrib.auth.backends import ModelBackend, UserModel
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, OuterRef, Q, Value
from django.db.models.functions import Concat, JSONObject

from hat_clinic.precompiled import converted

from .models import Clinic
from .roles import Role

# Stands for the user id while the statement is compiled: no user has a negative id.
_USER_ID_PLACEHOLDER = -7_919_009_113
_ACCESS_COLUMNS = ("_clinic_rows", "_perm_names", "_group_names")


def _user_with_access(user_id):
    """The user row with three arrays: their active clinics (as JSON rows), permission names and group names."""
    fields = [field.attname for field in Clinic._meta.concrete_fields]
    clinics = (
        Clinic.objects.filter(staff=OuterRef("pk"), is_active=True)
        .order_by(*Clinic._meta.ordering)
        .values(row=JSONObject(**{name: F(name) for name in fields}))
    )
    # Granted directly or through a group, as two IN lists the planner answers from the join tables'
    # user_id indexes (one OR over four outer joins read every permission row of the database).
    user = OuterRef(OuterRef("pk"))
    direct = UserModel.user_permissions.through.objects.filter(user=user)
    by_group = Group.permissions.through.objects.filter(group__user=user)
    permissions = (
        Permission.objects.filter(Q(pk__in=direct.values("permission_id")) | Q(pk__in=by_group.values("permission_id")))
        .order_by()
        .values(full_name=Concat("content_type__app_label", Value("."), "codename"))
    )
    groups = Group.objects.filter(user=OuterRef("pk")).order_by().values("name")
    return (
        UserModel._default_manager.filter(pk=user_id)
        .annotate(**dict(zip(_ACCESS_COLUMNS, map(ArraySubquery, (clinics, permissions, groups)), strict=True)))
        .order_by()
    )


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    user_id_at: int  # the index in `params` of the user id
    field_names: list[str]  # the user's columns, first in each row, then _ACCESS_COLUMNS
    converters: dict  # column index -> (converters, expression): what the ORM applies to values read

    def params_for(self, user_id) -> list:
        params = list(self.params)
        params[self.user_id_at] = user_id
        return params

    def convert(self, row, using) -> list:
        return converted(row, self.converters, using)


@lru_cache(maxsize=4)
def _user_statement(alias: str) -> _Statement:
    """`_user_with_access` compiled once, with where the user id goes; checked, so a Django upgrade that
    laid the statement out otherwise stops every sign-in loudly rather than reading the wrong columns."""
    compiler = _user_with_access(_USER_ID_PLACEHOLDER).query.get_compiler(alias)
    sql, params = compiler.as_sql()
    at = [index for index, param in enumerate(params) if type(param) is int and param == _USER_ID_PLACEHOLDER]
    field_names = [field.attname for field in UserModel._meta.concrete_fields]
    columns = [name or expression.target.attname for expression, _, name in compiler.select]
    if len(at) != 1 or columns != field_names + list(_ACCESS_COLUMNS):
        raise RuntimeError(f"The signed-in user's statement is not laid out as expected: {columns}, {len(at)} ids.")
    converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
    return _Statement(sql, tuple(params), at[0], field_names, converters)


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
        try:
            user_id = UserModel._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        statement = _user_statement(connection.alias)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.params_for(user_id))
            row = cursor.fetchone()
        if row is None:
            return None
        values = statement.convert(row, connection)
        count = len(statement.field_names)
        user = UserModel.from_db(connection.alias, statement.field_names, values[:count])
        if not self.user_can_authenticate(user):
            return None
        if not user.is_superuser:
            clinic_rows, perm_names, group_names = values[count:]
            user._hat_roles = {role for role in Role if role.value in group_names}
            user._perm_cache = set(perm_names)
            fields = [field.attname for field in Clinic._meta.concrete_fields]
            user._hat_clinics = [
                Clinic.from_db(connection.alias, fields, [Clinic._meta.get_field(n).to_python(row[n]) for n in fields])
                for row in clinic_rows
            ]
        return user
