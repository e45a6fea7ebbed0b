"""Reads about patients. Every query starts from the user's clinics (clinics.selectors.clinics_for)."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.formats import date_format

from clinics import change_sentences
from clinics.access import has_capability
from clinics.roles import Capability
from clinics.selectors import clinics_for
from partners.models import PartnerOrganisation

from . import rules
from .models import (
    AccessLogEntry,
    ConsentDecision,
    ConsentEntry,
    ConsentKind,
    Episode,
    OutcomeInterview,
    Patient,
    PatientStatus,
)
from .validators import normalise_nhs_number


def patients_for(user) -> QuerySet[Patient]:
    """The patients this member of staff may see: those of their clinics, if their role sees records at all."""
    if not has_capability(user, Capability.VIEW_PATIENTS):
        return Patient.objects.none()
    return Patient.objects.filter(clinic__in=clinics_for(user))


def patient_list(user, *, search: str = "", status: str = "") -> QuerySet[Patient]:
    """The patient list: one query however many rows (keyworker and clinic joined, current episode annotated)."""
    patients = patients_for(user).select_related("clinic", "keyworker")
    search = search.strip()
    if search:
        digits = normalise_nhs_number(search)
        match = Q()
        for word in search.split():
            match &= Q(given_name__icontains=word) | Q(family_name__icontains=word) | Q(preferred_name__icontains=word)
        if digits.isdigit():
            match |= Q(nhs_number__startswith=digits)
        patients = patients.filter(match)
    if status in PatientStatus.values:
        patients = patients.filter(status=status)
    open_episode = Episode.objects.filter(patient=OuterRef("pk"), ended_on__isnull=True).values("started_on")[:1]
    return patients.annotate(in_treatment_since=Subquery(open_episode)).order_by("family_name", "given_name", "pk")


def same_person(
    *, nhs_number: str = "", given_name: str = "", family_name: str = "", date_of_birth: date | None = None
) -> Q:
    """What makes two records the same person: the NHS number, or the same name and date of birth.

    One definition for patients and for incoming referrals (which have the same field names).
    """
    match = Q(pk__in=[])
    if nhs_number:
        match |= Q(nhs_number=nhs_number)
    if given_name and family_name and date_of_birth:
        match |= Q(
            given_name__iexact=given_name.strip(), family_name__iexact=family_name.strip(), date_of_birth=date_of_birth
        )
    return match


def possible_duplicates(
    *,
    nhs_number: str = "",
    given_name: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    exclude_pk: int | None = None,
) -> QuerySet[Patient]:
    """Patients anywhere in the service with the same NHS number, or the same name and date of birth."""
    match = same_person(
        nhs_number=nhs_number, given_name=given_name, family_name=family_name, date_of_birth=date_of_birth
    )
    found = Patient.objects.filter(match).select_related("clinic")
    return found.exclude(pk=exclude_pk) if exclude_pk else found


@dataclass
class DuplicateReport:
    """Possible duplicates as this user may see them: details only for patients of their own clinics."""

    visible: list[Patient] = field(default_factory=list)
    elsewhere: int = 0
    same_nhs_number: bool = False
    # The matches at other clinics, never shown: for the access log (patients.services.duplicates_check).
    elsewhere_patients: list[Patient] = field(default_factory=list, repr=False)

    def __bool__(self) -> bool:
        return bool(self.visible) or self.elsewhere > 0

    def summary(self) -> str:
        parts = []
        if self.visible:
            parts.append("possible duplicate(s) in your clinics: " + ", ".join(f"patient {p.pk}" for p in self.visible))
        if self.elsewhere:
            parts.append(f"{self.elsewhere} possible duplicate(s) registered at another clinic")
        return "; ".join(parts)


def duplicates_for(user, *, nhs_number="", given_name="", family_name="", date_of_birth=None, exclude_pk=None):
    found = list(
        possible_duplicates(
            nhs_number=nhs_number,
            given_name=given_name,
            family_name=family_name,
            date_of_birth=date_of_birth,
            exclude_pk=exclude_pk,
        )
    )
    mine = (
        set(clinics_for(user).values_list("pk", flat=True)) if has_capability(user, Capability.VIEW_PATIENTS) else set()
    )
    visible = [p for p in found if p.clinic_id in mine]
    for patient in visible:
        patient.same_nhs_number = bool(nhs_number) and patient.nhs_number == nhs_number
    elsewhere = [p for p in found if p.clinic_id not in mine] if may_hear_of_matches_elsewhere(user) else []
    return DuplicateReport(
        visible=visible,
        elsewhere=len(elsewhere),
        same_nhs_number=bool(nhs_number) and any(p.nhs_number == nhs_number for p in found),
        elsewhere_patients=elsewhere,
    )


def may_hear_of_matches_elsewhere(user) -> bool:
    """Issue 11: that a person is in treatment at another clinic is told only to staff who handle referrals
    (keyworkers take them in, prescribers sign them off), to prevent double prescribing."""
    return has_capability(user, Capability.HANDLE_REFERRALS) or has_capability(user, Capability.SIGN_OFF_REFERRALS)


def open_episode(patient: Patient) -> Episode | None:
    return patient.episodes.filter(ended_on__isnull=True).first()


def episodes_of(patient: Patient) -> QuerySet[Episode]:
    return patient.episodes.select_related("clinic", "discharged_by").order_by("-started_on", "-pk")


def consents_in_force(patient, kind: ConsentKind, partner=None, at=None) -> QuerySet[ConsentEntry]:
    """This patient's consent entries of this kind and partner effective by `at` (default now), the latest first."""
    at = at or timezone.now()
    return ConsentEntry.objects.filter(patient=patient, kind=kind, partner=partner, effective_at__lte=at).order_by(
        "-effective_at", "-pk"
    )


def live_consent(patient: Patient, kind: ConsentKind, partner=None, at=None) -> ConsentEntry | None:
    """The latest consent entry in force at `at` (default now) for this patient, kind and partner."""
    return consents_in_force(patient, kind, partner, at).first()


def has_treatment_consent(patient: Patient, at=None) -> bool:
    entry = live_consent(patient, ConsentKind.TREATMENT, at=at)
    return entry is not None and entry.decision == ConsentDecision.GIVEN


def has_data_sharing_consent(patient: Patient, partner, at=None) -> bool:
    entry = live_consent(patient, ConsentKind.DATA_SHARING, partner=partner, at=at)
    return entry is not None and entry.decision == ConsentDecision.GIVEN


def patients_sharing_with(partner, at=None) -> QuerySet[Patient]:
    """Patients whose latest data-sharing decision for this partner is 'given': one query, for the partner API."""
    at = at or timezone.now()
    latest = (
        ConsentEntry.objects.filter(
            patient=OuterRef("pk"), kind=ConsentKind.DATA_SHARING, partner=partner, effective_at__lte=at
        )
        .order_by("-effective_at", "-pk")
        .values("decision")[:1]
    )
    return Patient.objects.annotate(sharing=Subquery(latest)).filter(sharing=ConsentDecision.GIVEN)


def partners_of_clinic(clinic) -> QuerySet[PartnerOrganisation]:
    return PartnerOrganisation.objects.filter(clinics=clinic, is_active=True).order_by("name")


def partners_for_consent(patient: Patient) -> QuerySet[PartnerOrganisation]:
    """Partners a consent can be recorded for: the clinic's active partners, and any partner the patient
    ever decided about (so a consent can be withdrawn after the partner left the clinic)."""
    asked = ConsentEntry.objects.filter(patient=patient, kind=ConsentKind.DATA_SHARING).values("partner")
    return (
        PartnerOrganisation.objects.filter(Q(clinics=patient.clinic_id, is_active=True) | Q(pk__in=asked))
        .distinct()
        .order_by("name")
    )


def consent_history(patient: Patient) -> QuerySet[ConsentEntry]:
    return patient.consents.select_related("partner", "recorded_by").order_by("-effective_at", "-pk")


@dataclass
class ConsentState:
    label: str
    partner: PartnerOrganisation | None
    entry: ConsentEntry | None

    @property
    def is_given(self) -> bool:
        return self.entry is not None and self.entry.decision == ConsentDecision.GIVEN


def current_consents(patient: Patient, *, at=None, history: list[ConsentEntry] | None = None) -> list[ConsentState]:
    """Treatment consent, then data sharing with each partner of the patient's clinic (and any partner ever asked)."""
    at = at or timezone.now()
    entries = history if history is not None else list(consent_history(patient))
    latest: dict[tuple[str, int | None], ConsentEntry] = {}
    for entry in sorted(entries, key=lambda e: (e.effective_at, e.pk)):
        if entry.effective_at <= at:
            latest[(entry.kind, entry.partner_id)] = entry
    states = [ConsentState("Treatment", None, latest.get((ConsentKind.TREATMENT, None)))]
    partners = {p.pk: p for p in partners_of_clinic(patient.clinic_id)}
    for entry in entries:
        if entry.partner_id and entry.partner_id not in partners:
            partners[entry.partner_id] = entry.partner
    for partner in sorted(partners.values(), key=lambda p: p.name):
        states.append(
            ConsentState(
                f"Data sharing with {partner.name}", partner, latest.get((ConsentKind.DATA_SHARING, partner.pk))
            )
        )
    return states


def outcome_interviews_of(patient: Patient) -> QuerySet[OutcomeInterview]:
    return patient.outcome_interviews.select_related("recorded_by", "episode").order_by("-interviewed_on", "-pk")


def top_schedule_for(patient: Patient, *, today: date) -> rules.TopSchedule | None:
    episode = open_episode(patient)
    if episode is None:
        return None
    last = episode.outcome_interviews.aggregate(last=Max("interviewed_on"))["last"]
    return rules.top_schedule(episode_started_on=episode.started_on, last_interview_on=last, today=today)


def outcomes_due(user, *, today: date, keyworker=None) -> list[Patient]:
    """Patients in treatment whose TOP interview is due or overdue, soonest deadline first; one query.

    `keyworker` narrows it to one caseload (a keyworker's own list); None shows the user's clinics.
    """
    open_episode_start = Episode.objects.filter(patient=OuterRef("pk"), ended_on__isnull=True).values("started_on")
    last_in_open_episode = (
        OutcomeInterview.objects.filter(patient=OuterRef("pk"), episode__ended_on__isnull=True)
        .order_by("-interviewed_on")
        .values("interviewed_on")
    )
    patients = (
        patients_for(user)
        .select_related("clinic", "keyworker")
        .annotate(
            episode_started_on=Subquery(open_episode_start[:1]),
            last_interview_on=Subquery(last_in_open_episode[:1]),
        )
        .filter(episode_started_on__isnull=False)
    )
    if keyworker is not None:
        patients = patients.filter(keyworker=keyworker)
    due = []
    for patient in patients:
        schedule = rules.top_schedule(
            episode_started_on=patient.episode_started_on, last_interview_on=patient.last_interview_on, today=today
        )
        if schedule.is_due:
            patient.top = schedule
            due.append(patient)
    return sorted(due, key=lambda p: (p.top.deadline, p.family_name, p.pk))


def access_log_of(patient: Patient) -> QuerySet[AccessLogEntry]:
    return patient.access_log.select_related("user", "partner").order_by("-at", "-pk")


@dataclass
class Change:
    at: object
    who: object
    what: str
    action: str
    changes: list[tuple[str, str, str]]
    sentence: str = ""  # what staff read (issue 14.8): "Kim Lee changed the phone from ... on 03/12/2026 at 14:05."


_HIDDEN_IN_HISTORY = {"id", "history_id", "history_date", "history_change_reason", "history_type", "history_user"}


def _diff(model, previous, current, names: dict) -> list[tuple[str, str, str]]:
    rows = []
    for f in model._meta.concrete_fields:
        if f.name in _HIDDEN_IN_HISTORY or f.name in ("patient", "created_at", "updated_at", "recorded_at"):
            continue
        old = getattr(previous, f.attname, None) if previous is not None else None
        new = getattr(current, f.attname, None)
        if old == new or (previous is None and new in (None, "")):
            continue
        label = str(f.verbose_name)
        if f.name == "photo":
            rows.append((label, "", "new photo" if new else "photo removed"))
            continue
        if f.is_relation:
            old, new = names.get((f.related_model, old), old), names.get((f.related_model, new), new)
        elif f.choices:
            choices = dict(f.choices)
            old, new = choices.get(old, old), choices.get(new, new)
        rows.append((label, _shown(old), _shown(new)))
    return rows


def _shown(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "d/m/Y H:i")
    if isinstance(value, date):
        return date_format(value, "d/m/Y")
    return str(value)


def _names_of_related(model, rows) -> dict:
    """Readable names for the foreign keys in these history rows: one query per related model."""
    names = {}
    for f in model._meta.concrete_fields:
        if f.is_relation and f.name not in ("patient", "history_user"):
            ids = {getattr(row, f.attname) for row in rows} - {None}
            for obj in f.related_model._default_manager.filter(pk__in=ids):
                names[(f.related_model, obj.pk)] = str(obj)
    return names


# What each kind of record is called in a sentence, and what making one is called.
_RECORD_NOUNS = {
    "Details": ("the patient", "registered the patient"),
    "Episode": ("the treatment episode", "opened a treatment episode"),
    "Consent": ("the consent", "recorded a consent"),
    "Outcome interview": ("the outcome interview", "recorded an outcome interview"),
}


def _clauses(what: str, row, values: list[tuple[str, str, str]]) -> list[str]:
    """The sentence's clauses for one history row: what was made, or each value changed (issue 14.8)."""
    whose, made = _RECORD_NOUNS[what]
    if row.history_type == "+":
        facts = dict((label, new) for label, _old, new in values)
        if what == "Episode":
            return [f"{made} starting {facts.get('started on', '')}".strip()]
        if what == "Consent":
            kind, partner, decision = facts.get("kind", ""), facts.get("partner", ""), facts.get("decision", "")
            about = f"{kind.lower()}{f' ({partner})' if partner else ''}"
            return [f"recorded consent for {about}: {decision.lower()}" if kind else made]
        if what == "Outcome interview" and facts.get("interviewed on"):
            return [f"{made} of {facts['interviewed on']}"]
        return [made]
    if row.history_type == "-":
        return [f"deleted {whose}"]
    if what == "Episode" and row.ended_on and any(label == "ended on" and not old for label, old, _ in values):
        reason = dict((label, new) for label, _old, new in values).get("discharge reason", "")
        why = f" ({reason.lower()})" if reason else ""
        return [f"discharged the patient on {change_sentences.day(row.ended_on)}{why}"]
    owner = "the" if what == "Details" else f"{whose}'s"
    return [change_sentences.value_change(label, old, new, whose=owner) for label, old, new in values]


def change_history(patient: Patient, *, limit: int | None = None) -> list[Change]:
    """Every change to the patient, their episodes, consents and outcome interviews: who, when, old and new values."""
    sources = [
        ("Details", Patient, Patient.history.filter(id=patient.pk)),
        ("Episode", Episode, Episode.history.filter(patient_id=patient.pk)),
        ("Consent", ConsentEntry, ConsentEntry.history.filter(patient_id=patient.pk)),
        ("Outcome interview", OutcomeInterview, OutcomeInterview.history.filter(patient_id=patient.pk)),
    ]
    actions = {"+": "created", "~": "changed", "-": "deleted"}
    changes = []
    for what, model, history in sources:
        rows = list(history.select_related("history_user").order_by("history_date", "history_id"))
        names = _names_of_related(model, rows)
        previous_by_object = {}
        for row in rows:
            previous = previous_by_object.get(row.id)
            values = _diff(model, previous, row, names)
            changes.append(
                Change(
                    at=row.history_date,
                    who=row.history_user,
                    what=what if what == "Details" else f"{what} {row.id}",
                    action=actions.get(row.history_type, row.history_type),
                    changes=values,
                    sentence=change_sentences.sentence(
                        who=row.history_user, clauses=_clauses(what, row, values), at=row.history_date
                    ),
                )
            )
            previous_by_object[row.id] = row
    # Newest first; changes made in the same instant keep the order they were made in.
    changes = [change for _, change in sorted(enumerate(changes), key=lambda pair: (pair[1].at, pair[0]), reverse=True)]
    return changes[:limit] if limit else changes


def outcome_interviews_due(user, clinic=None) -> int:
    """The keyworker's own TOP interviews due or overdue, in all their clinics: what the queue's link lists."""
    return len(outcomes_due(user, today=timezone.localdate(), keyworker=user))


def consents_to_renew(user, *, now: datetime | None = None) -> list[Patient]:
    """Patients in treatment (an open episode) without a live treatment consent: withdrawn, or never recorded.

    SPEC 3: no dose without treatment consent, so each of them needs the keyworker to ask again.
    All the user's clinics; one query. Each patient carries `consent_decision` and `consent_at`
    (None when nothing was ever recorded).
    """
    if not has_capability(user, Capability.HANDLE_REFERRALS):
        return []
    latest = ConsentEntry.objects.filter(
        patient=OuterRef("pk"), kind=ConsentKind.TREATMENT, effective_at__lte=now or timezone.now()
    ).order_by("-effective_at", "-pk")
    return list(
        patients_for(user)
        .select_related("clinic", "keyworker")
        .annotate(
            in_treatment=Exists(Episode.objects.filter(patient=OuterRef("pk"), ended_on__isnull=True)),
            consent_decision=Subquery(latest.values("decision")[:1]),
            consent_at=Subquery(latest.values("effective_at")[:1]),
        )
        .filter(Q(consent_decision__isnull=True) | Q(consent_decision=ConsentDecision.WITHDRAWN), in_treatment=True)
        .order_by("family_name", "given_name", "pk")
    )


def consents_to_renew_count(user, clinic=None) -> int:
    return len(consents_to_renew(user))
