"""Fill a PostgreSQL database with years of realistic records, for the statistics benchmark.

    DATABASE_URL=postgres://.../hat_clinic_scale python manage.py migrate
    DATABASE_URL=postgres://.../hat_clinic_scale python manage.py seed_scale --clinics 10 --patients 150 --years 5

`--patients` is each clinic's caseload: that many places are kept filled for `--years` years,
so a discharged patient's place goes to a new patient or to a former one coming back. Each
episode has a titration step, maintenance doses twice a day with missed, refused and withheld
sessions, missed-dose holds (S7: three days without a dose, then withheld until the
prescriber's restart version), the odd correction (S10) and adverse event (S12), TOP interviews
every 3 months, and the referral that brought the patient in (plus declined and withdrawn ones).
Today's sessions are left open, so the dosing board has a full clinic.

Rows are generated in Python and streamed with PostgreSQL COPY (psycopg 3) in one transaction,
by a writer thread while the next rows are generated. Check constraints, primary keys and the
append-only triggers stay on (COPY only inserts); foreign keys, unique rules and secondary
indexes of the loaded tables are set aside and put back (so checked and built in one pass each)
before the transaction commits: if any row broke one, nothing is kept. The rows keep the rules:
one administration per slot (S1), doses within the prescription of the day (S4), witness is not
the nurse (S9), one live prescription per patient, one open episode per patient. Pre-dose checks
and observation sign-outs of the past are not generated (nothing in the statistics reads them).
Finally the summary tables (daily, monthly, TOP follow-ups and their monthly sums) are built
(reports.services.refresh_summaries).
"""

import queue
import random
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from clinics.models import Clinic, User
from dosing.models import DosingSettings, PrescriberLicence
from reports import services
from reports.models import (
    DailyDoseStats,
    DailySessionStats,
    MonthlyDoseStats,
    MonthlyOutcomeStats,
    MonthlySessionStats,
    OutcomeFollowUp,
)

CODE_PREFIX = "scale-"
DEFAULT_PASSWORD = "scale-password-1234"  # noqa: S105 (a benchmark database of invented people)
GIVEN_NAMES = [
    "Alex",
    "Sam",
    "Jo",
    "Chris",
    "Lee",
    "Robin",
    "Kim",
    "Pat",
    "Jamie",
    "Terry",
    "Dale",
    "Casey",
    "Morgan",
    "Jordan",
    "Taylor",
    "Ryan",
    "Kerry",
    "Lynn",
]
FAMILY_NAMES = [
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Clarke",
    "Jackson",
    "Turner",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "Morris",
    "King",
    "Watson",
]
DISCHARGE_REASONS = [
    ("dropped_out", 35),
    ("to_oral", 15),
    ("completed", 10),
    ("custody", 10),
    ("moved_away", 8),
    ("to_other_service", 8),
    ("withdrawn", 5),
    ("died", 3),
    ("other", 6),
]
SOURCES = [
    ("gp", 20),
    ("community_drug_service", 40),
    ("probation", 15),
    ("police_diversion", 10),
    ("self", 10),
    ("other", 5),
]
SITES = ["left_arm", "right_arm", "left_hand", "right_hand", "left_leg", "right_leg"]
SESSIONS = ("morning", "afternoon")
STATUS_REASONS = {
    "missed": "Not used by the end of the session window",
    "withheld": "Intoxicated at the pre-dose check",
    "refused": "Declined today's dose",
}
HOLD_REASON = "On hold (S7): prescriber review required"
OTHERS: dict[int, list[int]] = {}  # nurse id -> the other nurses of the clinic (witnesses, S9)
N = r"\N"
SUMMARY_MODELS = (
    DailySessionStats,
    DailyDoseStats,
    MonthlySessionStats,
    MonthlyDoseStats,
    OutcomeFollowUp,
    MonthlyOutcomeStats,
)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def _weighted(rng, choices):
    total = sum(weight for _, weight in choices)
    pick = rng.uniform(0, total)
    for value, weight in choices:
        pick -= weight
        if pick <= 0:
            return value
    return choices[-1][0]


class Ids:
    def __init__(self):
        self.next = {}

    def start(self, table: str, first: int):
        self.next[table] = first

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class Copier:
    """Buffers tab-separated rows per table; a writer thread streams full buffers with COPY.

    Generating rows (Python) and loading them (the PostgreSQL server) then run side by side:
    psycopg releases the GIL while it waits on the server. Only the writer thread uses the
    connection until `drain()` returns.
    """

    BUFFER = 20000

    def __init__(self, cursor, columns: dict[str, list[str]]):
        self.cursor, self.columns = cursor, columns
        self.buffers = {table: [] for table in columns}
        self.counts = dict.fromkeys(columns, 0)
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self):
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                table, text = item
                if self.error is None:
                    with self.cursor.copy(f"COPY {table} ({', '.join(self.columns[table])}) FROM STDIN") as copy:
                        copy.write(text)
            except BaseException as error:  # reported by drain(), in the main thread
                self.error = error
            finally:
                self.queue.task_done()

    def add(self, table: str, line: str):
        buffer = self.buffers[table]
        buffer.append(line)
        if len(buffer) >= self.BUFFER:
            self.flush(table)

    def flush(self, table: str):
        buffer = self.buffers[table]
        if not buffer:
            return
        if self.error is not None:
            raise CommandError(f"Loading failed: {self.error}") from self.error
        self.queue.put((table, "\n".join(buffer) + "\n"))
        self.counts[table] += len(buffer)
        self.buffers[table] = []

    def drain(self):
        """Send every buffer and wait until the server has them all."""
        for table in self.buffers:
            self.flush(table)
        self.queue.join()
        if self.error is not None:
            raise CommandError(f"Loading failed: {self.error}") from self.error

    def close(self):
        self.drain()
        self.queue.put(None)
        self.thread.join()


COLUMNS = {
    "patients_patient": [
        "id",
        "clinic_id",
        "nhs_number",
        "given_name",
        "family_name",
        "preferred_name",
        "date_of_birth",
        "sex",
        "phone",
        "email",
        "address",
        "contact_route",
        "contact_notes",
        "gp_practice",
        "keyworker_id",
        "photo",
        "status",
        "created_at",
        "updated_at",
        "clinical_alert",
    ],
    "patients_episode": [
        "id",
        "patient_id",
        "clinic_id",
        "started_on",
        "ended_on",
        "discharge_reason",
        "discharge_notes",
        "discharged_by_id",
        "created_at",
    ],
    "patients_consententry": [
        "patient_id",
        "kind",
        "partner_id",
        "decision",
        "effective_at",
        "notes",
        "recorded_by_id",
        "recorded_at",
    ],
    "patients_outcomeinterview": [
        "patient_id",
        "episode_id",
        "interviewed_on",
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
        "recorded_by_id",
        "recorded_at",
    ],
    "dosing_prescription": [
        "id",
        "patient_id",
        "drug",
        "route",
        "supply",
        "morning_dose_mg",
        "afternoon_dose_mg",
        "evening_dose_mg",
        "daily_max_mg",
        "starts_on",
        "ends_on",
        "is_titration",
        "notes",
        "prescriber_id",
        "signed_at",
        "supersedes_id",
        "superseded_at",
        "stopped_at",
        "stopped_by_id",
        "stop_reason",
        "created_at",
    ],
    "dosing_hold": [
        "patient_id",
        "prescription_id",
        "since",
        "missed_since",
        "missed_days",
        "reason",
        "cleared_at",
        "cleared_by_id",
        "clear_notes",
        "restart_prescription_id",
        "cleared_with",
    ],
    "dosing_slot": [
        "id",
        "patient_id",
        "clinic_id",
        "prescription_id",
        "date",
        "session",
        "window_start",
        "window_end",
        "status",
        "status_reason",
        "status_changed_at",
        "status_changed_by_id",
        "arrived_at",
        "created_at",
        "top_up",
    ],
    "dosing_administration": [
        "id",
        "slot_id",
        "patient_id",
        "prescription_id",
        "drug",
        "dose_mg",
        "prescribed_dose_mg",
        "route",
        "injection_site",
        "given_at",
        "nurse_id",
        "witness_id",
        "observation_ends_at",
        "corrects_id",
        "correction_reason",
        "recorded_at",
    ],
    "dosing_adverseevent": [
        "administration_id",
        "kind",
        "occurred_at",
        "naloxone_dose_mg",
        "naloxone_given_at",
        "notes",
        "recorded_by_id",
        "recorded_at",
    ],
    "referrals_referral": [
        "clinic_id",
        "source",
        "referrer_organisation",
        "referrer_name",
        "referrer_phone",
        "referrer_email",
        "received_on",
        "given_name",
        "family_name",
        "date_of_birth",
        "nhs_number",
        "sex",
        "phone",
        "contact_route",
        "contact_notes",
        "years_dependent",
        "months_in_oral_treatment",
        "injecting_days_last_3_months",
        "pregnant",
        "contraindication",
        "exclusion_notes",
        "status",
        "created_by_id",
        "created_at",
        "updated_at",
        "assessed_by_id",
        "assessment_started_at",
        "recommendation",
        "recommendation_notes",
        "recommended_by_id",
        "recommended_at",
        "decided_by_id",
        "decided_at",
        "decision_reason",
        "override_reason",
        "withdrawn_by_id",
        "withdrawn_at",
        "withdrawal_reason",
        "patient_id",
    ],
}


class Command(BaseCommand):
    help = "Write years of realistic records for the statistics benchmark (PostgreSQL, bulk COPY)."

    def add_arguments(self, parser):
        parser.add_argument("--clinics", type=int, default=10)
        parser.add_argument("--patients", type=int, default=150, help="Caseload of each clinic.")
        parser.add_argument("--years", type=int, default=5)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password of the staff accounts made.")
        parser.add_argument("--force", action="store_true", help="Run although the database holds other data.")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale needs PostgreSQL (it loads with COPY): set DATABASE_URL.")
        others = Clinic.objects.exclude(code__startswith=CODE_PREFIX).exists()
        already = Clinic.objects.filter(code__startswith=CODE_PREFIX).exists()
        if (others or already) and not options["force"]:
            what = "records that are not scale data" if others else "scale data already"
            raise CommandError(
                f"This database holds {what}. Use a separate database (e.g. .../hat_clinic_scale), or --force."
            )
        if options["clinics"] < 1 or options["patients"] < 1 or options["years"] < 1:
            raise CommandError("--clinics, --patients and --years must be at least 1.")
        self.rng = random.Random(options["seed"])  # noqa: S311 (invented data, reproducible by seed)
        self.started = time.monotonic()
        self.now = timezone.now()
        with transaction.atomic():
            staff = self._staff_and_clinics(options)
            with connection.cursor() as django_cursor:
                cursor = django_cursor.cursor  # the psycopg 3 cursor, for COPY
                self.ids = Ids()
                for table in (
                    "patients_patient",
                    "patients_episode",
                    "dosing_prescription",
                    "dosing_slot",
                    "dosing_administration",
                ):
                    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 (our table names)
                    self.ids.start(table, cursor.fetchone()[0])
                self.copier = Copier(cursor, COLUMNS)
                # ALTER TABLE refuses a table with pending trigger events: the deferred foreign-key checks of the
                # staff just written and the board-version bump queued by the clinics' triggers (dosing 0003).
                # Run them now and from here on at the end of each statement (the loaded tables' keys are off
                # anyway; their board triggers are one call per COPY), so the ALTERs below find nothing pending.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                constraints, indexes = self._set_aside_keys_and_indexes(cursor)
                for number, (clinic, people) in enumerate(staff, start=1):
                    self._clinic(clinic, people, options)
                    self._progress(f"clinic {number}/{len(staff)} {clinic.code}")
                self.copier.close()
                self._progress("rows loaded; building indexes, checking unique rules and foreign keys")
                self._put_back(cursor, constraints, indexes)
                for table in (
                    "patients_patient",
                    "patients_episode",
                    "dosing_prescription",
                    "dosing_slot",
                    "dosing_administration",
                ):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
                    )
            self._progress("building the summary tables")
            services.refresh_summaries()
            services.mark_refreshed()  # the beat job carries on from here
        with connection.cursor() as cursor:
            summaries = [model._meta.db_table for model in SUMMARY_MODELS]
            for table in [*COLUMNS, *summaries]:
                cursor.execute(f"ANALYZE {table}")
        counts = ", ".join(f"{table.split('_', 1)[1]} {count:,}" for table, count in self.copier.counts.items())
        self._progress(f"done: {counts}")

    def _set_aside_keys_and_indexes(self, cursor) -> tuple[list, list]:
        """Drop the foreign keys, unique constraints and secondary indexes of the tables we load.

        Checking and indexing ~10 million rows one by one takes several times longer than building
        each index once and checking each key in one pass. They are all put back before commit, in
        the same transaction: if any row broke a key or a unique rule, putting it back fails and
        nothing is kept. Primary keys and check constraints stay on throughout.
        """
        tables = list(COLUMNS)
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype IN ('f', 'u') AND conrelid::regclass::text = ANY(%s) ORDER BY contype = 'f' DESC",
            [tables],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in constraints:  # foreign keys first (ORDER BY above)
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        return constraints, indexes

    def _put_back(self, cursor, constraints, indexes) -> None:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in reversed(constraints):  # unique constraints, then foreign keys
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')

    def _progress(self, message: str):
        self.stdout.write(f"[{time.monotonic() - self.started:6.1f}s] {message}")
        self.stdout.flush()

    # --- Staff and clinics ---------------------------------------------------------------------------------------

    def _staff_and_clinics(self, options):
        suffix = (
            "" if not Clinic.objects.filter(code__startswith=CODE_PREFIX).exists() else f"-{self.rng.randrange(10**6)}"
        )
        password = make_password(options["password"])  # hashed once, shared: the scale accounts are invented
        groups = {group.name: group for group in Group.objects.all()}
        result, clinics, managers = [], [], {}
        for n in range(1, options["clinics"] + 1):
            clinic = Clinic.objects.create(
                name=f"Scale clinic {n:02d}{suffix}",
                code=f"{CODE_PREFIX}{n:02d}{suffix}"[:20],
                time_zone="Europe/London",
            )
            DosingSettings.for_clinic(clinic)
            clinics.append(clinic)
            people = {"nurses": [], "prescriber": None, "keyworker": None, "clinic_manager": None}
            for role, count in (("nurse", 4), ("prescriber", 1), ("keyworker", 1), ("clinic_manager", 1)):
                for k in range(count):
                    user = User.objects.create(
                        username=f"{clinic.code}.{role}{k + 1}",
                        password=password,
                        first_name=role.title(),
                        last_name=f"{n:02d}-{k + 1}",
                    )
                    user.groups.add(groups[role])
                    user.clinics.add(clinic)
                    if role == "nurse":
                        people["nurses"].append(user.pk)
                    else:
                        people[role] = user.pk
                    if role == "clinic_manager":
                        managers[clinic.pk] = user
            result.append((clinic, people))
        self._licences(result, managers, years=options["years"])
        commissioner = User.objects.create(
            username=f"scale.commissioner{suffix}", password=password, first_name="Scale", last_name="Commissioner"
        )
        commissioner.groups.add(groups["commissioner"])
        commissioner.clinics.set(clinics)
        self._progress(f"{len(clinics)} clinics and their staff; commissioner '{commissioner.username}'")
        return result

    def _licences(self, clinics, managers: dict[int, User], *, years: int) -> None:
        """S14: each clinic's prescriber holds a Home Office licence for it, from before the first episode to a year
        ahead (without one every diamorphine dose against the seeded prescriptions is refused). One insert, with the
        history rows a manager's recording would leave."""
        today = timezone.localdate(self.now)
        licences = [
            PrescriberLicence(
                prescriber_id=people["prescriber"],
                clinic=clinic,
                number=f"HO-SCALE-{clinic.code}",
                valid_from=today - timedelta(days=365 * years + 30),
                valid_to=today + timedelta(days=365),
                recorded_by_id=people["clinic_manager"],
                recorded_at=self.now,
            )
            for clinic, people in clinics
        ]
        PrescriberLicence.objects.bulk_create(licences)
        for licence in licences:
            licence._history_user = managers[licence.clinic_id]  # recorded by the clinic's manager
        PrescriberLicence.history.bulk_history_create(licences, default_date=self.now)

    # --- One clinic ----------------------------------------------------------------------------------------------

    def _clinic(self, clinic, people, options):
        rng = self.rng
        zone = ZoneInfo(clinic.time_zone)
        today = timezone.localdate(self.now, zone)
        first_day = today - timedelta(days=365 * options["years"])
        settings = DosingSettings.for_clinic(clinic)
        windows = {}
        day = first_day
        while day <= today:
            for session in SESSIONS:
                start, end = settings.window(day, session)
                utc = start.astimezone(UTC)
                # Times within the session are written from the UTC date and minutes (no strftime per row).
                windows[(day, session)] = (
                    start,
                    _ts(start),
                    _ts(end),
                    _ts(start - timedelta(days=1)),
                    f"{utc:%Y-%m-%d}",
                    utc.hour * 60 + utc.minute,
                )
            day += timedelta(days=1)
        self.zone, self.windows, self.today, self.people, self.clinic = zone, windows, today, people, clinic
        self.clinic_id = clinic.pk
        for nurse in people["nurses"]:
            OTHERS[nurse] = [other for other in people["nurses"] if other != nurse]
        discharged_pool = []  # (patient_id, free from) of people who might come back
        for _place in range(options["patients"]):
            day = first_day + timedelta(days=rng.randrange(0, 90))  # the clinic fills up over its first months
            while day <= today:
                returning = [entry for entry in discharged_pool if entry[1] <= day]
                if returning and rng.random() < 0.15:
                    entry = rng.choice(returning)
                    discharged_pool.remove(entry)
                    patient_id = entry[0]
                else:
                    patient_id = self._new_patient(day)
                end = self._episode_end(day)
                ended_on = self._episode(patient_id, day, end)
                if ended_on is None:
                    break
                discharged_pool.append((patient_id, ended_on + timedelta(days=60)))
                day = ended_on + timedelta(days=rng.randrange(3, 30))
        # Referrals that did not lead to treatment.
        for _ in range(int(options["patients"] * options["years"] * 0.4)):
            self._referral(None, first_day + timedelta(days=rng.randrange(0, (today - first_day).days)))
        self._patient_status_fix()

    def _episode_end(self, start: date) -> date | None:
        rng = self.rng
        u = rng.random()
        if u < 0.12:
            length = rng.randrange(10, 91)
        elif u < 0.27:
            length = rng.randrange(91, 366)
        else:
            length = rng.randrange(366, 2500)
        end = start + timedelta(days=length)
        return None if end >= self.today else end

    def _new_patient(self, start: date) -> int:
        rng = self.rng
        patient_id = self.ids.take("patients_patient")
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        dob = date(rng.randrange(1965, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
        created = _ts(datetime.combine(start, dtime(9, 0), tzinfo=self.zone))
        # status is set at the end (_patient_status_fix) from the last episode
        self.copier.add(
            "patients_patient",
            f"{patient_id}\t{self.clinic.pk}\t\t{given}\t{family}\t\t{dob}\tnot_stated\t\t\t\tat_clinic\t\t\t"
            f"{self.people['keyworker']}\t\tmaintenance\t{created}\t{created}\t",
        )
        self.copier.add(
            "patients_consententry",
            f"{patient_id}\ttreatment\t{N}\tgiven\t{created}\t\t{self.people['keyworker']}\t{created}",
        )
        self._referral((patient_id, given, family, dob), start - timedelta(days=rng.randrange(20, 60)))
        return patient_id

    def _referral(self, patient, received_on: date):
        rng = self.rng
        keyworker, prescriber = self.people["keyworker"], self.people["prescriber"]
        source = _weighted(rng, SOURCES)
        received = datetime.combine(received_on, dtime(10, 0), tzinfo=self.zone)
        decided = _ts(received + timedelta(days=14))
        if patient is None:
            given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
            dob = date(rng.randrange(1965, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
            status = "declined" if rng.random() < 0.6 else "withdrawn"
            patient_id = N
        else:
            patient_id, given, family, dob = patient
            status = "accepted"
        declined = status == "declined"
        withdrawn = status == "withdrawn"
        decided_by = prescriber if status in ("accepted", "declined") else N
        self.copier.add(
            "referrals_referral",
            "\t".join(
                str(v)
                for v in (
                    self.clinic.pk,
                    source,
                    "Referring service",
                    "",
                    "",
                    "",
                    received_on,
                    given,
                    family,
                    dob,
                    "",
                    "not_stated",
                    "",
                    "at_clinic",
                    "",
                    8,
                    12,
                    60,
                    "f",
                    "f",
                    "",
                    status,
                    keyworker,
                    _ts(received),
                    decided,
                    keyworker,
                    _ts(received),
                    "accept" if status == "accepted" else "",
                    "",
                    N,
                    N,
                    decided_by,
                    decided if decided_by != N else N,
                    "Does not meet the criteria" if declined else "",
                    "",
                    keyworker if withdrawn else N,
                    decided if withdrawn else N,
                    "No longer wishes to be referred" if withdrawn else "",
                    patient_id,
                )
            ),
        )

    def _patient_status_fix(self):
        # One UPDATE per clinic: patients whose last episode is closed are discharged.
        with connection.cursor() as cursor:
            self.copier.drain()
            cursor.execute(
                "UPDATE patients_patient p SET status = 'discharged' WHERE p.clinic_id = %s AND NOT EXISTS "
                "(SELECT 1 FROM patients_episode e WHERE e.patient_id = p.id AND e.ended_on IS NULL)",
                [self.clinic.pk],
            )

    # --- One episode ---------------------------------------------------------------------------------------------

    def _prescription(self, patient_id, starts_on, dose, *, titration=False, supersedes=None, notes=""):
        prescription_id = self.ids.take("dosing_prescription")
        signed = datetime.combine(starts_on, dtime(8, 0), tzinfo=self.zone) - timedelta(hours=1)
        return {
            "id": prescription_id,
            "patient": patient_id,
            "dose": dose,
            "starts_on": starts_on,
            "titration": titration,
            "supersedes": supersedes,
            "signed": signed,
            "notes": notes,
            "superseded_at": None,
            "stopped_at": None,
        }

    def _write_prescription(self, p):
        dose = Decimal(p["dose"])
        self.copier.add(
            "dosing_prescription",
            "\t".join(
                str(v)
                for v in (
                    p["id"],
                    p["patient"],
                    "diamorphine_inj",
                    "iv",
                    "supervised",
                    dose,
                    dose,
                    N,
                    dose * 2 + 100,
                    p["starts_on"],
                    N,
                    "t" if p["titration"] else "f",
                    p["notes"],
                    self.people["prescriber"],
                    _ts(p["signed"]),
                    p["supersedes"] or N,
                    _ts(p["superseded_at"]) if p["superseded_at"] else N,
                    _ts(p["stopped_at"]) if p["stopped_at"] else N,
                    self.people["prescriber"] if p["stopped_at"] else N,
                    "Discharged" if p["stopped_at"] else "",
                    _ts(p["signed"]),
                )
            ),
        )

    def _episode(self, patient_id: int, start: date, end: date | None) -> date | None:
        rng, people, zone = self.rng, self.people, self.zone
        episode_id = self.ids.take("patients_episode")
        reason = _weighted(rng, DISCHARGE_REASONS) if end else ""
        created = _ts(datetime.combine(start, dtime(9, 0), tzinfo=zone))
        self.copier.add(
            "patients_episode",
            f"{episode_id}\t{patient_id}\t{self.clinic.pk}\t{start}\t{end or N}\t{reason}\t\t"
            f"{people['prescriber'] if end else N}\t{created}",
        )
        last_day = end or self.today
        # Prescription versions: a titration week, then maintenance; a hold restarts at a new version.
        maintenance = rng.choice((120, 150, 180, 200, 220, 250, 280, 300, 350))
        versions = [self._prescription(patient_id, start, 60, titration=True, notes="Titration step")]
        current = versions[0]
        switch_on = start + timedelta(days=7)
        hold_plan = {}
        day = start + timedelta(days=rng.randrange(40, 400))
        while day + timedelta(days=6) < last_day:
            hold_plan[day] = rng.randrange(1, 3)  # 3 missed days from `day`, then 1-2 days withheld on hold
            day += timedelta(days=rng.randrange(120, 600))
        hold_days: dict[date, str] = {}
        restarts: dict[date, tuple] = {}
        for first, withheld_days in hold_plan.items():
            for k in range(3):
                hold_days[first + timedelta(days=k)] = "missed"
            for k in range(withheld_days):
                hold_days[first + timedelta(days=3 + k)] = "held"
            restarts[first + timedelta(days=3 + withheld_days)] = (first, withheld_days)

        nurses = people["nurses"]
        severity = rng.random()  # how often this patient misses a session
        miss_p = 0.02 + 0.12 * severity * severity
        day = start
        while day <= last_day:
            if day == switch_on and current["titration"]:
                nxt = self._prescription(patient_id, day, maintenance, supersedes=current["id"], notes="Maintenance")
                current["superseded_at"] = nxt["signed"]
                versions.append(nxt)
                current = nxt
            if day in restarts:
                first, withheld_days = restarts[day]
                dose = max(60, int(current["dose"] * 0.8) // 10 * 10)
                nxt = self._prescription(
                    patient_id, day, dose, supersedes=current["id"], notes="Restart after missed-dose hold"
                )
                since = datetime.combine(first + timedelta(days=3), dtime(10, 31), tzinfo=zone)
                current["superseded_at"] = nxt["signed"]
                self.copier.add(
                    "dosing_hold",
                    f"{patient_id}\t{current['id']}\t{_ts(since)}\t{first}\t3\tS7 · 3 consecutive days missed since "
                    f"{first:%d %b}; prescriber review required\t{_ts(nxt['signed'])}\t{people['prescriber']}\t"
                    f"Reviewed\t{nxt['id']}\tsession",  # cleared by the prescriber's own signed-in act
                )
                versions.append(nxt)
                current = nxt
            planned = hold_days.get(day)
            for session in SESSIONS:
                self._slot(patient_id, current, day, session, planned, miss_p, nurses)
            day += timedelta(days=1)
        if end:
            current["stopped_at"] = datetime.combine(end, dtime(17, 0), tzinfo=zone)
        for version in versions:
            self._write_prescription(version)
        self._interviews(patient_id, episode_id, start, last_day)
        return end

    def _slot(self, patient_id, prescription, day, session, planned, miss_p, nurses):
        rng = self.rng
        slot_id = self.ids.take("dosing_slot")
        _start, ws, we, created, utc_day, base = self.windows[(day, session)]
        if day == self.today:
            status = "scheduled"
        elif planned == "missed":
            status = "missed"
        elif planned == "held":
            status = "withheld"
        else:
            u = rng.random()
            status = (
                "missed"
                if u < miss_p
                else "refused"
                if u < miss_p + 0.01
                else "withheld"
                if u < miss_p + 0.025
                else "partial"
                if u < miss_p + 0.045
                else "given"
            )
        reason = HOLD_REASON if planned == "held" and status == "withheld" else STATUS_REASONS.get(status, "")
        changed = changed_by = arrived = N
        minutes = 0
        if status == "missed":
            changed = we
        elif status in ("given", "partial", "withheld", "refused"):
            minutes = base + rng.randrange(5, 140)
            changed = f"{utc_day} {minutes // 60:02d}:{minutes % 60:02d}:00+00"
            arrived = f"{utc_day} {(minutes - 5) // 60:02d}:{(minutes - 5) % 60:02d}:00+00"
            changed_by = rng.choice(nurses)
        self.copier.add(
            "dosing_slot",
            f"{slot_id}\t{patient_id}\t{self.clinic_id}\t{prescription['id']}\t{day}\t{session}\t{ws}\t{we}\t"
            f"{status}\t{reason}\t{changed}\t{changed_by}\t{arrived}\t{created}\tf",  # no oral top-ups
        )
        if status not in ("given", "partial"):
            return
        dose = prescription["dose"]
        given_dose = dose if status == "given" else dose // 2  # S4: never above the session dose
        nurse = changed_by
        witness = rng.choice(OTHERS[nurse])  # S9
        administration_id = self.ids.take("dosing_administration")
        given_ts = changed
        observed = f"{utc_day} {(minutes + 15) // 60:02d}:{(minutes + 15) % 60:02d}:00+00"
        self.copier.add(
            "dosing_administration",
            f"{administration_id}\t{slot_id}\t{patient_id}\t{prescription['id']}\tdiamorphine_inj\t{given_dose}\t"
            f"{dose}\tiv\t{rng.choice(SITES)}\t{given_ts}\t{nurse}\t{witness}\t{observed}\t{N}\t\t{given_ts}",
        )
        if rng.random() < 0.0005:
            # S10: a mistake corrected a few days later by a new entry pointing at the original (same dose:
            # the site was wrong), so the slot's status stays as it is.
            corrected = self.ids.take("dosing_administration")
            given_at = datetime.strptime(given_ts, "%Y-%m-%d %H:%M:%S+00").replace(tzinfo=UTC)
            recorded = _ts(given_at + timedelta(days=rng.randrange(1, 4)))
            self.copier.add(
                "dosing_administration",
                f"{corrected}\t{slot_id}\t{patient_id}\t{prescription['id']}\tdiamorphine_inj\t{given_dose}\t"
                f"{dose}\tiv\t{rng.choice(SITES)}\t{given_ts}\t{nurse}\t{witness}\t{observed}\t{administration_id}\t"
                f"Wrong injection site recorded\t{recorded}",
            )
            administration_id = corrected
        if rng.random() < 0.0006:
            kind = _weighted(rng, [("overdose", 30), ("naloxone", 35), ("seizure", 5), ("other", 30)])
            given_at = datetime.strptime(given_ts, "%Y-%m-%d %H:%M:%S+00").replace(tzinfo=UTC)
            occurred = given_at + timedelta(minutes=rng.randrange(3, 15))
            naloxone = kind == "naloxone"
            self.copier.add(
                "dosing_adverseevent",
                f"{administration_id}\t{kind}\t{_ts(occurred)}\t{'0.40' if naloxone else N}\t"
                f"{_ts(occurred + timedelta(minutes=1)) if naloxone else N}\t\t{nurse}\t{_ts(occurred)}",
            )

    def _interviews(self, patient_id, episode_id, start, last_day):
        rng = self.rng
        keyworker = self.people["keyworker"]
        heroin = rng.randrange(18, 29)
        crime = rng.randrange(4, 20)
        health = rng.randrange(4, 11)
        housing = rng.random() < 0.5
        work = 0
        day, k = start, 0
        while day <= min(last_day, self.today):
            recorded = _ts(datetime.combine(day, dtime(12, 0), tzinfo=self.zone))
            shop, selling = crime // 2, crime - crime // 2
            self.copier.add(
                "patients_outcomeinterview",
                f"{patient_id}\t{episode_id}\t{day}\t{heroin}\t{rng.randrange(0, 6)}\t{rng.randrange(0, 10)}\t"
                f"{rng.randrange(0, 4)}\t0\t{rng.randrange(0, 12)}\t{rng.randrange(0, 12)}\t{min(28, heroin + 2)}\t"
                f"{'t' if rng.random() < 0.1 else 'f'}\t{shop}\t{selling}\t{'t' if crime > 8 else 'f'}\t"
                f"{'t' if rng.random() < 0.05 else 'f'}\t{health}\t{min(20, health + 1)}\t{health}\t{work}\t0\t"
                f"{'t' if housing else 'f'}\tf\t{keyworker}\t{recorded}",
            )
            k += 1
            heroin = max(0, heroin - rng.randrange(0, 8))
            crime = max(0, crime - rng.randrange(0, 5))
            health = min(20, health + rng.randrange(0, 3))
            housing = housing and rng.random() < 0.7
            work = min(28, work + (rng.randrange(0, 6) if k > 2 else 0))
            day += timedelta(days=91)
