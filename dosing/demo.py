"""Demo data for the dosing board: prescriptions, consent and slots in every state. Idempotent.

Called by `manage.py seed_demo` after patients/demo.py. Uses the patients of the
Middlesbrough clinic (or registers a few demo patients if there are none), gives each a
treatment consent and a prescription, and fills the board's current (or next) session.
While a session is running, rows are spread over the states (arrived, checked, under
observation, signed out, withheld, refused); one patient is on a missed-dose hold. Every
step goes through the services a nurse's page calls, at a time inside the session window,
so the rules apply and each dose writes its controlled-drug register lines (cd_register/demo.py,
which runs first, stocks the cupboard). The witness confirms with a PIN the demo sets and prints.
"""

import secrets
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.services import witness_pin_set
from patients.models import ConsentDecision, ConsentKind, Patient
from patients.selectors import has_treatment_consent
from patients.services import consent_record, patient_register

from . import selectors, services
from .models import (
    CheckOutcome,
    DosingSettings,
    Drug,
    InjectionSite,
    PrescriberLicence,
    Prescription,
    Route,
    Sedation,
    Session,
    SignOutState,
    Slot,
    SlotStatus,
)

DEMO_PATIENTS = [
    ("Demo", "Ashworth", date(1979, 3, 2)),
    ("Demo", "Bellamy", date(1983, 7, 19)),
    ("Demo", "Carrick", date(1975, 11, 30)),
    ("Demo", "Dunmore", date(1988, 1, 8)),
    ("Demo", "Elsdon", date(1981, 5, 23)),
    ("Demo", "Fenwick", date(1970, 9, 14)),
]

# (morning, afternoon) mg of injectable diamorphine, varied so the board shows different doses
DOSES = [
    (Decimal(m), Decimal(a))
    for m, a in [
        ("150", "150"),
        ("200", "180"),
        ("120", "120"),
        ("300", "250"),
        ("90", "100"),
        ("180", "200"),
        ("250", "250"),
        ("60", "80"),
    ]
]

# The state each row is taken to while a session runs, in name order; the rest stay expected.
PLAN = ["observation", "checked", "withheld", "signed_out", "refused", "arrived", "observation", "partial"]

# How long ago (at most) the dose of each dosed state was given: observation still running, or over.
DOSED_AGO = {
    "observation": timedelta(minutes=6),
    "partial": timedelta(minutes=9),
    "signed_out": timedelta(minutes=40),
}


def seed(*, clinics, staff, stdout) -> list[str]:
    clinic = clinics["mbro"]
    nurse, witness, prescriber = staff["nurse"], staff["nurse2"], staff["prescriber"]
    recorder = staff.get("keyworker", prescriber)
    now = timezone.now()
    today = timezone.localdate(now, clinic.zone)
    DosingSettings.for_clinic(clinic)
    _license(prescriber, clinic, now=now, today=today)  # S14: the demo prescriber holds a Home Office licence
    # ... at their other clinic too (its demo history has their prescriptions), one that ends soon: the
    # prescriber's home page shows it among the licences ending.
    for other in clinics.values():
        if other != clinic and prescriber.clinics.filter(pk=other.pk).exists():
            _license(prescriber, other, now=now, today=today, number="HO-DEMO-2", days_left=20)

    patients = list(Patient.objects.filter(clinic=clinic, episodes__ended_on__isnull=True).distinct()[:12])
    if not patients:
        for given, family, born in DEMO_PATIENTS:
            patients.append(
                patient_register(
                    clinic=clinic,
                    started_on=today - timedelta(days=60),
                    registered_by=recorder,
                    given_name=given,
                    family_name=family,
                    date_of_birth=born,
                )
            )
    for index, patient in enumerate(patients):
        if not has_treatment_consent(patient, at=now):
            consent_record(
                patient=patient,
                kind=ConsentKind.TREATMENT,
                decision=ConsentDecision.GIVEN,
                recorded_by=recorder,
                effective_at=now - timedelta(days=1),
                notes="Demo data",
            )
        if not Prescription.objects.live().filter(patient=patient).exists():
            morning, afternoon = DOSES[index % len(DOSES)]
            services.prescription_create(
                patient=patient,
                prescriber=prescriber,
                drug=Drug.DIAMORPHINE_INJECTABLE if index % 5 else Drug.HYDROMORPHONE_INJECTABLE,
                route=Route.INTRAVENOUS if index % 4 else Route.INTRAMUSCULAR,
                morning_dose_mg=morning if index % 5 else morning / 2,
                afternoon_dose_mg=afternoon if index % 5 else afternoon / 2,
                daily_max_mg=(morning + afternoon) if index % 5 else (morning + afternoon) / 2,
                starts_on=today,
                is_titration=index == 1,
                notes="Demo prescription",
                now=now,
            )

    services.create_slots(now=now)
    held = _put_one_on_hold(clinic=clinic, patient=patients[-1], now=now) if len(patients) > 2 else False
    witness_pin = _fresh_witness_pin(witness)
    _fill_board(clinic=clinic, patients=patients, nurse=nurse, witness=witness, witness_pin=witness_pin, now=now)
    stdout.write(
        f"Dosing: {len(patients)} patients with prescriptions at {clinic.name}"
        f"{', one on a missed-dose hold' if held else ''}."
    )
    windows = DosingSettings.for_clinic(clinic)
    session_times = ", ".join(
        f"{Session(session).label.lower()} {start:%H:%M}-{end:%H:%M}"
        for session in windows.sessions()
        for start, end in [windows.local_times(session)]
    )
    return [
        f"Witness PIN of {witness.username}: {witness_pin} (a dose is witnessed by another nurse typing their PIN).",
        f"The dosing board shows the current or next session ({clinic.name}: {session_times}); "
        "outside the windows, patients can be marked as arrived for the next one.",
    ]


def _license(prescriber, clinic, *, now, today, number="HO-DEMO-1", days_left=365) -> None:
    if not PrescriberLicence.objects.filter(prescriber=prescriber, clinic=clinic, valid_to__gte=today).exists():
        PrescriberLicence.objects.create(
            prescriber=prescriber,
            clinic=clinic,
            number=number,
            valid_from=today - timedelta(days=365),
            valid_to=today + timedelta(days=days_left),
            recorded_by=prescriber,
            recorded_at=now,
        )


def _fill_board(*, clinic, patients, nurse, witness, witness_pin, now) -> None:
    board_session = selectors.current_session(clinic, now=now)
    for patient in patients:
        prescription = Prescription.objects.live().filter(patient=patient).first()
        if prescription is None or prescription.dose_for(board_session.session) is None:
            continue
        Slot.objects.get_or_create(
            patient=patient,
            date=board_session.date,
            session=board_session.session,
            defaults={
                "clinic": clinic,
                "prescription": prescription,
                "window_start": board_session.window_start,
                "window_end": board_session.window_end,
            },
        )
    if not (board_session.window_start <= now < board_session.window_end):
        return  # the next session has not started: everyone is expected
    slots = list(
        Slot.objects.filter(clinic=clinic, date=board_session.date, session=board_session.session)
        .select_related("patient", "clinic", "prescription")
        .order_by("patient__family_name", "pk")
    )
    if any(slot.status != SlotStatus.SCHEDULED for slot in slots):
        return  # already seeded (or real work done): leave it as it is
    start = board_session.window_start
    planned = [
        # A dose given some minutes ago, but never before the window opened.
        (max(start, now - DOSED_AGO.get(plan, timedelta(0))), slot, plan)
        for slot, plan in zip(slots, PLAN, strict=False)
    ]
    # In the order they happened, so the register's entry numbers follow the clock as on a real morning.
    for happened_at, slot, plan in sorted(planned, key=lambda step: step[0]):
        try:
            with transaction.atomic():  # one slot's steps together: a refusal leaves its row expected
                _take_to(
                    slot,
                    plan,
                    nurse=nurse,
                    witness=witness,
                    witness_pin=witness_pin,
                    at=happened_at,
                    start=start,
                    now=now,
                )
        except ValidationError:
            continue  # a rule refused it (e.g. the patient is on hold): the row stays expected


def _take_to(slot, plan, *, nurse, witness, witness_pin, at, start, now) -> None:
    """Take one slot to its planned state through the services a nurse uses, so every rule applies."""
    if plan == "refused":
        services.record_refusal(slot=slot, nurse=nurse, reason="Wanted to come back later; declined", now=now)
        return
    # Arrived and checked a few minutes before the dose.
    checked_at = max(start, at - timedelta(minutes=4))
    services.slot_mark_arrived(slot=slot, nurse=nurse, now=checked_at)
    if plan == "arrived":
        return
    if plan == "withheld":
        services.record_pre_dose_check(
            slot=slot,
            checked_by=nurse,
            sedation=Sedation.SLIGHT,
            intoxication_signs=True,
            withdrawal_signs=False,
            breath_alcohol_ug=Decimal("48"),
            outcome=CheckOutcome.WITHHOLD,
            withhold_reason="Smelled of alcohol, breath alcohol over the limit",
            now=checked_at,
        )
        return
    services.record_pre_dose_check(
        slot=slot,
        checked_by=nurse,
        sedation=Sedation.ALERT,
        intoxication_signs=False,
        withdrawal_signs=True,
        breath_alcohol_ug=Decimal("0"),
        outcome=CheckOutcome.PROCEED,
        now=checked_at,
    )
    if plan == "checked":
        return
    dose = slot.prescription.dose_for(slot.session)
    route = slot.prescription.route
    # The witnessed dose writes its controlled-drug register lines (ampoules drawn, waste) itself.
    administration = services.administer_dose(
        slot=slot,
        dose_mg=dose if plan != "partial" else dose / 2,
        route=route,
        injection_site=InjectionSite.LEFT_BUTTOCK if route == Route.INTRAMUSCULAR else InjectionSite.LEFT_ARM,
        nurse=nurse,
        witness=witness,
        witness_password=witness_pin,
        now=at,
    )
    if plan == "signed_out" and administration.observation_ends_at <= now:
        services.sign_out_after_observation(
            administration=administration, signed_out_by=witness, state=SignOutState.WELL, now=now
        )


def _fresh_witness_pin(witness) -> str:
    """A new random PIN for the demo's witness, set as the PIN page would (fresh on every run, like the passwords)."""
    while True:
        pin = f"{secrets.randbelow(10**6):06d}"
        try:
            witness_pin_set(user=witness, pin=pin)
        except ValidationError:
            continue  # too easy to guess (e.g. 111111): draw another
        return pin


def _put_one_on_hold(*, clinic, patient, now) -> bool:
    """Three past days without a dose, closed as missed by the real job, so S7 holds the patient."""
    prescription = Prescription.objects.live().filter(patient=patient).first()
    if prescription is None:
        return False
    settings = DosingSettings.for_clinic(clinic)
    today = timezone.localdate(now, clinic.zone)
    for offset in range(settings.missed_days_threshold, 0, -1):
        day = today - timedelta(days=offset)
        for session in settings.sessions():
            if prescription.dose_for(session) is None:
                continue
            start, end = settings.window(day, session)
            Slot.objects.get_or_create(
                patient=patient,
                date=day,
                session=session,
                defaults={"clinic": clinic, "prescription": prescription, "window_start": start, "window_end": end},
            )
    services.close_missed_slots(now=now)
    return patient.dosing_holds.filter(cleared_at__isnull=True).exists()
