"""Two years of plausible history for a demo clinic (issue 15, item 8), so a newcomer sees live charts.

Patients start over the two years (most in the first months, as a new service fills), attend twice a day
with missed, withheld and refused sessions, have the odd overdose (with naloxone), a TOP interview at entry
and every 3 months that improves on the whole, and a third are discharged for the usual reasons. Each has
the accepted referral that brought them in. Every dose has its controlled-drug register lines, as
`administer_dose` would have drawn them (the least-waste ampoules, the waste of the part-used one), from
diamorphine registers stocked by a weekly receipt of what the week used; the cupboard is left holding the
opening stock of cd_register/demo.py, so that today's demo doses draw from the same stock as before.

Written in bulk straight to the tables, as `seed_scale` does: past records, not the services' "now". The
rows are kept in memory and written per table in one pass (COPY on PostgreSQL, one executemany elsewhere)
with ids taken up front, so two years of a clinic take seconds. `seed_demo` runs this before any other
app's demo data (`seed_history`): the register entries then run in time order. The statistics summaries
are rebuilt afterwards by reports/demo.py. Idempotent: a clinic that already has history is left alone.
"""

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, models, transaction

from cd_register import demo as cd_demo
from cd_register.models import CdDrug, EntryKind, Register, RegisterEntry, StockForm
from cd_register.rules import choose_ampoules
from dosing.models import Administration, AdverseEvent, DosingSettings, Drug, Prescription, Route, Slot, SlotStatus
from patients.models import Episode, OutcomeInterview, Patient
from referrals.models import Referral, ReferralSource, ReferralStatus

MARKER = "Demo history"  # in gp_practice: how a re-run knows the history is there
GIVEN = ["Alex", "Sam", "Jo", "Chris", "Lee", "Robin", "Kim", "Pat", "Jamie", "Terry", "Dale", "Casey", "Morgan"]
FAMILY = ["Hartley", "Pearson", "Dunn", "Carr", "Metcalfe", "Bell", "Wilkinson", "Ward", "Robson", "Hughes", "Lowe"]
REASONS = [
    ("dropped_out", 40),
    ("completed", 12),
    ("to_oral", 15),
    ("custody", 12),
    ("to_other_service", 5),
    ("moved_away", 6),
    ("died", 3),
    ("other", 7),
]
SOURCES = [
    (ReferralSource.GP, 3),
    (ReferralSource.SELF, 3),
    (ReferralSource.PROBATION, 2),
    (ReferralSource.POLICE_DIVERSION, 2),
    (ReferralSource.COMMUNITY_DRUG_SERVICE, 2),
]


def _weighted(rng, pairs):
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _top(rng, episode, patient, day, progress: float, recorded_by) -> OutcomeInterview:
    """An interview; `progress` 0 at entry to 1 after a year or more: use and crime fall, health rises."""

    def days(start_high, floor=0):
        return max(floor, min(28, round(start_high * (1 - 0.7 * progress) + rng.gauss(0, 3))))

    def score(start):
        return max(0, min(20, round(start + 7 * progress + rng.gauss(0, 2))))

    return OutcomeInterview(
        patient=patient,
        episode=episode,
        interviewed_on=day,
        heroin_days=days(24),
        other_opiate_days=days(6),
        crack_days=days(10),
        cocaine_days=days(3),
        amphetamine_days=days(1),
        cannabis_days=days(8),
        alcohol_days=days(7),
        injected_days=days(22),
        shared_equipment=rng.random() < 0.3 * (1 - progress),
        shoplifting_days=days(9),
        selling_drugs_days=days(5),
        other_theft=rng.random() < 0.4 * (1 - 0.8 * progress),
        assault=rng.random() < 0.15 * (1 - 0.8 * progress),
        psychological_health=score(8),
        physical_health=score(9),
        quality_of_life=score(7),
        paid_work_days=0 if rng.random() < 0.85 - 0.3 * progress else rng.randint(2, 20),
        education_days=0 if rng.random() < 0.9 - 0.2 * progress else rng.randint(2, 12),
        acute_housing_problem=rng.random() < 0.35 * (1 - 0.6 * progress),
        at_risk_of_eviction=rng.random() < 0.15 * (1 - 0.5 * progress),
        recorded_by=recorded_by,
    )


class _Table:
    """Rows of one table, written in one pass: COPY on PostgreSQL, one executemany elsewhere.

    `columns` are given per row (as the database takes them: dates, aware datetimes, Decimals); every other
    column gets the value a new model instance would save (its default, `auto_now_add` now), worked out once.
    """

    def __init__(self, model, columns: list[str]):
        self.model, self.columns, self.rows = model, ["id", *columns], []
        fields = {field.attname: field for field in model._meta.concrete_fields}
        template = model()
        self.rest = [name for name in fields if name not in self.columns]
        self.defaults = tuple(
            fields[name].get_db_prep_save(fields[name].pre_save(template, add=True), connection) for name in self.rest
        )
        # SQLite takes dates, datetimes and Decimals as text: Django's own conversion of those columns only.
        self.convert = {
            n: fields[name]
            for n, name in enumerate(self.columns)
            if connection.vendor != "postgresql"
            and isinstance(fields[name], (models.DateField, models.DecimalField))  # DateTimeField is a DateField
        }
        self._next = None

    def next_id(self) -> int:
        """The id of the next row added: a block of the table's own sequence, taken a thousand at a time."""
        if not self._next:
            self._next = _ids(self.model, 1000)
        return self._next.pop(0)

    def add(self, *values) -> int:
        pk = self.next_id()
        self.rows.append((pk, *values))
        return pk

    def write(self) -> None:
        if not self.rows:
            return
        table, names = self.model._meta.db_table, [*self.columns, *self.rest]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                quoted = ", ".join(connection.ops.quote_name(name) for name in names)
                with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row((*row, *self.defaults))
            else:
                marks = ", ".join(["%s"] * len(names))
                quoted = ", ".join(connection.ops.quote_name(name) for name in names)
                cursor.executemany(
                    f"INSERT INTO {table} ({quoted}) VALUES ({marks})",  # noqa: S608 (a model's table and columns)
                    [
                        (*self._converted(row), *self.defaults) if self.convert else (*row, *self.defaults)
                        for row in self.rows
                    ],
                )
        self.rows = []

    def _converted(self, row):
        return [
            self.convert[n].get_db_prep_save(value, connection) if n in self.convert else value
            for n, value in enumerate(row)
        ]


def _ids(model, count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: one writer at a time (the caller's transaction); ids after the highest, kept for the next block.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (a model's table name)
        highest = max(cursor.fetchone()[0], _taken.get(table, 0))
    _taken[table] = highest + count
    return list(range(highest + 1, highest + count + 1))


_taken: dict[str, int] = {}


class _Register:
    """One demo register's history: its lines in time order, numbered with running balances on writing."""

    def __init__(self, register: Register, opening: int):
        self.register, self.opening = register, Decimal(opening)
        self.lines = []  # (occurred_at, administration id, line number, fields)
        self.drawn_by_week = defaultdict(Decimal)


def _stock(clinic, staff, first_day: date) -> dict[Decimal, _Register]:
    """The clinic's diamorphine ampoule registers, created as cd_register/demo.py creates them (its strengths)."""
    made_by = staff.get("manager") or staff["prescriber"]
    created_at = datetime.combine(first_day - timedelta(days=1), time(7), tzinfo=clinic.zone)
    registers = {}
    for drug, strength, opening in cd_demo.STOCK:
        if drug != CdDrug.DIAMORPHINE:
            continue
        register, _ = Register.objects.get_or_create(
            clinic=clinic,
            drug=drug,
            strength_mg=strength,
            form=StockForm.AMPOULE,
            defaults={"created_by": made_by, "created_at": created_at},
        )
        registers[strength] = _Register(register, opening)
    return registers


def _draws(registers: dict[Decimal, _Register], mg: Decimal) -> list[tuple[_Register, Decimal, Decimal]]:
    """(register, ampoules drawn, mg wasted) for a dose, as draw_for_administration picks them from ample stock."""
    by_pk = {entry.register.pk: entry for entry in registers.values()}
    picks = choose_ampoules(dose_mg=mg, stock=[(pk, e.register.strength_mg, 10**6) for pk, e in by_pk.items()])
    drawn = sorted(((by_pk[p.register_id], Decimal(p.count)) for p in picks), key=lambda pick: pick[0].register.pk)
    waste = sum((e.register.strength_mg * count for e, count in drawn), Decimal(0)) - mg
    smallest = min((e for e, _ in drawn), key=lambda e: (e.register.strength_mg, e.register.pk))
    return [(e, count, waste if e is smallest else Decimal(0)) for e, count in drawn]


def _write_register_lines(clinic, registers, staff, first_day: date, today: date) -> int:
    """Weekly receipts of what each week drew (the first also brings the opening stock), then every line in time
    order with its number and running balance; the register ends holding its opening stock."""
    nurse = staff["nurse"]
    receiver = staff.get("manager") or staff["prescriber"]
    table = _Table(
        RegisterEntry,
        [
            "register_id",
            "sequence",
            "kind",
            "quantity",
            "waste_mg",
            "balance_after",
            "occurred_at",
            "entered_at",
            "made_by_id",
            "witnessed_by_id",
            "supplier_name",
            "supplier_address",
            "batch",
            "expires_on",
            "patient_id",
            "administration_ref",
            "reason",
            "notes",
        ],
    )
    written = 0
    for strength, entry in registers.items():
        lines = list(entry.lines)
        weeks = sorted(entry.drawn_by_week.items()) or [(0, Decimal(0))]  # an ampoule never drawn: its opening stock
        for n, (week, drawn) in enumerate(weeks):
            quantity = drawn + (entry.opening if n == 0 else 0)
            day = first_day + timedelta(days=7 * week)
            at = datetime.combine(day, time(7, 30), tzinfo=clinic.zone)
            receipt = {
                "kind": EntryKind.RECEIPT,
                "quantity": quantity,
                "made_by_id": receiver.pk,
                "witnessed_by_id": nurse.pk,
                "supplier_name": cd_demo.SUPPLIER[0],
                "supplier_address": cd_demo.SUPPLIER[1],
                "batch": f"DEMO-HIST-{strength:.0f}-{day:%Y%m%d}",
                "expires_on": day + timedelta(days=730),
                "notes": "Weekly delivery (demo history).",
            }
            lines.append((at, 0, 0, receipt))
        lines.sort(key=lambda line: line[:3])
        balance, sequence = Decimal(0), 0
        for occurred_at, administration_ref, _, fields in lines:
            sequence += 1
            balance += fields["quantity"]
            table.add(
                entry.register.pk,
                sequence,
                fields["kind"],
                fields["quantity"],
                fields.get("waste_mg", Decimal(0)),
                balance,
                occurred_at,
                occurred_at,
                fields["made_by_id"],
                fields["witnessed_by_id"],
                fields.get("supplier_name", ""),
                fields.get("supplier_address", ""),
                fields.get("batch", ""),
                fields.get("expires_on"),
                fields.get("patient_id"),
                administration_ref or None,
                fields.get("reason", ""),
                fields.get("notes", ""),
            )
        written += sequence
        table.write()
        Register.objects.filter(pk=entry.register.pk).update(balance=balance, last_sequence=sequence)
    return written


@transaction.atomic
def seed_history(clinic, *, patients: int, days: int, today: date, staff: dict, seed: int = 1) -> int:
    """`patients` people over the `days` before `today` at `clinic`; returns the slots written (0 if present)."""
    if Patient.objects.filter(clinic=clinic, gp_practice=MARKER).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 (invented demo data, not a secret)
    nurse, witness = staff["nurse"], staff["nurse2"]
    prescriber, keyworker = staff["prescriber"], staff["keyworker"]
    settings = DosingSettings.for_clinic(clinic)
    first_day = today - timedelta(days=days)
    registers = _stock(clinic, staff, first_day)
    draws_of = {}  # mg -> the lines of a dose of that many mg
    slots = _Table(
        Slot,
        ["patient_id", "clinic_id", "prescription_id", "date", "session", "window_start", "window_end", "status",
         "status_changed_at"],
    )  # fmt: skip
    doses = _Table(
        Administration,
        ["slot_id", "patient_id", "prescription_id", "drug", "dose_mg", "prescribed_dose_mg", "route",
         "injection_site", "given_at", "nurse_id", "witness_id", "observation_ends_at", "recorded_at"],
    )  # fmt: skip
    events = _Table(
        AdverseEvent,
        ["administration_id", "kind", "occurred_at", "naloxone_dose_mg", "naloxone_given_at", "recorded_by_id",
         "recorded_at"],
    )  # fmt: skip
    slots_written = 0
    interviews = []
    for n in range(patients):
        # Most start as the service fills in its first months; the rest replace those who leave.
        offset = int(rng.random() ** 2 * 0.6 * days) if n < patients * 0.6 else rng.randint(0, days - 30)
        started_on = first_day + timedelta(days=offset)
        ended_on, reason = None, ""
        if rng.random() < 0.35:
            ended_on = min(today - timedelta(days=1), started_on + timedelta(days=rng.randint(20, 500)))
            reason = _weighted(rng, REASONS)
        patient = Patient.objects.create(
            clinic=clinic,
            given_name=rng.choice(GIVEN),
            family_name=f"{rng.choice(FAMILY)}-{n + 1}",
            date_of_birth=date(rng.randint(1966, 1996), rng.randint(1, 12), rng.randint(1, 28)),
            sex=rng.choice(["male", "male", "female"]),
            gp_practice=MARKER,
            status="discharged" if ended_on else "maintenance",
        )
        episode = Episode.objects.create(
            patient=patient,
            clinic=clinic,
            started_on=started_on,
            ended_on=ended_on,
            discharge_reason=reason,
            discharged_by=prescriber if ended_on else None,
        )
        Referral.objects.create(
            clinic=clinic,
            created_by=keyworker,
            source=_weighted(rng, SOURCES),
            referrer_organisation="Demo referrer",
            received_on=started_on - timedelta(days=rng.randint(10, 40)),
            given_name=patient.given_name,
            family_name=patient.family_name,
            date_of_birth=patient.date_of_birth,
            contact_route="phone",
            years_dependent=rng.randint(4, 20),
            months_in_oral_treatment=rng.randint(6, 60),
            injecting_days_last_3_months=rng.randint(45, 90),
            pregnant=False,
            contraindication=False,
            status=ReferralStatus.ACCEPTED,
            decided_by=prescriber,
            patient=patient,
        )
        mg = Decimal(rng.choice([80, 100, 120, 150, 180, 200]))
        window = settings.window(started_on, "morning")[0]
        prescription = Prescription.objects.create(
            patient=patient,
            drug=Drug.DIAMORPHINE_INJECTABLE,
            route=Route.INTRAVENOUS,
            morning_dose_mg=mg,
            afternoon_dose_mg=mg,
            daily_max_mg=mg * 2,
            starts_on=started_on,
            prescriber=prescriber,
            signed_at=window - timedelta(hours=1),
            stopped_at=settings.window(ended_on, "afternoon")[1] if ended_on else None,
            stopped_by=prescriber if ended_on else None,
            stop_reason="Discharged" if ended_on else "",
        )
        last = ended_on or today - timedelta(days=1)
        attendance = rng.uniform(0.80, 0.96)
        given = []  # (slot id, window start) of the sessions dosed
        day = started_on
        while day <= last:
            for session in ("morning", "afternoon"):
                u = rng.random()
                if u < attendance:
                    status = SlotStatus.GIVEN
                elif u < attendance + 0.025:
                    status = SlotStatus.WITHHELD
                elif u < attendance + 0.035:
                    status = SlotStatus.REFUSED
                else:
                    status = SlotStatus.MISSED
                window_start, window_end = settings.window(day, session)
                slot_id = slots.add(
                    patient.pk,
                    clinic.pk,
                    prescription.pk,
                    day,
                    session,
                    window_start,
                    window_end,
                    status,
                    window_start + timedelta(minutes=20),
                )
                slots_written += 1
                if status == SlotStatus.GIVEN:
                    given.append((slot_id, window_start))
            day += timedelta(days=1)
        if mg not in draws_of:
            draws_of[mg] = _draws(registers, mg)
        administrations = []
        for slot_id, window_start in given:
            given_at = window_start + timedelta(minutes=15)
            administration_id = doses.add(
                slot_id,
                patient.pk,
                prescription.pk,
                prescription.drug,
                mg,
                mg,
                prescription.route,
                rng.choice(["left_arm", "right_arm", "left_leg", "right_leg"]),
                given_at,
                nurse.pk,
                witness.pk,
                window_start + timedelta(minutes=30),
                given_at,
            )
            administrations.append((administration_id, given_at))
            week = (given_at.astimezone(clinic.zone).date() - first_day).days // 7
            common = {"made_by_id": nurse.pk, "witnessed_by_id": witness.pk, "patient_id": patient.pk}
            for number, (entry, count, _) in enumerate(draws_of[mg]):
                drawn = {"kind": EntryKind.ADMINISTRATION, "quantity": -count, **common}
                entry.lines.append((given_at, administration_id, number, drawn))
                entry.drawn_by_week[week] += count
            for entry, _, waste in draws_of[mg]:
                if waste:
                    register = entry.register
                    reason = f"Unused part of a {register.strength_label} {register.unit} after a {mg:.0f} mg dose"
                    fields = {"kind": EntryKind.WASTE, "quantity": Decimal(0), "waste_mg": waste, "reason": reason}
                    entry.lines.append((given_at, administration_id, 99, {**fields, **common}))
        for administration_id, given_at in administrations:
            if rng.random() < 1 / 900:
                occurred = given_at + timedelta(minutes=6)
                events.add(administration_id, "overdose", occurred, None, None, nurse.pk, occurred)
                events.add(administration_id, "naloxone", occurred, Decimal("0.4"), occurred, nurse.pk, occurred)
        day = started_on
        while day <= last:
            progress = min(1.0, (day - started_on).days / 365)
            interviews.append(_top(rng, episode, patient, day, progress, keyworker))
            day += timedelta(days=91)
    for table in (slots, doses, events):
        table.write()
    OutcomeInterview.objects.bulk_create(interviews)
    _write_register_lines(clinic, registers, staff, first_day, today)
    return slots_written
