"""Sessions (clinics/sessions.py): Django's database engine with its per-request read written as one statement.

An expired session is no session, whether or not its row has been cleared yet; a board left polling
signs out when the idle time runs out, because its polls are not use (SessionIdleMiddleware).
"""

import pytest
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session

from clinics.sessions import SessionStore

pytestmark = pytest.mark.django_db

POLL = {"HTTP_X_BACKGROUND_POLL": "1"}


def test_a_session_written_by_djangos_engine_is_read_by_ours_and_the_other_way_round(nurse):
    theirs = db.SessionStore()
    theirs["note"] = "from django"
    theirs.create()
    ours = SessionStore()
    ours["note"] = "from ours"
    ours.create()

    assert SessionStore(theirs.session_key).load() == {"note": "from django"}
    assert db.SessionStore(ours.session_key).load() == {"note": "from ours"}
    assert SessionStore("no-such-session-key").load() == {}


def test_an_expired_session_is_no_session_although_its_row_is_still_there(client_for, nurse, time_machine):
    time_machine.move_to("2026-11-18 09:00:00+00:00", tick=False)
    client = client_for(nurse)
    assert client.get("/dosing/board/rows/").status_code == 200
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date="2026-11-18 08:59:59+00:00")

    response = client.get("/dosing/board/rows/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/api/v1/dosing/board/").status_code in (401, 403)
    assert Session.objects.filter(session_key=key).exists()  # not cleared: refused all the same


def test_a_board_left_polling_signs_out_when_the_idle_time_runs_out(client_for, nurse, time_machine):
    time_machine.move_to("2026-11-18 09:00:00+00:00", tick=False)
    client = client_for(nurse)
    tag = client.get("/dosing/board/rows/")["ETag"]

    for minute in (5, 15, 29):
        time_machine.move_to(f"2026-11-18 09:{minute:02d}:00+00:00", tick=False)
        assert client.get("/dosing/board/rows/", HTTP_IF_NONE_MATCH=tag, **POLL).status_code == 304

    time_machine.move_to("2026-11-18 09:30:01+00:00", tick=False)  # 30 minutes after the last use
    signed_out = client.get("/dosing/board/rows/", HTTP_IF_NONE_MATCH=tag, **POLL)
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/accounts/login/")
