"""NDTMS-style monthly dataset of one clinic (issue 15, item 7): one row per treatment episode open in the month.

For the clinic manager only (MANAGE_CLINIC), never the commissioner: unlike the statistics it holds a row
per person (date of birth, sex, dates). The client reference is the clinic's own opaque reference, never the
NHS number or a name. The field list is documented in docs/ndtms-export.md; keep the two in step.
"""

import csv
from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Q

from dosing.models import Drug, Prescription
from patients.models import Episode, OutcomeInterview
from referrals.models import Referral

from .selectors import add_months

# NDTMS discharge reason codes (treatment exit) for our controlled list.
DISCHARGE_CODES = {
    "completed": "80",  # treatment completed: drug free / occasional user
    "to_oral": "82",  # transferred: not in custody
    "to_other_service": "82",
    "dropped_out": "83",  # incomplete: dropped out
    "custody": "81",  # transferred: in custody
    "moved_away": "84",  # incomplete: other
    "died": "85",  # died
    "withdrawn": "86",  # treatment withdrawn
    "other": "84",
}
TOP_FIELDS = (
    "heroin_days",
    "other_opiate_days",
    "crack_days",
    "cocaine_days",
    "amphetamine_days",
    "cannabis_days",
    "alcohol_days",
    "injected_days",
    "shared_equipment",
    "shoplifting_days",
    "selling_drugs_days",
    "other_theft",
    "assault",
    "psychological_health",
    "physical_health",
    "quality_of_life",
    "paid_work_days",
    "education_days",
    "acute_housing_problem",
    "at_risk_of_eviction",
)
COLUMNS = (
    "client_reference",
    "sex",
    "date_of_birth",
    "referral_source",
    "referral_date",
    "treatment_start",
    "intervention_type",
    "discharge_date",
    "discharge_reason",
    "discharge_reason_code",
    "top_date",
    "top_stage",
    *(f"top_{name}" for name in TOP_FIELDS),
)


def client_reference(clinic, patient_id: int) -> str:
    return f"{clinic.code.upper()}-{patient_id:06d}"


def _yes_no(value) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    return "" if value is None else str(value)


def monthly_rows(*, clinic, month: date):
    """The rows of the month (month = its first day), as dicts of COLUMNS, episodes by start and id."""
    first, last = month, add_months(month, 1) - timedelta(days=1)
    episodes = list(
        Episode.objects.filter(clinic=clinic, started_on__lte=last)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=first))
        .select_related("patient")
        .order_by("started_on", "id")
    )
    patient_ids = {episode.patient_id for episode in episodes}
    referrals = {}
    for referral in Referral.objects.filter(patient_id__in=patient_ids).order_by("received_on"):
        referrals[referral.patient_id] = referral  # the latest referral of the patient
    drugs = defaultdict(set)
    for patient_id, drug in Prescription.objects.filter(patient_id__in=patient_ids).values_list("patient_id", "drug"):
        drugs[patient_id].add(drug)
    interviews = defaultdict(list)
    for interview in OutcomeInterview.objects.filter(episode__in=episodes).order_by("interviewed_on", "id"):
        interviews[interview.episode_id].append(interview)
    for episode in episodes:
        patient = episode.patient
        referral = referrals.get(patient.pk)
        of_episode = interviews.get(episode.pk, [])
        in_month = [i for i in of_episode if first <= i.interviewed_on <= last]
        top = in_month[-1] if in_month else None
        stage = ""
        if top is not None:
            if top is of_episode[0]:
                stage = "start"
            elif episode.ended_on and top.interviewed_on >= episode.ended_on:
                stage = "exit"
            else:
                stage = "review"
        labels = sorted(Drug(drug).label.lower() for drug in drugs.get(patient.pk, ()))
        row = {
            "client_reference": client_reference(clinic, patient.pk),
            "sex": patient.sex,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "referral_source": referral.source if referral else "",
            "referral_date": referral.received_on.isoformat() if referral else "",
            "treatment_start": episode.started_on.isoformat(),
            "intervention_type": "Supervised injectable opioid treatment"
            + (f" ({', '.join(labels)})" if labels else ""),
            "discharge_date": episode.ended_on.isoformat() if episode.ended_on and episode.ended_on <= last else "",
            "discharge_reason": episode.discharge_reason if episode.ended_on and episode.ended_on <= last else "",
            "discharge_reason_code": DISCHARGE_CODES.get(episode.discharge_reason, "")
            if episode.ended_on and episode.ended_on <= last
            else "",
            "top_date": top.interviewed_on.isoformat() if top else "",
            "top_stage": stage,
        }
        for name in TOP_FIELDS:
            row[f"top_{name}"] = _yes_no(getattr(top, name)) if top else ""
        yield patient, row


def write_csv(out, rows) -> list:
    """Write the rows; return the patients written (for the access log)."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    patients = []
    for patient, row in rows:
        writer.writerow(row)
        patients.append(patient)
    return patients
