"""The append-only tables (S10) and the checks that a copy of the database is whole (issue 13.4).

`APPEND_ONLY` names every table whose rows are never updated or deleted. The serving database role
gets only SELECT and INSERT on them (issue 11, hole 11; `grant_serving_role`), and the ones in
`TRIGGERS` also carry a trigger that refuses UPDATE and DELETE even to the owner (the migrations
`dosing/0002` and `cd_register/0002`). The restore drill checks that those triggers came back.
"""

from collections import defaultdict
from decimal import Decimal

from django.db import connections

# table -> the trigger that refuses UPDATE and DELETE on it
TRIGGERS = {
    "dosing_administration": "dosing_administration_append_only",
    "dosing_predosecheck": "dosing_predosecheck_append_only",
    "dosing_observationsignout": "dosing_observationsignout_append_only",
    "dosing_adverseevent": "dosing_adverseevent_append_only",
    "cd_register_registerentry": "cd_register_registerentry_append_only",
    "cd_register_stockcheck": "cd_register_stockcheck_append_only",
}
# Append-only by the application (never changed in code; the serving role may not either).
APPEND_ONLY = [
    *TRIGGERS,
    "referrals_onwardreferralevent",
    "deliveries_deliveryattempt",
    "patients_accesslogentry",
]
OTHER_TRIGGERS = {"cd_register_registerentry_correction_same_register": "cd_register_registerentry"}


def missing_triggers(using: str = "default") -> list[str]:
    """Every expected trigger that is absent or disabled, as 'table.trigger'."""
    expected = {(table, name) for table, name in TRIGGERS.items()}
    expected |= {(table, name) for name, table in OTHER_TRIGGERS.items()}
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'"
        )
        present = set(cursor.fetchall())
    return sorted(f"{table}.{name}" for table, name in expected - present)


def register_problems(using: str = "default") -> list[str]:
    """Each register's entries are numbered 1..n without gaps, each running balance is the previous one
    plus the entry's quantity, and the last one is the register's balance and number."""
    from cd_register.models import Register, RegisterEntry

    problems = []
    entries = defaultdict(list)
    for entry in (
        RegisterEntry.objects.using(using)
        .order_by("register_id", "sequence")
        .values("register_id", "sequence", "quantity", "balance_after")
    ):
        entries[entry["register_id"]].append(entry)
    for register in Register.objects.using(using).order_by("pk").values("pk", "balance", "last_sequence"):
        balance, lines = Decimal(0), entries.get(register["pk"], [])
        for number, line in enumerate(lines, start=1):
            if line["sequence"] != number:
                problems.append(f"register {register['pk']}: entry {line['sequence']} where {number} was expected")
                break
            balance += line["quantity"]
            if line["balance_after"] != balance:
                problems.append(
                    f"register {register['pk']}: entry {number} says balance {line['balance_after']}, "
                    f"the entries add up to {balance}"
                )
                break
        if register["balance"] != balance or register["last_sequence"] != len(lines):
            problems.append(
                f"register {register['pk']}: balance {register['balance']} and last entry {register['last_sequence']}, "
                f"the entries say {balance} and {len(lines)}"
            )
    return problems


def administration_problems(using: str = "default") -> list[str]:
    """Each dose in force (the record of its slot nobody corrected) is what its register lines drew:
    units drawn times strength, less the mg wasted, for the chain of records of that dose."""
    from cd_register.models import Register, RegisterEntry
    from cd_register.rules import recorded_draw
    from dosing.models import Administration

    strength = dict(Register.objects.using(using).values_list("pk", "strength_mg"))
    lines = defaultdict(list)
    for line in RegisterEntry.objects.using(using).filter(administration_ref__isnull=False).order_by("pk"):
        lines[line.administration_ref].append(line)
    records = defaultdict(list)  # slot -> the original and its corrections
    for record in Administration.objects.using(using).order_by("pk").values("pk", "slot_id", "dose_mg", "corrects_id"):
        records[record["slot_id"]].append(record)
    problems = []
    for slot_id, chain in records.items():
        corrected = {record["corrects_id"] for record in chain}
        in_force = [record for record in chain if record["pk"] not in corrected]
        if len(in_force) != 1:
            problems.append(f"slot {slot_id}: {len(in_force)} administration records in force")
            continue
        chain_lines = [line for record in chain for line in lines.get(record["pk"], [])]
        draw = recorded_draw(chain_lines)
        drawn_mg = sum((count * strength[pk] for pk, count in draw.drawn.items()), Decimal(0))
        given_mg = drawn_mg - sum(draw.wasted_mg.values(), Decimal(0))
        if given_mg != in_force[0]["dose_mg"]:
            problems.append(
                f"administration {in_force[0]['pk']} (slot {slot_id}): dose {in_force[0]['dose_mg']:.2f} mg, "
                f"its register lines account for {given_mg:.2f} mg"
            )
    return problems


def check_all(using: str = "default") -> dict[str, list[str]]:
    """Every check by name, with its problems (empty lists when the database is whole)."""
    return {
        "append-only triggers": missing_triggers(using),
        "register running balances": register_problems(using),
        "administrations and their register lines": administration_problems(using),
    }
