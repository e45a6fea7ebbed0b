"""The main navigation, built from what each app registers in its AppConfig.ready().

Apps register their own entries so that this module imports none of them (arrows point
one way) and a link only appears once the page behind it exists.
"""

from dataclasses import dataclass

from django.urls import reverse

from .roles import ROLE_CAPABILITIES, Capability, Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: Capability | None = None
    order: int = 100


_items: list[NavItem] = []


def register(item: NavItem) -> None:
    if item not in _items:
        _items.append(item)


def _links(items) -> list[dict]:
    """Links in order, each page once (a page may be registered for several capabilities)."""
    links, seen = [], set()
    for item in sorted(items, key=lambda i: i.order):
        if item.url_name not in seen:
            seen.add(item.url_name)
            links.append({"label": item.label, "url": reverse(item.url_name)})
    return links


def items_for(user) -> list[dict]:
    return _links(item for item in _items if item.capability is None or user.has_perm(item.capability.perm))


def links_for_role(role: Role, user) -> list[dict]:
    """The registered pages that belong to this role's work, for its card on the home page."""
    capabilities = ROLE_CAPABILITIES[role]
    return _links(item for item in _items if item.capability in capabilities and user.has_perm(item.capability.perm))
