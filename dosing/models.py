"""Prescriptions, session slots, pre-dose checks, administrations, holds and adverse events.

Design decisions (read before changing anything here):

- A prescription is never edited. A change is a new row whose `supersedes` points at the old
  one, which gets `superseded_at`; stopping is dated (`stopped_at`). The "live" version of a
  prescription is the one neither superseded nor stopped; the database allows one live
  version per patient and drug, and one live injectable per patient.
- Titration steps are prescription versions flagged `is_titration`: during induction the
  prescriber sets each step as a new version (so every step is signed, dated and kept), and
  the S7 missed-day threshold is the titration one while the live version is a titration step.
- A slot is one patient's place in one session of one clinic-local day. Its window is stored
  as aware datetimes built from the clinic's local session times, so clock changes are
  handled once, when the slot is made.
- Administrations, pre-dose checks, observation sign-outs and adverse events are append-only
  (S10): on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002). A mistake in an
  administration is corrected by a new Administration whose `corrects` points at the entry it
  corrects; the sign-out is its own row so the administration row never needs an update.
"""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from clinics.models import Clinic
from patients.models import Patient

MG = {"max_digits": 7, "decimal_places": 2}


class Drug(models.TextChoices):
    DIAMORPHINE_INJECTABLE = "diamorphine_inj", "Injectable diamorphine"
    HYDROMORPHONE_INJECTABLE = "hydromorphone_inj", "Injectable hydromorphone"
    METHADONE_ORAL = "methadone_oral", "Oral methadone"
    MORPHINE_SR_ORAL = "morphine_sr_oral", "Oral slow-release morphine"


INJECTABLE_DRUGS = frozenset({Drug.DIAMORPHINE_INJECTABLE, Drug.HYDROMORPHONE_INJECTABLE})

# S14: drugs that, for addiction, only a prescriber with a Home Office licence may prescribe (Misuse of Drugs
# (Supply to Addicts) Regulations 1997: diamorphine, dipipanone, cocaine; only diamorphine is prescribed here).
LICENSED_DRUGS = frozenset({Drug.DIAMORPHINE_INJECTABLE})


def is_injectable(drug: str) -> bool:
    return drug in INJECTABLE_DRUGS


class Route(models.TextChoices):
    INTRAVENOUS = "iv", "Intravenous"
    INTRAMUSCULAR = "im", "Intramuscular"
    ORAL = "oral", "Oral"


ROUTES_FOR_DRUG: dict[str, frozenset[str]] = {
    Drug.DIAMORPHINE_INJECTABLE: frozenset({Route.INTRAVENOUS, Route.INTRAMUSCULAR}),
    Drug.HYDROMORPHONE_INJECTABLE: frozenset({Route.INTRAVENOUS, Route.INTRAMUSCULAR}),
    Drug.METHADONE_ORAL: frozenset({Route.ORAL}),
    Drug.MORPHINE_SR_ORAL: frozenset({Route.ORAL}),
}


class Supply(models.TextChoices):
    """How the dose reaches the patient. S8: injectables are only ever supervised."""

    SUPERVISED = "supervised", "Supervised at the clinic"
    TAKE_HOME = "take_home", "Take-home"


class Session(models.TextChoices):
    MORNING = "morning", "Morning"
    AFTERNOON = "afternoon", "Afternoon"
    EVENING = "evening", "Evening"


SESSION_ORDER = [Session.MORNING, Session.AFTERNOON, Session.EVENING]


class DosingSettings(models.Model):
    """The per-clinic numbers of SPEC section 4, created with the defaults on first use."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="dosing_settings")
    morning_start = models.TimeField(default=time(8, 0))
    morning_end = models.TimeField(default=time(10, 30))
    afternoon_start = models.TimeField(default=time(15, 30))
    afternoon_end = models.TimeField(default=time(18, 0))
    evening_start = models.TimeField(default=time(19, 0), help_text="Used only with 3 sessions a day.")
    evening_end = models.TimeField(default=time(21, 0), help_text="Used only with 3 sessions a day.")
    # S2: 2 by default; CRISM guidance allows at most 3.
    sessions_per_day = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    # S6
    observation_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(10), MaxValueValidator(30)]
    )
    # S3
    minimum_interval_minutes = models.PositiveSmallIntegerField(
        default=180, validators=[MinValueValidator(60), MaxValueValidator(720)]
    )
    # S7
    missed_days_threshold = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(14)]
    )
    missed_days_threshold_titration = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(14)]
    )
    # S7: a return from a planned absence of at least this many days needs a prescriber's review.
    absence_review_days = models.PositiveSmallIntegerField(
        "review after an absence of (days)", default=3, validators=[MinValueValidator(1), MaxValueValidator(14)]
    )
    # S4: service-wide ceilings above which no prescription may go.
    max_daily_diamorphine_mg = models.DecimalField(**MG, default=Decimal("1000"))
    max_daily_hydromorphone_mg = models.DecimalField(**MG, default=Decimal("500"))
    # S4 per drug for an oral top-up beside the injectable (UK practice: methadone rarely above 120 mg).
    max_daily_methadone_mg = models.DecimalField(**MG, default=Decimal("150"))
    max_daily_morphine_sr_mg = models.DecimalField("max daily slow-release morphine mg", **MG, default=Decimal("1200"))
    # S5: a breath alcohol reading above this (micrograms per 100 ml of breath) means intoxicated.
    breath_alcohol_limit_ug = models.DecimalField(
        "breath alcohol limit (µg/100 ml)", max_digits=5, decimal_places=1, default=Decimal("35")
    )
    # A change made while a session is running waits for the next session that has not started
    # (dosing.services.settings): its values, from when, and who made it. Applied by `for_clinic`.
    pending = models.JSONField(null=True, blank=True)
    pending_from = models.DateTimeField(null=True, blank=True)
    pending_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "dosing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(sessions_per_day__gte=1, sessions_per_day__lte=3),
                name="dosing_sessions_per_day_1_to_3",
                violation_error_message="A clinic runs 1 to 3 sessions a day (S2).",
            ),
            models.CheckConstraint(
                condition=Q(observation_minutes__gte=10, observation_minutes__lte=30),
                name="dosing_observation_10_to_30_min",
                violation_error_message="Observation lasts 10 to 30 minutes (S6).",
            ),
            models.CheckConstraint(
                condition=Q(morning_start__lt=F("morning_end"))
                & Q(afternoon_start__lt=F("afternoon_end"))
                & Q(evening_start__lt=F("evening_end")),
                name="dosing_windows_start_before_end",
                violation_error_message="Each session window starts before it ends.",
            ),
        ]

    def __str__(self) -> str:
        return f"Dosing settings of {self.clinic}"

    @classmethod
    def for_clinic(cls, clinic: Clinic, *, now: datetime | None = None) -> "DosingSettings":
        """The clinic's settings in force, created with the defaults on first use.

        A pending change whose time has come is applied here (one locked write, once), so no
        reader ever depends on a scheduled job having run; otherwise no query is added.
        """
        cached = getattr(clinic, "_dosing_settings_cache", None)
        if cached is None:
            try:
                cached = clinic.dosing_settings  # no query when loaded with select_related("clinic__dosing_settings")
            except cls.DoesNotExist:
                cached, _ = cls.objects.get_or_create(clinic=clinic)
            cached.clinic = clinic  # window() reads the clinic's time zone: no second query
            clinic._dosing_settings_cache = cached
        if cached.pending_from is not None and cached.pending_from <= (now or timezone.now()):
            cached = cached._apply_pending(now=now or timezone.now())
            cached.clinic = clinic
            clinic._dosing_settings_cache = cached
        return cached

    def _apply_pending(self, *, now: datetime) -> "DosingSettings":
        """Make a due pending change the settings in force (locked, idempotent), with its author in the history."""
        with transaction.atomic():
            row = type(self).objects.select_for_update().get(pk=self.pk)
            if row.pending_from is not None and row.pending_from <= now:
                for name, value in (row.pending or {}).items():
                    setattr(row, name, row._meta.get_field(name).to_python(value))
                row._history_user = row.pending_by
                row._history_date = row.pending_from
                row.pending, row.pending_from, row.pending_by = None, None, None
                row.save()
        return row

    def sessions(self) -> list[str]:
        """The sessions this clinic runs each day, in order (S2)."""
        return SESSION_ORDER[: self.sessions_per_day]

    def local_times(self, session: str) -> tuple[time, time]:
        return getattr(self, f"{session}_start"), getattr(self, f"{session}_end")

    def window(self, day, session: str) -> tuple[datetime, datetime]:
        """The session window of a clinic-local day as aware datetimes (clock changes included)."""
        zone = self.clinic.zone
        start, end = self.local_times(session)
        return _aware(day, start, zone), _aware(day, end, zone)

    def daily_ceiling_mg(self, drug: str) -> Decimal | None:
        return {
            Drug.DIAMORPHINE_INJECTABLE: self.max_daily_diamorphine_mg,
            Drug.HYDROMORPHONE_INJECTABLE: self.max_daily_hydromorphone_mg,
            Drug.METHADONE_ORAL: self.max_daily_methadone_mg,
            Drug.MORPHINE_SR_ORAL: self.max_daily_morphine_sr_mg,
        }.get(drug)

    @property
    def observation(self) -> timedelta:
        return timedelta(minutes=self.observation_minutes)

    @property
    def minimum_interval(self) -> timedelta:
        return timedelta(minutes=self.minimum_interval_minutes)


def _aware(day, local_time: time, zone) -> datetime:
    # A round trip through UTC normalises a local time that falls in a spring-forward gap.
    return datetime.combine(day, local_time, tzinfo=zone).astimezone(UTC).astimezone(zone)


LIVE = Q(superseded_at__isnull=True, stopped_at__isnull=True)


class PrescriptionQuerySet(models.QuerySet):
    def live(self):
        """Versions neither superseded nor stopped (whatever their dates)."""
        return self.filter(LIVE)

    def active_on(self, day):
        """Live versions whose dates cover this clinic-local day (S8)."""
        return self.live().filter(Q(starts_on__lte=day), Q(ends_on__isnull=True) | Q(ends_on__gte=day))


class Prescription(models.Model):
    """One signed version of a patient's prescription for one drug. Never edited (see module docstring)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    drug = models.CharField(max_length=20, choices=Drug.choices)
    route = models.CharField(max_length=4, choices=Route.choices)
    supply = models.CharField(max_length=12, choices=Supply.choices, default=Supply.SUPERVISED)
    # Dose per session in mg; null means no dose in that session (e.g. once-daily oral methadone).
    morning_dose_mg = models.DecimalField(**MG, null=True, blank=True)
    afternoon_dose_mg = models.DecimalField(**MG, null=True, blank=True)
    evening_dose_mg = models.DecimalField(**MG, null=True, blank=True)
    daily_max_mg = models.DecimalField("daily maximum (mg)", **MG)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    is_titration = models.BooleanField(
        "titration step", default=False, help_text="Induction: each step is a version set by the prescriber."
    )
    notes = models.TextField(blank=True)
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stop_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PrescriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "drug"],
                condition=LIVE,
                name="one_live_prescription_per_patient_and_drug",
                violation_error_message="This patient already has a prescription for this drug; change it instead.",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=LIVE & Q(drug__in=sorted(INJECTABLE_DRUGS)),
                name="one_live_injectable_per_patient",
                violation_error_message="This patient already has an injectable prescription; change or stop it first.",
            ),
            models.CheckConstraint(
                condition=~Q(drug__in=sorted(INJECTABLE_DRUGS)) | Q(supply="supervised"),
                name="injectables_are_supervised",
                violation_error_message="S8 · Injectables are never supplied to take home.",
            ),
            models.CheckConstraint(
                condition=Q(morning_dose_mg__isnull=False)
                | Q(afternoon_dose_mg__isnull=False)
                | Q(evening_dose_mg__isnull=False),
                name="prescription_has_a_dose",
                violation_error_message="A prescription needs a dose for at least one session.",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="prescription_ends_after_it_starts",
                violation_error_message="A prescription cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(daily_max_mg__gt=0),
                name="prescription_daily_max_positive",
                violation_error_message="The daily maximum must be more than 0 mg.",
            ),
        ]
        indexes = [
            # create_slots and S8: live versions by patient
            models.Index(fields=["patient", "drug"], condition=LIVE, name="prescription_live"),
        ]

    def __str__(self) -> str:
        return f"Prescription {self.pk} ({self.drug}) of patient {self.patient_id}"

    @property
    def is_live(self) -> bool:
        return self.superseded_at is None and self.stopped_at is None

    @property
    def is_injectable(self) -> bool:
        return is_injectable(self.drug)

    def dose_for(self, session: str) -> Decimal | None:
        return getattr(self, f"{session}_dose_mg")

    def covers(self, day) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class SlotStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Expected"
    ARRIVED = "arrived", "Arrived"
    CHECKED = "checked", "Checked"
    GIVEN = "given", "Given"
    PARTIAL = "partial", "Partly given"
    WITHHELD = "withheld", "Withheld"
    REFUSED = "refused", "Refused"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


# A slot in one of these states can still be used; S11 closes them as missed at the window's end.
OPEN_SLOT_STATUSES = (SlotStatus.SCHEDULED, SlotStatus.ARRIVED, SlotStatus.CHECKED)
DOSED_SLOT_STATUSES = (SlotStatus.GIVEN, SlotStatus.PARTIAL)


class Slot(models.Model):
    """One patient's place in one session of one clinic-local day."""

    # No index of their own: slot_patient_recent (patient, -date) and slot_board (clinic, date, session) lead with
    # them and serve every lookup. A status change is not a HOT update (status is in slot_open_by_window_end's
    # condition), so every index of the table takes an entry on each one: two fewer on every check and dose.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="slots", db_index=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="slots", db_index=False)
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="slots")
    date = models.DateField(help_text="Clinic-local date.")
    session = models.CharField(max_length=10, choices=Session.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=SlotStatus.choices, default=SlotStatus.SCHEDULED)
    status_reason = models.TextField(blank=True, help_text="Why a dose was withheld, refused or cancelled.")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    arrived_at = models.DateTimeField(null=True, blank=True)
    # An oral top-up beside the injectable: its own once-a-day slot, in the session of its dose.
    top_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "window_start", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "date", "session"],
                condition=Q(top_up=False),
                name="one_slot_per_patient_session",
                violation_error_message="This patient already has a slot in this session.",
            ),
            models.UniqueConstraint(
                fields=["patient", "date"],
                condition=Q(top_up=True),
                name="one_top_up_slot_per_patient_day",
                violation_error_message="This patient already has a top-up slot on this day.",
            ),
            models.CheckConstraint(
                condition=Q(window_start__lt=F("window_end")),
                name="slot_window_start_before_end",
                violation_error_message="A slot's window starts before it ends.",
            ),
        ]
        indexes = [
            # board_for: one session of one clinic
            models.Index(fields=["clinic", "date", "session"], name="slot_board"),
            # close_missed_slots: open slots whose window has ended
            models.Index(
                fields=["window_end"],
                condition=Q(status__in=["scheduled", "arrived", "checked"]),
                name="slot_open_by_window_end",
            ),
            # S7: a patient's recent days
            models.Index(fields=["patient", "-date"], name="slot_patient_recent"),
        ]

    def __str__(self) -> str:
        return f"Slot {self.pk} ({self.date} {self.session}) of patient {self.patient_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SLOT_STATUSES


class Sedation(models.TextChoices):
    """Pasero Opioid-induced Sedation Scale, in plain words."""

    ALERT = "alert", "Awake and alert"
    SLIGHT = "slight", "Slightly drowsy, easily roused"
    FREQUENT = "frequent", "Frequently drowsy, drifts off mid-conversation"
    SOMNOLENT = "somnolent", "Somnolent, minimal or no response"


# S5: at these levels the patient counts as intoxicated and is withheld.
INTOXICATED_SEDATION = frozenset({Sedation.FREQUENT, Sedation.SOMNOLENT})


class AuthorisedWith(models.TextChoices):
    """S5, S7: how a prescriber's authorisation was given: their own act, never just their name."""

    SESSION = "session", "In the prescriber's own signed-in session"
    PIN = "pin", "The prescriber's PIN typed on the nurse's device"


class CheckOutcome(models.TextChoices):
    PROCEED = "proceed", "Proceed with the prescribed dose"
    WITHHOLD = "withhold", "Withhold"
    REDUCED = "reduced", "Reduced dose (prescriber authorised)"


class PreDoseCheck(models.Model):
    """S5: the check before a dose, in the same session. Append-only; the latest one for a slot counts."""

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="checks")
    sedation = models.CharField(max_length=10, choices=Sedation.choices)
    intoxication_signs = models.BooleanField()
    withdrawal_signs = models.BooleanField()
    breath_alcohol_ug = models.DecimalField(
        "breath alcohol (µg/100 ml)", max_digits=5, decimal_places=1, validators=[MinValueValidator(0)]
    )
    notes = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=CheckOutcome.choices)
    withhold_reason = models.TextField(blank=True)
    reduced_dose_mg = models.DecimalField(**MG, null=True, blank=True)
    authorised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # S5: when and how the prescriber gave the authorisation (their session, or their PIN on this device).
    authorised_at = models.DateTimeField(null=True, blank=True)
    authorised_with = models.CharField(max_length=8, choices=AuthorisedWith.choices, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["-checked_at", "-pk"]
        get_latest_by = "checked_at"
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="reduced") | Q(reduced_dose_mg__gt=0, authorised_by__isnull=False),
                name="reduced_dose_needs_dose_and_prescriber",
                violation_error_message="S5 · A reduced dose needs the dose and the authorising prescriber.",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="withhold") | ~Q(withhold_reason=""),
                name="withhold_needs_reason",
                violation_error_message="Withholding needs a reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"Pre-dose check {self.pk} of slot {self.slot_id}"


class InjectionSite(models.TextChoices):
    LEFT_ARM = "left_arm", "Left arm"
    RIGHT_ARM = "right_arm", "Right arm"
    LEFT_HAND = "left_hand", "Left hand"
    RIGHT_HAND = "right_hand", "Right hand"
    LEFT_LEG = "left_leg", "Left leg"
    RIGHT_LEG = "right_leg", "Right leg"
    LEFT_GROIN = "left_groin", "Left groin"
    RIGHT_GROIN = "right_groin", "Right groin"
    LEFT_BUTTOCK = "left_buttock", "Left buttock (IM)"
    RIGHT_BUTTOCK = "right_buttock", "Right buttock (IM)"
    OTHER = "other", "Other"


class Administration(models.Model):
    """A dose given, witnessed (S9). Never updated or deleted (S10, enforced by a trigger on PostgreSQL).

    An original entry has `corrects` empty; at most one original per slot (S1). A correction is a
    new entry for the same slot whose `corrects` points at the entry it replaces, with reason and
    author (`nurse`); the entry nobody corrects (`corrected_by` empty) is the one in force.
    """

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="administrations")
    # No index of their own (issue 13.7): administration_patient_recent (patient, -given_at) serves every lookup by
    # patient, and nothing looks administrations up by prescription (a prescription is never deleted: it is
    # stopped). Each index keyed by the patient or their years-old prescription costs a dose of a patient with
    # history a cold index page on insert.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="administrations", db_index=False)
    prescription = models.ForeignKey(
        Prescription, on_delete=models.PROTECT, related_name="administrations", db_index=False
    )
    drug = models.CharField(max_length=20, choices=Drug.choices)
    dose_mg = models.DecimalField(**MG)
    prescribed_dose_mg = models.DecimalField(**MG, help_text="The dose authorised for this session when given.")
    route = models.CharField(max_length=4, choices=Route.choices)
    injection_site = models.CharField(max_length=16, choices=InjectionSite.choices, blank=True)
    given_at = models.DateTimeField()
    nurse = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    observation_ends_at = models.DateTimeField()
    corrects = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrected_by"
    )
    correction_reason = models.TextField(blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["given_at", "pk"]
        constraints = [
            # S1: at most one administration per slot; corrections are the only other entries.
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(corrects__isnull=True),
                name="one_administration_per_slot",
                violation_error_message="S1 · This slot already has an administration.",
            ),
            # S9
            models.CheckConstraint(
                condition=~Q(witness=F("nurse")),
                name="administration_witness_is_not_the_nurse",
                violation_error_message="S9 · The witness must be another member of staff.",
            ),
            # S10: a correction says why; an original is a real dose.
            models.CheckConstraint(
                condition=Q(corrects__isnull=True, correction_reason="", dose_mg__gt=0)
                | (Q(corrects__isnull=False, dose_mg__gte=0) & ~Q(correction_reason="")),
                name="administration_correction_has_reason",
                violation_error_message="S10 · A correction points at the original and gives a reason.",
            ),
        ]
        indexes = [
            # S3 and S4: a patient's recent doses
            models.Index(fields=["patient", "-given_at"], name="administration_patient_recent"),
        ]

    def __str__(self) -> str:
        return f"Administration {self.pk} of slot {self.slot_id}"

    @property
    def is_correction(self) -> bool:
        return self.corrects_id is not None


class SignOutState(models.TextChoices):
    WELL = "well", "Well, left the clinic"
    DROWSY_ROUSABLE = "drowsy_rousable", "Drowsy but easily roused, left with advice"
    REFERRED = "referred", "Referred for medical care"


class ObservationSignOut(models.Model):
    """S6: the end of the post-dose observation. Its own append-only row so the administration never changes."""

    administration = models.OneToOneField(Administration, on_delete=models.PROTECT, related_name="sign_out")
    state = models.CharField(max_length=20, choices=SignOutState.choices)
    notes = models.TextField(blank=True)
    signed_out_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_out_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Sign-out of administration {self.administration_id}"


class Hold(models.Model):
    """S7: no dose until a prescriber reviews the patient and sets the restart dose."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="dosing_holds")
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="holds")
    since = models.DateTimeField()
    missed_since = models.DateField(help_text="First clinic-local day of the run of days without a dose.")
    missed_days = models.PositiveSmallIntegerField()
    reason = models.TextField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    clear_notes = models.TextField(blank=True)
    restart_prescription = models.ForeignKey(
        Prescription, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # S7: how the prescriber cleared it, and who typed it in when it was their PIN on a nurse's device.
    cleared_with = models.CharField(max_length=8, choices=AuthorisedWith.choices, blank=True)
    cleared_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-since", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_hold_per_patient",
                violation_error_message="This patient is already on hold.",
            ),
            models.CheckConstraint(
                condition=Q(cleared_at__isnull=True) | Q(cleared_by__isnull=False, restart_prescription__isnull=False),
                name="cleared_hold_has_prescriber_and_restart",
                violation_error_message="S7 · Clearing a hold needs a prescriber and a restart dose.",
            ),
        ]

    def __str__(self) -> str:
        return f"Hold {self.pk} of patient {self.patient_id}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class AdverseEventKind(models.TextChoices):
    OVERDOSE = "overdose", "Overdose"
    NALOXONE = "naloxone", "Naloxone given"
    SEIZURE = "seizure", "Seizure"
    OTHER = "other", "Other"


class AdverseEvent(models.Model):
    """S12: recorded against the administration; the prescriber is alerted. Append-only."""

    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="adverse_events")
    kind = models.CharField(max_length=10, choices=AdverseEventKind.choices)
    occurred_at = models.DateTimeField()
    naloxone_dose_mg = models.DecimalField(**MG, null=True, blank=True)
    naloxone_given_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="naloxone") | Q(naloxone_dose_mg__gt=0, naloxone_given_at__isnull=False),
                name="naloxone_event_has_dose_and_time",
                violation_error_message="S12 · Naloxone given: record the naloxone dose and time.",
            ),
        ]

    def __str__(self) -> str:
        return f"Adverse event {self.pk} ({self.kind})"


class AlertKind(models.TextChoices):
    ADVERSE_EVENT = "adverse_event", "Adverse event"
    HOLD = "hold", "Missed-dose hold"
    AUTHORISATION = "authorisation", "Authorisation given with your PIN"
    LICENCE = "licence", "Prescriber licence expiring"
    DOSE_RAISED = "dose_raised", "Dose record corrected upwards"


class Alert(models.Model):
    """An in-app alert to one member of staff; the email copy is sent by a Celery task after commit."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dosing_alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    message = models.TextField(help_text="Shown in the app to staff of the clinic; never sent by email.")
    adverse_event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    hold = models.ForeignKey(Hold, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # the recipient's unread alerts
            models.Index(fields=["recipient", "-created_at"], condition=Q(read_at__isnull=True), name="alert_unread"),
        ]

    def __str__(self) -> str:
        return f"Alert {self.pk} for user {self.recipient_id}"


class AbsenceReason(models.TextChoices):
    HOSPITAL = "hospital", "Hospital admission"
    CUSTODY = "custody", "Custody"
    COURT = "court", "Court"
    HOLIDAY = "holiday", "Holiday"
    OTHER = "other", "Other"


class PlannedAbsence(models.Model):
    """A planned absence (S7): its slots are cancelled and its days are not counted as missed.

    A return after `DosingSettings.absence_review_days` days or more away needs a prescriber's
    review and restart dose, as after missed days (tolerance is lost either way). Withdrawn, not
    deleted, when recorded in error.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="planned_absences")
    starts_on = models.DateField(help_text="First clinic-local day away.")
    ends_on = models.DateField(help_text="Last clinic-local day away.")
    reason = models.CharField(max_length=10, choices=AbsenceReason.choices)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="absence_ends_after_it_starts",
                violation_error_message="An absence cannot end before it starts.",
            ),
        ]
        indexes = [
            # S7 at dose time and the slot job: a patient's absences ending within the look-back
            models.Index(
                fields=["patient", "ends_on"], condition=Q(withdrawn_at__isnull=True), name="absence_patient_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"Planned absence {self.pk} of patient {self.patient_id}"

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


class BoardVersion(models.Model):
    """The version of a clinic's dosing board: a new value whenever anything the board shows changed.

    Written only by the database (migration 0003): triggers on every table the board reads bump
    it in the same transaction as the change, whatever code made it (services, jobs,
    corrections, admin, bulk updates, raw SQL). Values come from one sequence, so a value is
    never reused: an unchanged value means an unchanged board (see dosing/board_version.py).
    No foreign key: the row is written at commit by a trigger and must never block a clinic.
    """

    clinic_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"Board of clinic {self.clinic_id}: version {self.version}"


class BoardTouch(models.Model):
    """PostgreSQL only: one row per transaction that changed a board, deleted again at its commit.

    Its deferred constraint trigger runs the bump at commit time, so the clinic's BoardVersion
    row is locked only while the transaction commits, not for the whole of a dose.
    """

    id = models.BigAutoField(primary_key=True)

    def __str__(self) -> str:
        return f"Board touch {self.pk}"


class PrescriberLicence(models.Model):
    """S14: a prescriber's Home Office licence to prescribe diamorphine for addiction at one clinic.

    Recorded by the clinic manager (with history); a renewal is a new row. The expiry alerts are
    claimed by a conditional update of `alerted_30_at` / `alerted_7_at`, so each is sent once.
    """

    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="licences")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="prescriber_licences")
    number = models.CharField("licence number", max_length=40)
    valid_from = models.DateField()
    valid_to = models.DateField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    alerted_30_at = models.DateTimeField(null=True, blank=True)
    alerted_7_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["alerted_30_at", "alerted_7_at"])

    class Meta:
        ordering = ["-valid_to", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")),
                name="licence_ends_after_it_starts",
                violation_error_message="S14 · A licence cannot end before it starts.",
            ),
        ]
        indexes = [
            # S14 at every dose of diamorphine: the prescriber's licences at the clinic
            models.Index(fields=["prescriber", "clinic", "-valid_to"], name="licence_by_prescriber"),
        ]

    def __str__(self) -> str:
        return f"Licence {self.number} of user {self.prescriber_id} at clinic {self.clinic_id}"

    def covers(self, day) -> bool:
        return self.valid_from <= day <= self.valid_to
