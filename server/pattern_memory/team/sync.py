"""One sync with a team server: push, then pull.

1. push the user's own patterns the server does not have yet (scrubbed of secrets, paths
   made relative, authors pseudonymized when anonymizeAuthors is on), in bulk requests
   that stay under the server's item and body limits;
2. push the latest local feedback on each team pattern (the server keeps one vote per
   user, so resending is harmless);
3. pull the team's patterns changed since the cursor, page by page, into the local store
   as source = 'team' (seen with includeTeam), saving the cursor after every page; the
   team's patterns deleted on the server since the cursor (its tombstones, in the same
   pages) leave the local store too. A tombstone only ever removes the team's copy: the
   user's own pattern stays theirs, even when it was the one pushed and then deleted on the
   server (the team no longer shares it; the user still learned it), and it is not pushed
   again (it stays marked as pushed).

Each step records what it finished in the store, so an interrupted or failed sync loses
nothing and the next one picks up where it stopped; running it twice changes nothing the
second time. When the server cannot be reached the work simply stays queued (unpushed
patterns and votes are the store's own state): the report says so and how much is waiting.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pydantic import ValidationError

from ..assist.privacy import anonymize, relative_path
from ..memory.filters import Scope
from ..memory.service import PatternMemory
from ..memory.team_store import PulledState, team_owner
from ..mining.scrub import PSEUDONYM_DOMAIN, anonymize_emails, pseudonym, scrub_text
from ..patterns import DATE_FORMAT, Pattern, PatternSource, ProblemType, make_pattern_id
from .client import TeamClient, TeamOffline
from .models import MAX_BODY_BYTES, MAX_BULK_ITEMS, PatternIn, PatternOut

# A bulk request stays well under the server's body limit (JSON escaping and headers).
BATCH_BYTES = MAX_BODY_BYTES // 2

Progress = Callable[[str, int, int], None]  # (phase, done, total); total 0: unknown


@dataclass
class SyncReport:
    server: str
    pushed: int = 0  # new on the server
    merged: int = 0  # the team already had the change: this user became a contributor
    too_large: int = 0  # over the server's size limits: kept local
    votes: int = 0
    pulled: int = 0  # team patterns new in this store
    updated: int = 0  # team patterns already here, changed on the server
    removed: int = 0  # team patterns here that the server deleted
    own: int = 0  # the team's copy of a change the user has as their own: not duplicated
    offline: str | None = None  # why the server could not be reached
    waiting_patterns: int = 0  # left to push (offline, or cancelled)
    waiting_votes: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    steps: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"pushed {self.pushed} new pattern(s)"
            + (f" ({self.merged} the team already had)" if self.merged else ""),
            f"sent {self.votes} rating(s)",
            f"pulled {self.pulled} new and {self.updated} updated team pattern(s)",
        ]
        if self.removed:
            parts.append(f"removed {self.removed} the team deleted")
        if self.too_large:
            parts.append(f"{self.too_large} too large to share")
        line = f"{self.server}: " + ", ".join(parts)
        if self.offline:
            line += (
                f"\noffline ({self.offline}): {self.waiting_patterns} pattern(s) and "
                f"{self.waiting_votes} rating(s) wait for the next sync"
            )
        elif self.cancelled:
            line += "\ncancelled: the rest waits for the next sync"
        return line


def sync(
    memory: PatternMemory,
    client: TeamClient,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SyncReport:
    """Push, then pull (see the module's docstring). Raises TeamAuthError / TeamError when
    the server refuses; being unreachable is not an error but the report's `offline`."""
    started = time.monotonic()
    report = SyncReport(server=client.base_url)
    notify = progress or (lambda phase, done, total: None)
    stop = cancel or threading.Event()
    try:
        _push_patterns(memory, client, report, notify, stop)
        if not stop.is_set():
            _push_votes(memory, client, report, notify, stop)
        if not stop.is_set():
            _pull(memory, client, report, notify, stop)
    except TeamOffline as exc:
        if not stop.is_set():  # cancelled: the retries ended on purpose, not offline
            report.offline = str(exc)
    report.cancelled = stop.is_set()
    report.waiting_patterns = len(_unpushed(memory, client.base_url)[0])
    report.waiting_votes = len(memory.team_sync.pending_votes(client.base_url))
    report.seconds = time.monotonic() - started
    return report


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime(DATE_FORMAT)


# --- push ----------------------------------------------------------------------------------


def shareable(pattern: Pattern, anonymize_authors: bool, collective: bool = False) -> PatternIn:
    """What leaves the machine for the team: secrets scrubbed from every text, paths without
    their machine-specific prefix, the repository by its name; with anonymizeAuthors the
    author's address and any address in the message become pseudonyms (the miner's, so the
    same person gets the same pseudonym everywhere); with collective (the seed's v1.1 opt-in)
    no author (marked "collective"), commit or repository at all. ValidationError when over
    the limits."""
    if collective:
        pattern = anonymize(pattern)
    message = scrub_text(pattern.commit_msg).text
    author = pattern.author
    if anonymize_authors or collective:
        message = anonymize_emails(message)
    pseudonymous = bool(author) and author.endswith("@" + PSEUDONYM_DOMAIN)
    if anonymize_authors and not collective and author and not pseudonymous:
        author = pseudonym(author)
    return PatternIn(
        pattern_id=pattern.pattern_id,
        problem_type=pattern.problem_type.value,
        code_before=scrub_text(pattern.before_code).text,
        code_after=scrub_text(pattern.after_code).text,
        commit_msg=message,
        author=scrub_text(author).text,
        date=pattern.date,
        confidence=pattern.confidence,
        commit=pattern.commit,
        file_path=relative_path(scrub_text(pattern.file_path).text),
        language=pattern.language,
        repository=_repository_name(pattern.repository),
    )


def _repository_name(repository: str) -> str:
    """A local checkout's path says where it is on this machine; its name is what the team
    knows it by (a URL stays as it is, without credentials)."""
    if "://" in repository:
        return scrub_text(repository).text
    return PurePosixPath(repository.replace("\\", "/")).name if repository else ""


def _unpushed(memory: PatternMemory, server: str) -> tuple[list[Pattern], int]:
    """The user's own patterns (not retired) the server does not have yet."""
    pushed = memory.team_sync.pushed_ids(server, memory.settings.user_id)
    own = [
        stored.pattern
        for stored in memory.store.iter_stored(_own_scope(memory))
        if not stored.retired and stored.pattern.pattern_id not in pushed
    ]
    return own, len(pushed)


def _own_scope(memory: PatternMemory) -> Scope:
    return Scope(memory.settings.user_id, include_team=False)


def _batches(items: Iterable[PatternIn]) -> Iterator[list[PatternIn]]:
    batch: list[PatternIn] = []
    size = 0
    for item in items:
        item_size = len(json.dumps(item.model_dump(mode="json", exclude_none=True)))
        if batch and (len(batch) >= MAX_BULK_ITEMS or size + item_size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item_size
    if batch:
        yield batch


def _push_patterns(
    memory: PatternMemory,
    client: TeamClient,
    report: SyncReport,
    notify: Progress,
    stop: threading.Event,
) -> None:
    server = client.base_url
    todo, _ = _unpushed(memory, server)
    uploads: list[PatternIn] = []
    settings = memory.settings
    for pattern in todo:
        try:
            uploads.append(shareable(pattern, settings.anonymize_authors, settings.collective))
        except ValidationError:
            report.too_large += 1
    done = 0
    notify("pushing", 0, len(uploads))
    for batch in _batches(uploads):
        if stop.is_set():
            return
        result = client.push(batch)
        accepted = [
            (batch[r.index].pattern_id or "", r.id) for r in result.results if r.index < len(batch)
        ]
        memory.team_sync.mark_pushed(server, memory.settings.user_id, accepted, _now())
        report.pushed += result.created
        report.merged += result.merged
        done += len(batch)
        notify("pushing", done, len(uploads))
    memory.team_sync.save_push(server, _now())


# --- votes ---------------------------------------------------------------------------------


def _push_votes(
    memory: PatternMemory,
    client: TeamClient,
    report: SyncReport,
    notify: Progress,
    stop: threading.Event,
) -> None:
    server = client.base_url
    votes = memory.team_sync.pending_votes(server)
    notify("rating", 0, len(votes))
    for done, vote in enumerate(votes, 1):
        if stop.is_set():
            return
        client.vote(vote.remote_id, vote.helpful)  # None: gone from the server, nothing to do
        memory.team_sync.mark_votes_sent(server, [vote])
        report.votes += 1
        notify("rating", done, len(votes))


# --- pull ----------------------------------------------------------------------------------


def team_pattern(server: str, remote: PatternOut) -> Pattern:
    """A team pattern as the local store keeps it: its id derived from the server and the
    server's id (stable across syncs), source = team."""
    try:
        problem_type = ProblemType(remote.problem_type)
    except ValueError:
        problem_type = ProblemType.UNKNOWN
    return Pattern(
        pattern_id=make_pattern_id("team", server, remote.id),
        problem_type=problem_type,
        before_code=remote.code_before,
        after_code=remote.code_after,
        commit_msg=remote.commit_msg,
        author=remote.created_by,
        # The fix's own commit and date when its uploader's miner read them (shown with it;
        # the commit groups it with its commit's other changes for the mass-edit check),
        # else when the team first saw it. Its evidence still counts from the share.
        date=(remote.committed_at or remote.created_at).astimezone(dt.UTC).strftime(DATE_FORMAT),
        commit=remote.commit,
        confidence=remote.confidence if remote.confidence is not None else 0.5,
        file_path=remote.file_path,
        language=remote.language,
        source=PatternSource.TEAM,
        repository=remote.repository,
    )


def _pull(
    memory: PatternMemory,
    client: TeamClient,
    report: SyncReport,
    notify: Progress,
    stop: threading.Event,
) -> None:
    server = client.base_url
    state = memory.team_sync
    cursor = state.cursor(server)
    seen = 0
    while not stop.is_set():
        page = client.changes(cursor)
        if stop.is_set():  # cancelled while waiting for the page: the store is left alone
            return
        total = seen + page.total if page.total else seen + len(page.patterns)
        own = state.own_hashes(memory.settings.user_id, (p.solution_hash for p in page.patterns))
        mine = state.pushed_remote(server, (p.id for p in page.patterns))
        known = state.known_remote(server, (p.id for p in page.patterns))
        pending = {v.remote_id for v in state.pending_votes(server)}
        fresh = [p for p in page.patterns if p.solution_hash not in own and p.id not in mine]
        report.own += len(page.patterns) - len(fresh)
        local = [team_pattern(server, p) for p in fresh]
        stored = memory.add_team_patterns(local, team_owner(server))
        state.record_pulled(
            server,
            [
                (pattern_id, _pulled_state(remote))
                for (pattern_id, _status), remote in zip(stored, fresh, strict=True)
            ],
            pending,
        )
        report.updated += sum(1 for p in fresh if p.id in known)
        report.pulled += sum(1 for p in fresh if p.id not in known)
        report.removed += _drop_deleted(memory, server, page.deleted)
        state.save_pull(server, page.next_cursor, _now())
        cursor = page.next_cursor or cursor
        seen += len(page.patterns)
        notify("pulling", seen, total)
        if not page.has_more or not (page.patterns or page.deleted):
            return


def _drop_deleted(memory: PatternMemory, server: str, remote_ids: list[str]) -> int:
    """The local copies of team patterns the server deleted (by the local id team_pattern
    derives from the server's id), and only those: see the module's docstring."""
    if not remote_ids:
        return 0
    local_ids = [make_pattern_id("team", server, remote_id) for remote_id in remote_ids]
    return memory.drop_team_patterns(local_ids, team_owner(server))


def _pulled_state(remote: PatternOut) -> PulledState:
    contributors = tuple(remote.contributors) or (remote.created_by,)
    return PulledState(
        remote_id=remote.id,
        created_by=remote.created_by,
        contributors=contributors,
        updated_at=remote.updated_at.isoformat(),
        success_count=remote.success_count,
        failure_count=remote.failure_count,
    )
