"""Links on a patient's record to pages of the apps that build on patients (dosing, referrals).

Those apps register their pages in their AppConfig.ready(), so patients imports none of them
(arrows point one way) and a link appears only when the page exists and the user may use it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from clinics.roles import Capability


@dataclass(frozen=True)
class RecordLink:
    label: str
    url_name: str  # takes the patient's pk as its only argument, or see `query`
    capability: Capability
    order: int = 100
    query: str = ""  # when set, the page takes the patient as ?<query>=<pk> instead


_links: list[RecordLink] = []


def register(link: RecordLink) -> None:
    if link not in _links:
        _links.append(link)


def links_for(user, patient) -> list[dict]:
    visible = sorted((link for link in _links if user.has_perm(link.capability.perm)), key=lambda link: link.order)
    return [{"label": link.label, "url": _url(link, patient)} for link in visible]


def _url(link: RecordLink, patient) -> str:
    if link.query:
        return f"{reverse(link.url_name)}?{urlencode({link.query: patient.pk})}"
    return reverse(link.url_name, args=[patient.pk])


@dataclass(frozen=True)
class RecordPanel:
    """A section of the patient record drawn by an app that builds on patients (e.g. the dose history).

    `render(patient)` returns the section's HTML; it is called only for a user with `capability`.
    """

    name: str
    render: Callable[[object], str]
    capability: Capability
    order: int = 100


_panels: list[RecordPanel] = []


def register_panel(panel: RecordPanel) -> None:
    if all(existing.name != panel.name for existing in _panels):
        _panels.append(panel)


def panels_for(user, patient) -> list[str]:
    visible = sorted((panel for panel in _panels if user.has_perm(panel.capability.perm)), key=lambda p: p.order)
    return [panel.render(patient) for panel in visible]
