"""Doses for patients with years of history: seed_scale's patients, in their own clinics (issue 13, item 7).

A dose reads the patient's recent doses (S1-S4) and their last days (S7): the cost to measure is
the one of a patient with 5 years of doses, not of a patient created a second ago. So these
measurements dose seed_scale's patients, each in their own scale clinic, once:

- a patient qualifies when their live prescription is an injectable whose prescriber holds a Home
  Office licence for the clinic today (S14: seed_scale records one per clinic), they are on no hold, their last
  dose is older than the clinic's minimum interval (S3) but no older than 2 days (else S7 would hold
  them: the scale data must be recent, re-seed it after a few days), and they have a session of the
  clinic-local today without a dose (S1, S2);
- that session's slot (seed_scale leaves today's open; else a new one) gets a window around now
  (S11 reads the slot's own window) and a passed pre-dose check (S5), as the nurse's check would;
- the benchmark's nurses and witness work at the scale clinics, and each scale clinic gets the
  diamorphine registers (once) and a receipt of stock (every run).

So every dose recorded is a real, rule-checked dose of a patient whose history is years long.
A patient is dosed at most once per run; two runs within the minimum interval find fewer patients
(the measurement says how many it had). The days dosed are refreshed in the statistics' summary
tables afterwards (`refresh`), so the statistics measurement still checks them against the slots.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from .data import PASSWORD, PIN, _receive

HISTORY_CODE_PREFIX = "scale-"


@dataclass
class HistoryWork:
    """Slots ready to dose in one scale clinic: [(slot id, dose in mg)], with their nurses and witnesses."""

    clinic: object
    witness: object  # confirms with a PIN
    password_witness: object  # has no PIN: confirms with their account password
    nurses: list = field(default_factory=list)
    slots: list = field(default_factory=list)


@dataclass
class History:
    """Every scale clinic's ready slots; `nurse` works at all of them (the one-client measurements)."""

    nurse: object
    clinics: list[HistoryWork]

    def take(self, kind: str, count: int) -> list[tuple[int, Decimal, int]]:
        """Up to `count` (slot id, dose mg, witness id), taken in turn from each clinic; each slot is dosed once."""
        taken = []
        while len(taken) < count and any(site.slots for site in self.clinics):
            for site in self.clinics:
                if site.slots and len(taken) < count:
                    slot, dose_mg = site.slots.pop()
                    witness = site.witness if kind == "pin" else site.password_witness
                    taken.append((slot, dose_mg, witness.pk))
        return taken

    def ready(self) -> int:
        return sum(len(site.slots) for site in self.clinics)


CANDIDATES_SQL = """
WITH live AS (
    SELECT DISTINCT ON (rx.patient_id) rx.id, rx.patient_id, rx.morning_dose_mg, rx.afternoon_dose_mg, rx.daily_max_mg,
           rx.prescriber_id
    FROM dosing_prescription rx JOIN patients_patient p ON p.id = rx.patient_id
    WHERE p.clinic_id = %(clinic)s AND rx.superseded_at IS NULL AND rx.stopped_at IS NULL
      AND rx.drug = 'diamorphine_inj' AND rx.starts_on <= %(today)s
      AND (rx.ends_on IS NULL OR rx.ends_on >= %(today)s)
    ORDER BY rx.patient_id, rx.id DESC
)
SELECT live.id, live.patient_id, live.morning_dose_mg, live.afternoon_dose_mg
FROM live
WHERE NOT EXISTS (SELECT 1 FROM dosing_hold h WHERE h.patient_id = live.patient_id AND h.cleared_at IS NULL)
  AND EXISTS (SELECT 1 FROM dosing_prescriberlicence l WHERE l.prescriber_id = live.prescriber_id
              AND l.clinic_id = %(clinic)s AND l.valid_from <= %(today)s AND l.valid_to >= %(today)s)
  AND (SELECT max(a.given_at) FROM dosing_administration a WHERE a.patient_id = live.patient_id)
      BETWEEN %(recent)s AND %(interval)s
  AND NOT EXISTS (SELECT 1 FROM dosing_administration a JOIN dosing_slot s ON s.id = a.slot_id
                  WHERE a.patient_id = live.patient_id AND s.date = %(today)s)
ORDER BY live.patient_id
LIMIT %(limit)s
"""


def scale_clinics():
    from clinics.models import Clinic

    return list(Clinic.objects.filter(code__startswith=HISTORY_CODE_PREFIX).order_by("code"))


def prepare(*, per_clinic: int, nurses_per_clinic: int, stamp: str, now: datetime) -> History:
    """Up to `per_clinic` slots ready to dose in each scale clinic, and the staff to dose them."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from cd_register.models import CdDrug, Register, StockForm
    from clinics.models import User
    from clinics.services import witness_pin_set
    from dosing.models import CheckOutcome, DosingSettings, PreDoseCheck, Sedation, Slot, SlotStatus

    hashed = make_password(PASSWORD)  # one slow hash for every benchmark account of the run
    nurse_group, manager_group = Group.objects.get(name="nurse"), Group.objects.get(name="clinic_manager")
    work = []
    for number, clinic in enumerate(scale_clinics()):

        def staff(role: str, index: int, group, clinic=clinic, number=number):
            user = User.objects.create(username=f"bench-{role}{index}-h{number}-{stamp}", password=hashed,
                                       first_name=role.title(), last_name=f"Bench {number}")  # fmt: skip
            user.groups.set([group])
            user.clinics.set([clinic])
            return user

        witness = staff("witness", 0, nurse_group)
        witness_pin_set(user=witness, pin=PIN)
        password_witness = staff("pwitness", 0, nurse_group)
        manager = staff("manager", 0, manager_group)
        nurses = [staff("nurse", index, nurse_group) for index in range(nurses_per_clinic)]
        settings = DosingSettings.for_clinic(clinic)
        local = now.astimezone(clinic.zone)
        today = local.date()
        with connection.cursor() as cursor:
            cursor.execute(
                CANDIDATES_SQL,
                {"clinic": clinic.pk, "today": today, "recent": now - timedelta(days=2),
                 "interval": now - settings.minimum_interval, "limit": per_clinic},
            )  # fmt: skip
            candidates = cursor.fetchall()
        ready = []
        with transaction.atomic():
            existing = {
                (slot.patient_id, slot.session): slot
                for slot in Slot.objects.filter(clinic=clinic, date=today, patient_id__in=[c[1] for c in candidates])
            }
            for rx_id, patient_id, morning_mg, afternoon_mg in candidates:
                for session, dose_mg in (("morning", morning_mg), ("afternoon", afternoon_mg)):
                    slot = existing.get((patient_id, session))
                    if not dose_mg or (slot is not None and slot.status not in (SlotStatus.SCHEDULED,
                                                                                SlotStatus.ARRIVED)):  # fmt: skip
                        continue
                    if slot is None:
                        slot = Slot(patient_id=patient_id, clinic=clinic, date=today, session=session)
                    slot.prescription_id = rx_id
                    slot.window_start, slot.window_end = now - timedelta(hours=1), now + timedelta(hours=4)
                    slot.status, slot.status_changed_at = SlotStatus.CHECKED, now - timedelta(minutes=2)
                    slot.arrived_at = now - timedelta(minutes=5)
                    slot.save()
                    ready.append((slot, Decimal(dose_mg)))
                    break
            PreDoseCheck.objects.bulk_create(
                PreDoseCheck(slot=slot, sedation=Sedation.ALERT, intoxication_signs=False, withdrawal_signs=True,
                             breath_alcohol_ug=Decimal("0"), outcome=CheckOutcome.PROCEED, checked_by=nurses[0],
                             checked_at=now - timedelta(minutes=2))
                for slot, _ in ready
            )  # fmt: skip
        for strength in (10, 30, 100):
            register, _ = Register.objects.get_or_create(
                clinic=clinic, drug=CdDrug.DIAMORPHINE, strength_mg=Decimal(strength), form=StockForm.AMPOULE,
                defaults={"created_by": manager, "created_at": now},
            )  # fmt: skip
            _receive(register, len(ready) * 3 + 10, made_by=manager, witness=witness, now=now)
        work.append(
            HistoryWork(clinic=clinic, witness=witness, password_witness=password_witness, nurses=nurses,
                        slots=[(s.pk, mg) for s, mg in ready])
        )  # fmt: skip
    nurse = User.objects.create(username=f"bench-nurse-hall-{stamp}", password=hashed, first_name="Nurse",
                                last_name="Bench")  # fmt: skip
    nurse.groups.set([nurse_group])
    nurse.clinics.set([site.clinic for site in work])
    return History(nurse=nurse, clinics=work)


def refresh(history: History, now: datetime) -> None:
    """The statistics' summary tables of the days dosed in the scale clinics, brought up to date."""
    from reports.services import refresh_summaries

    for site in history.clinics:
        today = now.astimezone(site.clinic.zone).date()
        refresh_summaries(clinic=site.clinic, since=today - timedelta(days=1), until=today + timedelta(days=1))
