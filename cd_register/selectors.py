"""Reads for the register pages, the API and the CSV export. Every query starts from `clinics_for(user)`."""

import csv
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from clinics.models import Clinic
from clinics.selectors import clinics_for

from . import rules
from .models import Discrepancy, DiscrepancyStatus, EntryKind, Register, RegisterEntry, StockCheck

# The statutory column order (Misuse of Drugs Regulations 2001, Schedule 6; SPEC 5), after the entry number.
COLUMNS = ["Entry", "Date", "Supplier or patient", "Quantity", "Balance", "Staff", "Witness"]


def registers_for(user) -> QuerySet[Register]:
    return Register.objects.filter(clinic__in=clinics_for(user)).select_related("clinic")


def registers_of_clinic(user, clinic: Clinic | None) -> QuerySet[Register]:
    if clinic is None:
        return Register.objects.none()
    return (
        registers_for(user)
        .filter(clinic=clinic)
        .annotate(
            open_discrepancies=Count(
                "stock_checks__discrepancy", filter=Q(stock_checks__discrepancy__status=DiscrepancyStatus.OPEN)
            )
        )
    )


def entries_of(register: Register, *, since: date | None = None, until: date | None = None) -> QuerySet[RegisterEntry]:
    """The register's lines in order; `since`/`until` are clinic-local dates, both included."""
    entries = (
        register.entries.select_related("made_by", "witnessed_by", "patient", "corrects")
        .prefetch_related("corrections")
        .order_by("sequence")
    )
    zone = register.clinic.zone
    if since is not None:
        entries = entries.filter(occurred_at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until is not None:
        entries = entries.filter(occurred_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone))
    return entries


def dose_lines(*, clinic: Clinic, drug: str, administration_refs) -> QuerySet[RegisterEntry]:
    """A dose's register lines, oldest first: the entries written for its administration records and every
    correction pointing at them (also one recorded by hand on the register page, which carries no reference)."""
    refs = list(administration_refs)
    return (
        RegisterEntry.objects.filter(register__clinic=clinic, register__drug=drug)
        .filter(Q(administration_ref__in=refs) | Q(corrects__administration_ref__in=refs))
        .order_by("sequence", "pk")
    )


def registers_for_dose(clinic: Clinic, drug: str) -> QuerySet[Register]:
    """The registers a dose of `drug` can be drawn from at `clinic`, largest strength first (for the dose forms).

    Lazy: the dose form only reads it when it is shown or when the nurse chose ampoules.
    """
    return Register.objects.filter(clinic=clinic, drug=drug).select_related("clinic").order_by("-strength_mg", "pk")


def lines_by_administration(*, clinic: Clinic, drug: str, administration_refs) -> dict[int, list[RegisterEntry]]:
    """The register lines of a slot's dose records, grouped by the record each belongs to (for the slot page).

    A correction recorded by hand on the register page carries no reference: it is shown with the
    record whose line it corrects.
    """
    lines = dose_lines(clinic=clinic, drug=drug, administration_refs=administration_refs).select_related(
        "register__clinic", "corrects", "made_by", "witnessed_by", "patient"
    )
    grouped: dict[int, list[RegisterEntry]] = {}
    for line in lines:
        ref = line.administration_ref or line.corrects.administration_ref
        grouped.setdefault(ref, []).append(line)
    return grouped


def draw_summary(lines: list[RegisterEntry]) -> str:
    """What the register shows for one dose, in words: '1 x 100 mg drawn, 20 mg wasted'."""
    if not lines:
        return ""
    recorded = rules.recorded_draw(lines)
    registers = {line.register_id: line.register for line in lines}
    if not recorded.drawn:
        drawn = "nothing drawn"
    else:
        drawn = rules.picks_label([(registers[pk], count) for pk, count in sorted(recorded.drawn.items())]) + " drawn"
    wasted = sum(recorded.wasted_mg.values(), Decimal(0))
    return f"{drawn}, {rules._mg(wasted)} mg wasted" if wasted else f"{drawn}, no waste"


def witness_by_username(clinic: Clinic, username: str):
    """An active member of staff of this clinic by username (the services then check role and password)."""
    return clinic.staff.filter(username__iexact=(username or "").strip(), is_active=True).first()


def entries_for(user) -> QuerySet[RegisterEntry]:
    return RegisterEntry.objects.filter(register__clinic__in=clinics_for(user))


def stock_checks_of(register: Register) -> QuerySet[StockCheck]:
    return register.stock_checks.select_related("checked_by", "witnessed_by", "discrepancy")


def discrepancies_for(user, *, clinic: Clinic | None = None, status: str = "") -> QuerySet[Discrepancy]:
    discrepancies = Discrepancy.objects.filter(stock_check__register__clinic__in=clinics_for(user)).select_related(
        "stock_check__register__clinic", "stock_check__checked_by", "stock_check__witnessed_by", "closed_by"
    )
    if clinic is not None:
        discrepancies = discrepancies.filter(stock_check__register__clinic=clinic)
    if status:
        discrepancies = discrepancies.filter(status=status)
    # Open ones first, newest first within each.
    return discrepancies.order_by("-status", "-stock_check__checked_at", "-pk")


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def supplier_or_patient(entry: RegisterEntry) -> str:
    """The second statutory column: who the stock came from or went to, with what each kind adds.

    The kind of entry is shown beside it (its own column in the CSV), so it is not repeated here.
    """
    register = entry.register
    reason = f". {entry.reason}" if entry.reason else ""
    if entry.kind == EntryKind.RECEIPT:
        details = [entry.supplier_name, entry.supplier_address.replace("\n", ", "), f"batch {entry.batch}"]
        if entry.expires_on:
            details.append(f"expiry {entry.expires_on:%d/%m/%Y}")
        return ", ".join(d for d in details if d)
    patient = f"{entry.patient.given_name} {entry.patient.family_name}" if entry.patient_id else ""
    if entry.kind == EntryKind.ADMINISTRATION:
        return patient + reason  # a reason only on a draw entered by a dose correction
    if entry.kind == EntryKind.WASTE:
        text = f"{entry.waste_mg.normalize():f} mg wasted"
        if entry.quantity:
            text += f" ({register.units(-entry.quantity)} broken or spoiled)"
        if patient:
            text += f", dose of {patient}"
        return text + reason
    if entry.kind == EntryKind.DESTRUCTION:
        return f"Authorised witness: {entry.authorised_witness_name}{reason}"
    if entry.kind == EntryKind.RETURN:
        return f"Returned to the supplying pharmacy{reason}"
    return f"Corrects entry {entry.corrects.sequence}: {entry.reason}"


def signed(quantity) -> str:
    text = f"{quantity.normalize():f}"
    return f"+{text}" if quantity > 0 else text


def register_rows(entries: Iterable[RegisterEntry]) -> Iterable[dict]:
    """One dict per entry in the statutory column order, for the page and the CSV export alike."""
    for entry in entries:
        yield {
            "entry": entry,
            "sequence": entry.sequence,
            "occurred_at": timezone.localtime(entry.occurred_at, entry.register.clinic.zone),
            "supplier_or_patient": supplier_or_patient(entry),
            "quantity": signed(entry.quantity),
            "balance": f"{entry.balance_after.normalize():f}",
            "staff": _person(entry.made_by),
            "witness": _person(entry.witnessed_by),
            "notes": entry.notes,
        }


def _cell(value) -> str:
    """A text cell a spreadsheet will not run as a formula (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_csv(out, register: Register, entries: Iterable[RegisterEntry]) -> None:
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, "Kind", "Notes"])
    for row in register_rows(entries):
        writer.writerow(
            [
                row["sequence"],
                row["occurred_at"].strftime("%d/%m/%Y %H:%M"),
                _cell(row["supplier_or_patient"]),
                row["quantity"],
                row["balance"],
                _cell(row["staff"]),
                _cell(row["witness"]),
                row["entry"].get_kind_display(),
                _cell(row["notes"]),
            ]
        )


def csv_filename(register: Register) -> str:
    strength = f"{register.strength_mg.normalize():f}"
    return f"cd-register-{register.clinic.code}-{register.drug}-{strength}-{register.form}.csv"


# --- Home page work queues (clinics.work_queues) ---------------------------------------------------

STOCK_CHECK_EVERY = timedelta(days=7)  # a register not counted for a week is due a stock check


def open_discrepancies(user, clinic: Clinic) -> int:
    return discrepancies_for(user, clinic=clinic, status=DiscrepancyStatus.OPEN).count()


def stock_checks_due(user, clinic: Clinic, *, now=None) -> int:
    since = (now or timezone.now()) - STOCK_CHECK_EVERY
    return (
        registers_of_clinic(user, clinic)
        .annotate(last_check=Max("stock_checks__checked_at"))
        .filter(Q(last_check__isnull=True) | Q(last_check__lt=since))
        .count()
    )


def any_stock_check(user, clinic: Clinic | None) -> bool:
    return StockCheck.objects.filter(register__in=registers_of_clinic(user, clinic)).exists()
