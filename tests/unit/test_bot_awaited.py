"""What the bot says while it waits for "the file you attach next" (pure):
the words with the script's place named and escaped, the deadline as
Slack's date markup, a Cancel button carrying the wait, and each end."""

from __future__ import annotations

from sparkswarm.bots import awaited, modal
from sparkswarm.bots.double_rules import block_errors
from sparkswarm.workers.attachment_waits import AttachmentWait

WAIT = AttachmentWait(
    user="U1",
    channel="C1",
    words=["spark", "submit", modal.NEXT_FILE, "<!here>", "--stack", "s"],
    expires=1_800_000_000.0,
)


def test_the_waiting_message_says_what_and_until_when_with_a_cancel_button() -> None:
    text, blocks = awaited.waiting_blocks(WAIT)
    assert "<!date^1800000000^{time}|08:00 UTC>" in text
    assert "`spark submit &lt;your .py&gt; &lt;!here&gt; --stack s`" in text
    assert "<!here>" not in text
    assert block_errors(blocks) == []  # slack_sdk's Block models take them
    button = blocks[1]["elements"][0]
    assert (button["action_id"], button["value"]) == (awaited.CANCEL_ACTION, WAIT.id)


def test_each_end_says_nothing_ran() -> None:
    for how, word in (("expired", "expired"), ("cancelled", "cancelled"), ("replaced", "replaced")):
        said = awaited.ended_text(WAIT, how)
        assert word in said and "Nothing ran." in said and "<!here>" not in said
