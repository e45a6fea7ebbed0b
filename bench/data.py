"""Bulk-loaded benchmark data. Every run makes new clinics, staff and partners (names carry the run's stamp).

The rows are written with bulk_create, as the scheduled jobs and services would leave them;
administrations are only ever INSERTed (the S10 trigger refuses UPDATE and DELETE, so old
runs stay in the database: a new clinic per run keeps them out of the measurement). With the
scale data these clinics sit beside seed_scale's, so the tables they are read from hold
millions of rows; their codes start with BENCH_CODE_PREFIX, so they are never taken for them.

Time: the clinics get a fixed-offset time zone in which it is around midday now, and one
long session window around now, so doses are inside their window (S11) whatever the hour
the benchmark runs at.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

BENCH_CODE_PREFIX = "bench"  # + the run's stamp (YYMMDDHHMMSS) + the clinic's role: 20 characters
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
        PrescriberLicence,
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
    clinic = Clinic.objects.create(
        name=f"{name} {stamp}", code=f"{BENCH_CODE_PREFIX}{stamp[-12:]}{name[:3].lower()}", time_zone=zone.key
    )
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
            phone=f"07700 9{index:05d}",  # a partner may be told it (contact route "phone")
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
    # S14: the bench prescriber holds a Home Office licence for the clinic.
    PrescriberLicence.objects.create(
        prescriber=prescriber, clinic=clinic, number=f"HO-BENCH-{stamp}", valid_from=today - timedelta(days=365),
        valid_to=today + timedelta(days=365), recorded_by=manager, recorded_at=now,
    )  # fmt: skip
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


@dataclass
class PartnerSite:
    """A partner organisation with an API client, and what its referral list must show."""

    partner: object
    client_id: str
    client_secret: str
    referrals: int  # addressed to it, patient's consent live: exactly what its list shows
    hidden: int  # addressed to it, consent withdrawn: never shown (SPEC 6)
    updated_since: datetime  # a week before the load
    updated_recently: int  # of `referrals`, changed at or after `updated_since`


# The states a partner moves a referral through, with the version it has reached in each (the ETag's).
REFERRAL_STATES = [("sent", 1), ("acknowledged", 2), ("appointment_booked", 3), ("attended", 4),
                   ("did_not_attend", 4), ("closed", 5)]  # fmt: skip
REFERRAL_NEEDS = [("housing", "Needs a tenancy: sofa-surfing since the spring."),
                  ("housing", "Rent arrears; risk of eviction."),
                  ("employment", "Wants help back into work (warehouse experience)."),
                  ("training", "Asked about a forklift licence course.")]  # fmt: skip
PARTNER_ROUTES = ["phone", "text", "at_clinic", "via_keyworker"]
SPREAD = timedelta(days=90)  # updated_at of the referrals, evenly over the last 90 days
RECENT = timedelta(days=7)  # the `updated_since` a syncing partner asks with


def partner_with_referrals(site: Site, *, stamp: str, now: datetime, referrals: int, others: int) -> PartnerSite:
    """A housing partner of `site`'s clinic with `referrals` onward referrals it may see, and some it may not.

    Data-sharing consent: every patient of the clinic gives it to this partner and to an employment
    partner of the same clinic; every 10th patient later withdraws it from this one, and has one
    referral to it that the partner must no longer see. `others` referrals go to the employment
    partner. The visible ones cycle through every status, updated evenly over the last 90 days.
    Partners and the API client are made by the services (the client secret exists only here);
    consents, referrals and their first timeline event in bulk, as the services would leave them.
    """
    from onward.models import OnwardEventKind, OnwardOutcome, OnwardReferral, OnwardReferralEvent
    from partners.models import PartnerKind, PartnerScope
    from partners.services import partner_client_create, partner_create
    from patients.models import ConsentDecision, ConsentEntry, ConsentKind, Patient

    clinic = site.clinic
    keyworker = _staff(f"bench-keyworker-{stamp}", "keyworker", clinic)
    partner, _ = partner_create(
        name=f"Bench Housing {stamp}", kind=PartnerKind.HOUSING, contact_email="housing@example.org", clinics=[clinic]
    )
    other, _ = partner_create(
        name=f"Bench Employment {stamp}", kind=PartnerKind.EMPLOYMENT, contact_email="jobs@example.org",
        clinics=[clinic],
    )  # fmt: skip
    client_id, client_secret = partner_client_create(
        partner=partner, clinic=clinic, scopes=[PartnerScope.READ], label="bench"
    )
    patients = list(Patient.objects.filter(clinic=clinic).order_by("pk"))
    withdrawn = patients[::10]
    sharing = [p for i, p in enumerate(patients) if i % 10]
    if not sharing:
        raise ValueError("the partner's clinic needs at least 2 patients")

    def consent(patient, to, decision: str, at: datetime) -> ConsentEntry:
        return ConsentEntry(patient=patient, kind=ConsentKind.DATA_SHARING, partner=to, decision=decision,
                            effective_at=at, recorded_by=keyworker)  # fmt: skip

    given_at = now - SPREAD - timedelta(days=30)  # before the oldest referral
    ConsentEntry.objects.bulk_create(
        [consent(p, to, ConsentDecision.GIVEN, given_at) for p in patients for to in (partner, other)]
        + [consent(p, partner, ConsentDecision.WITHDRAWN, now - timedelta(days=1)) for p in withdrawn]
    )

    def referral(index: int, patient, to, *, status: str = "sent", version: int = 1) -> OnwardReferral:
        updated = now - SPREAD * (index + 1) / (referrals + 1)
        created = updated - timedelta(days=2 * (version - 1))
        need_kind, need = REFERRAL_NEEDS[index % len(REFERRAL_NEEDS)]
        return OnwardReferral(
            patient=patient, clinic=clinic, partner=to, need_kind=need_kind, need=need,
            contact_route=PARTNER_ROUTES[index % len(PARTNER_ROUTES)], status=status, version=version,
            created_by=keyworker, created_at=created, updated_at=updated,
            acknowledged_at=created + timedelta(days=1) if version > 1 else None,
            appointment_at={"appointment_booked": now + timedelta(days=3 + index % 10),
                            "attended": updated - timedelta(hours=2),
                            "did_not_attend": updated - timedelta(hours=2)}.get(status),
            outcome=OnwardOutcome.NEED_MET if status == "closed" else "",
            finished_at=updated if status == "closed" else None,
        )  # fmt: skip

    visible = []
    for index in range(referrals):
        status, version = REFERRAL_STATES[index % len(REFERRAL_STATES)]
        visible.append(referral(index, sharing[index % len(sharing)], partner, status=status, version=version))
    made = OnwardReferral.objects.bulk_create(
        visible
        + [referral(i, p, partner) for i, p in enumerate(withdrawn)]
        + [referral(i, patients[i % len(patients)], other) for i in range(others)]
    )
    OnwardReferralEvent.objects.bulk_create(
        OnwardReferralEvent(referral=r, kind=OnwardEventKind.CREATED, to_status="sent", by_user=keyworker,
                            at=r.created_at)
        for r in made
    )  # fmt: skip
    since = now - RECENT
    return PartnerSite(
        partner=partner,
        client_id=client_id,
        client_secret=client_secret,
        referrals=len(visible),
        hidden=len(withdrawn),
        updated_since=since,
        updated_recently=sum(r.updated_at >= since for r in visible),
    )


def load(*, patients: int, doses: int, stamp: str, referrals: int = 200, now: datetime | None = None) -> dict:
    """The board clinic (`patients` patients over every stage), a dosing clinic with `doses` ready slots, and
    a partner of the board clinic with `referrals` onward referrals it may see (and as many to another)."""
    from django.utils import timezone

    now = now or timezone.now()
    board = clinic_with_patients(name="Board", stamp=stamp, patients=patients, now=now, mixed_board=True)
    return {
        "board": board,
        "dose": clinic_with_patients(name="Doses", stamp=stamp, patients=doses, now=now, mixed_board=False),
        "partner": partner_with_referrals(board, stamp=stamp, now=now, referrals=referrals, others=referrals),
    }


def refresh_bench_summaries() -> int:
    """Bring the statistics' summary tables up to date for every benchmark clinic, this run's and earlier ones'.

    Their slots and doses are written here and by the benchmark's requests, not by the jobs that keep
    the summaries (no beat runs during the benchmark); the statistics measurement checks that the
    summaries agree with the raw slots of every clinic first. Returns the session rows written.
    """
    from clinics.models import Clinic
    from reports.services import refresh_summaries

    return sum(refresh_summaries(clinic=clinic) for clinic in Clinic.objects.filter(code__startswith=BENCH_CODE_PREFIX))
