"""Dead letters: what is kept of a queue item, and the doctor's verdict."""

from __future__ import annotations

import base64

from sparkswarm.workers.dead_letters import PREVIEW, dead_letter, doctor_check


def test_a_dead_letter_keeps_any_bytes_exactly_and_previews_them_as_text() -> None:
    raw = b"\xff\xfe not utf-8 " + b"x" * 500
    letter = dead_letter(raw, "q", "not JSON")
    assert base64.b64decode(letter.raw_b64) == raw
    assert letter.preview.endswith(f"... ({len(raw)} bytes)")
    assert len(letter.preview) < PREVIEW + 30
    assert letter.queue == "q" and letter.reason == "not JSON"


def test_the_doctor_warns_about_dead_letters_and_says_where_to_see_them() -> None:
    assert doctor_check(0).status == "ok"
    some = doctor_check(3)
    assert some.status == "warn" and "3 queue item(s)" in some.summary
    assert "sparkswarm runs dead-letters" in some.fix
    unread = doctor_check(None, "broker unreachable")
    assert unread.status == "warn" and "broker unreachable" in unread.summary
