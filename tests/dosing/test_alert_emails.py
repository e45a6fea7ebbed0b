"""Alert emails to prescribers (S7 holds, S12 adverse events) go through the outbox.

An overdose recorded while the broker is down must still reach the prescriber by email, once,
when the worker comes back: the email is a row written with the alert, not a task queued after
commit that dies with Redis.
"""

from decimal import Decimal

import pytest

from deliveries.models import OutboxMessage
from dosing import services
from hat_clinic.celery import app as celery_app
from tests.outbox import run_dispatch

from .conftest import TODAY, at, check_and_dose

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    """The real Celery app pointed at a closed port, not eager: what a web process sees when Redis is down."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    yield
    celery_app.conf.task_always_eager, celery_app.conf.broker_url = saved


def test_an_overdose_recorded_while_the_broker_is_down_is_emailed_to_the_prescriber_once_it_returns(
    slot, nurse, second_nurse, prescriber, mailoutbox, broker_down, django_capture_on_commit_callbacks
):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    with django_capture_on_commit_callbacks(execute=True):
        services.record_adverse_event(
            administration=given,
            recorded_by=nurse,
            kind="naloxone",
            naloxone_dose_mg=Decimal("0.4"),
            naloxone_given_at=at(TODAY, 8, 55),
            now=at(TODAY, 8, 56),
        )
    assert mailoutbox == []  # nothing could be sent while the broker was down

    later = at(TODAY, 9, 30)
    assert list(run_dispatch(django_capture_on_commit_callbacks, later).values()) == ["sent"]
    assert run_dispatch(django_capture_on_commit_callbacks, at(TODAY, 9, 31)) == {}  # exactly once
    [email] = mailoutbox
    assert email.to == [prescriber.email]
    assert "adverse event" in email.subject.lower() and slot.clinic.name in email.subject
    patient = slot.patient
    for identifier in filter(None, (patient.given_name, patient.family_name, patient.nhs_number)):
        assert identifier not in email.subject + email.body  # the email names no patient


def test_an_alert_and_its_email_are_one_change(slot, nurse, second_nurse, prescriber):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    services.record_adverse_event(administration=given, recorded_by=nurse, kind="seizure", now=at(TODAY, 8, 50))
    [alert] = prescriber.dosing_alerts.all()
    [message] = OutboxMessage.objects.filter(dedupe_key=f"dosing-alert:{alert.pk}")
    assert (message.recipient_email, message.clinic_id) == (prescriber.email, slot.clinic_id)
