"""Conversation state in the database (migration 0010): a turn's patterns are judged once,
a retried turn replaces its record, users and conversations stay apart, old state goes."""

from __future__ import annotations

from pathlib import Path

from pattern_memory.memory.conversation_store import RETENTION_DAYS, ConversationStore
from pattern_memory.memory.db import Database
from pattern_memory.memory.store import PatternStore


def store(tmp_path: Path) -> ConversationStore:
    database = Database(tmp_path / "p.db")
    PatternStore(database)  # migrates
    return ConversationStore(database)


def test_the_previous_turn_is_judged_once_and_survives_reopening(tmp_path: Path) -> None:
    first = store(tmp_path)
    first.start_turn("alice", "c1", 1, ["p1", "p2"])
    first.add_forged("alice", "c1", 1, ["f1", "p1"])
    first.db.close()
    reopened = store(tmp_path)  # a restart
    assert reopened.take_previous("alice", "c1", 1) is None  # same turn: not previous
    previous = reopened.take_previous("alice", "c1", 2)
    assert previous is not None and previous.turn == 1
    assert sorted(previous.injected) == ["p1", "p2"] and previous.forged == ["f1", "p1"]
    assert sorted(previous.judged) == ["f1", "p1", "p2"]
    assert reopened.take_previous("alice", "c1", 2) is None


def test_a_retried_turn_replaces_what_it_recorded(tmp_path: Path) -> None:
    conversations = store(tmp_path)
    conversations.start_turn("alice", "c1", 1, ["old"])
    conversations.start_turn("alice", "c1", 1, ["new"])
    previous = conversations.take_previous("alice", "c1", 2)
    assert previous is not None and previous.injected == ["new"]
    conversations.start_turn("alice", "c1", 3, ["p"])
    conversations.start_turn("alice", "c1", 3, [])  # a retry that injected nothing
    assert conversations.take_previous("alice", "c1", 4) is None


def test_only_the_latest_earlier_turn_is_judged(tmp_path: Path) -> None:
    conversations = store(tmp_path)
    conversations.start_turn("alice", "c1", 1, ["a"])
    conversations.start_turn("alice", "c1", 2, ["b"])
    previous = conversations.take_previous("alice", "c1", 3)
    assert previous is not None and previous.injected == ["b"]
    assert conversations.take_previous("alice", "c1", 3) is None  # older ones went too


def test_users_and_conversations_stay_apart(tmp_path: Path) -> None:
    conversations = store(tmp_path)
    conversations.start_turn("alice", "c1", 1, ["a"])
    conversations.start_turn("bob", "c1", 1, ["b"])
    conversations.start_turn("alice", "c2", 1, ["c"])
    previous = conversations.take_previous("bob", "c1", 2)
    assert previous is not None and previous.injected == ["b"]
    assert conversations.next_turn("alice", "s") == 1
    assert conversations.next_turn("alice", "s") == 2
    assert conversations.current_turn("bob", "s") == 0
    assert conversations.current_turn("alice", "s") == 2


def test_old_state_is_dropped(tmp_path: Path) -> None:
    conversations = store(tmp_path)
    conversations.start_turn("alice", "old", 1, ["a"])
    conversations.next_turn("alice", "old-session")
    with conversations.db.atomic() as c:
        c.execute("UPDATE conversation_turns SET recorded_at = '2000-01-01 00:00:00'")
        c.execute("UPDATE conversations SET updated_at = '2000-01-01 00:00:00'")
    conversations.start_turn("alice", "new", 1, ["b"])  # writing prunes
    assert RETENTION_DAYS >= 7
    assert conversations.take_previous("alice", "old", 2) is None
    assert conversations.current_turn("alice", "old-session") == 0
