"""Bulk-loaded benchmark data. Every run makes new clinics and staff (names carry the run's stamp).

The rows are written with bulk_create, as the scheduled jobs and services would leave them;
administrations are only ever INSERTed (the S10 trigger refuses UPDATE and DELETE, so old
runs stay in the database: a new clinic per run keeps them out of the measurement).

Time: the clinics get a fixed-offset time zone in which it is around midday now, and one
long session window around now, so doses are inside their window (S11) whatever the hour
the benchmark runs at.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

PASSWORD = "bench-password-not-secret-0123456789"  # noqa: S105 (a throwaway benchmark account)
PIN = "246810"
FAMILY = ["Ashworth", "Bellamy", "Carrick", "Dunmore", "Elsdon", "Fenwick", "Garside", "Hebburn", "Ingleby",
          "Jarrow", "Kirkby", "Lumley", "Marsden", "Norton", "Ormesby", "Preston", "Redcar", "Saltburn",
          "Thornaby", "Usworth", "Whitby", "Yarm"]  # fmt: skip
GIVEN = ["Alex", "Sam", "Jo", "Chris", "Jamie", "Robin", "Lee", "Kim", "Pat", "Terry", "Dale", "Jordan"]


@dataclass
class Site:
    clinic: object
    nurse: object
    witness: object
    slots: list = field(default_factory=list)  # slot ids, in creation order


def midday_zone(now: datetime) -> ZoneInfo:
    """A fixed-offset zone (Etc/GMT-N means UTC+N) in which it is between 10:00 and 14:00 now."""
    offset = (12 - now.astimezone(UTC).hour + 12) % 24 - 12  # in -12..11
    name = "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
    return ZoneInfo(name)


def _staff(username: str, role: str, clinic):
    from django.contrib.auth.models import Group

    from clinics.models import User
    from clinics.services import witness_pin_set

    user = User.objects.create_user(username=username, password=PASSWORD, first_name=role.title(), last_name=username)
    user.groups.set(Group.objects.filter(name=role))
    user.clinics.set([clinic])
    witness_pin_set(user=user, pin=PIN)
    return user


def _stock_cupboard(clinic, *, made_by, witness, ampoules: int, now: datetime) -> None:
    """Every dose draws from the controlled-drug register (no stock, no dose): receive enough first."""
    from cd_register.models import CdDrug, Register, StockForm

    for strength in (10, 30, 100):
        register = Register.objects.create(
            clinic=clinic,
            drug=CdDrug.DIAMORPHINE,
            strength_mg=Decimal(strength),
            form=StockForm.AMPOULE,
            created_by=made_by,
            created_at=now,
        )
        _receive(register, ampoules, made_by=made_by, witness=witness, now=now)


def _receive(register, quantity: int, *, made_by, witness, now: datetime) -> None:
    from cd_register.services import record_receipt

    record_receipt(
        register=register,
        quantity=quantity,
        supplier_name="Bench Pharmacy",
        supplier_address="1 Test Street",
        batch=f"BENCH-{register.pk}",
        expires_on=(now + timedelta(days=365)).date(),
        made_by=made_by,
        witness=witness,
        witness_password=PIN,
        now=now,
    )


def clinic_with_patients(*, name: str, stamp: str, patients: int, now: datetime, mixed_board: bool) -> Site:
    """A clinic, its nurse and witness, `patients` patients with consent, an injectable prescription and a slot
    in today's running session. With `mixed_board` the slots are spread over the board's stages (arrived,
    checked, under observation, signed out, withheld, on hold); otherwise every slot is checked and ready
    for its dose."""
    from clinics.models import Clinic
    from dosing.models import (
        Administration,
        CheckOutcome,
        DosingSettings,
        Drug,
        Hold,
        ObservationSignOut,
        PreDoseCheck,
        Prescription,
        Route,
        Sedation,
        SignOutState,
        Slot,
        SlotStatus,
    )
    from patients.models import ConsentDecision, ConsentEntry, ConsentKind, Episode, Patient

    zone = midday_zone(now)
    local = now.astimezone(zone)
    clinic = Clinic.objects.create(name=f"{name} {stamp}", code=f"b{stamp[-12:]}{name[:3].lower()}", time_zone=zone.key)
    DosingSettings.objects.create(
        clinic=clinic,
        sessions_per_day=1,
        morning_start=time(max(0, local.hour - 4), 0),
        morning_end=time(min(23, local.hour + 6), 0),
    )
    settings = DosingSettings.for_clinic(clinic)
    nurse = _staff(f"bench-nurse-{name[:4].lower()}-{stamp}", "nurse", clinic)
    witness = _staff(f"bench-witness-{name[:4].lower()}-{stamp}", "nurse", clinic)
    manager = _staff(f"bench-manager-{name[:4].lower()}-{stamp}", "clinic_manager", clinic)
    _stock_cupboard(clinic, made_by=manager, witness=witness, ampoules=patients * 20 + 1000, now=now)
    prescriber = _staff(f"bench-prescriber-{name[:4].lower()}-{stamp}", "prescriber", clinic)
    today: date = local.date()
    window_start, window_end = settings.window(today, "morning")
    rng = random.Random(stamp + name)  # noqa: S311 (names for a benchmark, not secrets)

    people = Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            given_name=rng.choice(GIVEN),
            family_name=f"{rng.choice(FAMILY)}-{index:03d}",
            date_of_birth=date(1970 + index % 30, 1 + index % 12, 1 + index % 28),
        )
        for index in range(patients)
    )
    Episode.objects.bulk_create(
        Episode(patient=p, clinic=clinic, started_on=today - timedelta(days=60)) for p in people
    )
    ConsentEntry.objects.bulk_create(
        ConsentEntry(
            patient=p,
            kind=ConsentKind.TREATMENT,
            decision=ConsentDecision.GIVEN,
            effective_at=now - timedelta(days=60),
            recorded_by=prescriber,
        )
        for p in people
    )
    prescriptions = Prescription.objects.bulk_create(
        Prescription(
            patient=p,
            drug=Drug.DIAMORPHINE_INJECTABLE,
            route=Route.INTRAVENOUS,
            morning_dose_mg=Decimal("100"),
            daily_max_mg=Decimal("300"),
            starts_on=today - timedelta(days=60),
            prescriber=prescriber,
            signed_at=now - timedelta(days=60),
        )
        for p in people
    )
    stages = ["ready"] * patients if not mixed_board else [
        ["expected", "arrived", "checked", "observing", "signed_out", "withheld"][i % 6] for i in range(patients)
    ]  # fmt: skip
    status = {"expected": SlotStatus.SCHEDULED, "arrived": SlotStatus.ARRIVED, "checked": SlotStatus.CHECKED,
              "ready": SlotStatus.CHECKED, "observing": SlotStatus.GIVEN, "signed_out": SlotStatus.GIVEN,
              "withheld": SlotStatus.WITHHELD}  # fmt: skip
    slots = Slot.objects.bulk_create(
        Slot(
            patient=p,
            clinic=clinic,
            prescription=rx,
            date=today,
            session="morning",
            window_start=window_start,
            window_end=window_end,
            status=status[stage],
            status_changed_at=now - timedelta(minutes=20) if stage != "expected" else None,
            status_reason="Breath alcohol above the limit" if stage == "withheld" else "",
            arrived_at=now - timedelta(minutes=25) if stage != "expected" else None,
        )
        for p, rx, stage in zip(people, prescriptions, stages, strict=True)
    )
    checked = [s for s, stage in zip(slots, stages, strict=True) if stage in ("checked", "ready", "observing",
                                                                               "signed_out")]  # fmt: skip
    PreDoseCheck.objects.bulk_create(
        PreDoseCheck(
            slot=s,
            sedation=Sedation.ALERT,
            intoxication_signs=False,
            withdrawal_signs=True,
            breath_alcohol_ug=Decimal("0"),
            outcome=CheckOutcome.PROCEED,
            checked_by=nurse,
            checked_at=now - timedelta(minutes=22),
        )
        for s in checked
    )
    given = []
    for s, rx, stage in zip(slots, prescriptions, stages, strict=True):
        if stage in ("observing", "signed_out"):
            at = now - timedelta(minutes=5 if stage == "observing" else 40)
            given.append(
                Administration(
                    slot=s,
                    patient_id=s.patient_id,
                    prescription=rx,
                    drug=rx.drug,
                    dose_mg=Decimal("100"),
                    prescribed_dose_mg=Decimal("100"),
                    route=Route.INTRAVENOUS,
                    injection_site="left_arm",
                    given_at=at,
                    nurse=nurse,
                    witness=witness,
                    observation_ends_at=at + settings.observation,
                    recorded_at=at,
                )
            )
    given = Administration.objects.bulk_create(given)
    ObservationSignOut.objects.bulk_create(
        ObservationSignOut(
            administration=a,
            state=SignOutState.WELL,
            signed_out_by=nurse,
            signed_out_at=a.observation_ends_at + timedelta(minutes=1),
        )
        for a in given
        if a.given_at < now - timedelta(minutes=30)
    )
    if mixed_board:
        expected = [s for s, stage in zip(slots, stages, strict=True) if stage == "expected"]
        Hold.objects.bulk_create(
            Hold(
                patient_id=s.patient_id,
                prescription=s.prescription,
                since=now - timedelta(hours=3),
                missed_since=today - timedelta(days=3),
                missed_days=3,
                reason="S7 · No dose: 3 consecutive days missed; prescriber review required",
            )
            for s in expected[::5]
        )
    return Site(clinic=clinic, nurse=nurse, witness=witness, slots=[s.pk for s in slots])


def load(*, patients: int, doses: int, stamp: str) -> dict[str, Site]:
    """The board clinic (`patients` patients over every stage) and a dosing clinic with `doses` ready slots."""
    from django.utils import timezone

    now = timezone.now()
    return {
        "board": clinic_with_patients(name="Board", stamp=stamp, patients=patients, now=now, mixed_board=True),
        "dose": clinic_with_patients(name="Doses", stamp=stamp, patients=doses, now=now, mixed_board=False),
    }
