"""The hand-written answers of the forge corpus (data/forge/handwritten.jsonl), written apart
from the templates, in the styles of real assistant answers; held out like the held-out
split (never trained on). `python scripts/forge/handwritten.py` writes the JSONL."""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "data" / "forge" / "handwritten.jsonl"
F = "```"

# (label, text, solution words, before, after)
ANSWERS: list[tuple[int, str, str, str | None, str | None]] = [
    (
        1,
        "The bug was a stale closure over `count`: the effect captured the first render's\n"
        "value and never saw updates. The fix is to use the functional form of the setter,\n"
        "`setCount(c => c + 1)`, so React hands you the current value.",
        "functional form of the setter",
        None,
        None,
    ),
    (
        1,
        "The root cause is that `json.dumps` can't serialize `datetime` objects. Passing\n"
        "`default=str` fixes it:\n\n" + F + "python\njson.dumps(payload, default=str)\n" + F,
        "default=str",
        None,
        "json.dumps(payload, default=str)",
    ),
    (
        1,
        "This happens because the worker pool is created at import time, before the fork. "
        "Create the pool inside `main()` instead, after the process has started.",
        "create the pool inside main",
        None,
        None,
    ),
    (
        1,
        "Your `ValueError` was caused by the header row being parsed as data; skip it with "
        "`next(reader)` before the loop.",
        "skip it with next(reader)",
        None,
        None,
    ),
    (
        1,
        "Fixed by changing\n\n"
        + F
        + "python\nif user.is_admin == 'true':\n"
        + F
        + "\n\nto\n\n"
        + F
        + "python\nif user.is_admin:\n"
        + F
        + "\n\nThe flag is a boolean, "
        "not a string, so the comparison was always false.",
        "is_admin",
        "if user.is_admin == 'true':",
        "if user.is_admin:",
    ),
    (
        1,
        "The `None` comes from `dict.get` on a key that's spelled differently in the payload "
        "(`userId` vs `user_id`). Guard it:\n\n" + F + "python\nuser_id = data.get('user_id') "
        "or data.get('userId')\n" + F,
        "user_id",
        None,
        "user_id = data.get('user_id') or data.get('userId')",
    ),
    (
        1,
        "Changing `==` to `is` fixes the identity check here, since you want to know whether "
        "it's the very same sentinel object.",
        "is",
        "==",
        "is",
    ),
    (
        1,
        "The flicker goes away once you memoize the context value with `useMemo`; right now "
        "a new object is created on every render, so every consumer re-renders.",
        "memoize the context value",
        None,
        None,
    ),
    (
        1,
        "Windows locks the file while it's open. Open it with `delete=False`, close it, and "
        "then pass the path to the other process - it works.",
        "delete=False",
        None,
        None,
    ),
    (
        1,
        "To fix the 413 errors, raise `client_max_body_size` in the nginx server block; the "
        "default of 1m is far below your uploads.",
        "raise client_max_body_size",
        None,
        None,
    ),
    (
        1,
        "Here's the problem: you compare timestamps from two timezones. Normalise both to UTC "
        "before subtracting:\n\n"
        + F
        + "python\ndelta = a.astimezone(UTC) - b.astimezone(UTC)\n"
        + F,
        "normalise both to utc",
        None,
        "delta = a.astimezone(UTC) - b.astimezone(UTC)",
    ),
    (
        1,
        "- **What's wrong:** the goroutine writes to the map while the handler reads it\n"
        "- **Fix:** protect the map with a `sync.RWMutex` (or use `sync.Map`)\n",
        "protect the map with a sync.RWMutex",
        None,
        None,
    ),
    (
        1,
        "So this:\n\n"
        + F
        + "js\nconst items = await Promise.all(ids.map(fetchItem))\n"
        + F
        + "\n\nbecomes:\n\n"
        + F
        + "js\nconst items = []\nfor (const id of ids) items.push(await "
        "fetchItem(id))\n" + F + "\n\nbecause the API rate-limits parallel calls.",
        "sequential",
        "const items = await Promise.all(ids.map(fetchItem))",
        "const items = []\nfor (const id of ids) items.push(await fetchItem(id))",
    ),
    (
        1,
        "Use\n\n"
        + F
        + "python\npath.read_text(encoding='utf-8')\n"
        + F
        + "\n\ninstead of\n\n"
        + F
        + "python\npath.read_text()\n"
        + F
        + "\n\nThe default encoding on Windows is cp1252, "
        "which is why the emoji in the file break the parser.",
        "encoding utf-8",
        "path.read_text()",
        "path.read_text(encoding='utf-8')",
    ),
    (
        1,
        "I dug into it. The migration runs before the extension exists, so `gen_random_uuid()` "
        "is unknown. Add `CREATE EXTENSION IF NOT EXISTS pgcrypto;` at the top of the first "
        "migration and the error is gone.",
        "create extension pgcrypto",
        None,
        None,
    ),
    (
        1,
        "Ah, it's the trailing slash. Express treats `/api/users/` and `/api/users` as "
        "different routes when `strict routing` is on; turn it off or register both paths.",
        "turn it off or register both paths",
        None,
        None,
    ),
    (
        1,
        "The test is flaky because it depends on dict ordering from a set. Sort the keys "
        "before comparing and it passes every time.",
        "sort the keys before comparing",
        None,
        None,
    ),
    (
        1,
        "Root cause: the Docker build cache still holds the old lockfile layer. Rebuild with "
        "`--no-cache` once, then it picks up the new dependencies.",
        "rebuild with no-cache",
        None,
        None,
    ),
    (
        1,
        "Looking at your traceback, the recursion never hits its base case when the list is "
        "empty. Check for the empty list first:\n\n"
        + F
        + "python\nif not items:\n    return 0\n"
        + F,
        "check for the empty list first",
        None,
        "if not items:\n    return 0",
    ),
    (
        1,
        "You're closing the channel from the receiver side, which races with the senders. "
        "Let the sender close it after the last send; the panic stops.",
        "let the sender close it",
        None,
        None,
    ),
    (
        1,
        "That's a classic: `os.environ['PORT']` is a string, and `socket.bind` wants an int. "
        "Wrap it in `int(...)`.",
        "wrap it in int",
        None,
        None,
    ),
    (
        1,
        "The memory leak is the event listener you add in `componentDidMount` and never "
        "remove. Remove it in `componentWillUnmount` and the heap stays flat.",
        "remove it in componentWillUnmount",
        None,
        None,
    ),
    (
        0,
        "Good question! The GIL means only one thread runs Python bytecode at a time, so "
        "CPU-bound work doesn't speed up with threads. I/O-bound work still does, because the "
        "GIL is released while waiting.",
        "",
        None,
        None,
    ),
    (
        0,
        "Could you share the full stack trace and the version of httpx you're on? The error "
        "you quoted can come from several places, and I don't want to guess.",
        "",
        None,
        None,
    ),
    (
        0,
        "If the problem were the connection pool, increasing `max_connections` would help, "
        "but your metrics show the pool is mostly idle, so I doubt that's it.",
        "",
        None,
        None,
    ),
    (
        0,
        "The fix is merged in #4821 and will be part of 3.2.0, scheduled for next week.",
        "",
        None,
        None,
    ),
    (
        0,
        "Status: I reproduced the crash on macOS and Linux. Still investigating which commit "
        "introduced it; bisecting now.",
        "",
        None,
        None,
    ),
    (
        0,
        "Review notes:\n\n1. `process_items` is getting long; consider splitting it.\n"
        "2. Add a docstring for the public API.\n3. Nice use of dataclasses here!\n\nApproved "
        "with nits.",
        "",
        None,
        None,
    ),
    (
        0,
        "Here's a minimal Flask app to get you started:\n\n" + F + "python\nfrom flask import "
        "Flask\napp = Flask(__name__)\n\n@app.get('/')\ndef index():\n    return 'hi'\n"
        + F
        + "\n\nRun it with `flask run`.",
        "",
        None,
        None,
    ),
    (
        0,
        "Setting `PYTHONUNBUFFERED=1` won't fix this; it only changes when output is flushed. "
        "The hang is somewhere in the network call.",
        "",
        None,
        None,
    ),
    (
        0,
        "I wasn't able to reproduce it with the snippet you posted - it runs fine on 3.12. "
        "Does it fail for you with exactly that code?",
        "",
        None,
        None,
    ),
    (
        0,
        "To be honest, I'm not sure what's causing it. It could be the proxy, the DNS setup "
        "or the TLS settings. Can you run `curl -v` against the endpoint and paste the output?",
        "",
        None,
        None,
    ),
    (
        0,
        "A race condition happens when two threads access shared data and at least one of "
        "them writes. The outcome then depends on the timing, which makes these bugs hard to "
        "reproduce.",
        "",
        None,
        None,
    ),
    (
        0,
        "This PR bumps the minimum Node version to 18, drops the old polyfills and updates "
        "the CI matrix. No behaviour changes.",
        "",
        None,
        None,
    ),
    (
        0,
        "What does your `tsconfig.json` look like? In particular, is `strict` on, and which "
        "`moduleResolution` do you use?",
        "",
        None,
        None,
    ),
    (
        0,
        "Sure! The `walrus` operator assigns and returns a value in one expression:\n\n"
        + F
        + "python\nif (n := len(items)) > 10:\n    print(n)\n"
        + F
        + "\n\nIt was added in 3.8.",
        "",
        None,
        None,
    ),
    (
        0,
        "There's a long upstream discussion about this behaviour; the maintainers consider "
        "it intended, since changing it would break existing callers.",
        "",
        None,
        None,
    ),
    (
        0,
        "You're welcome, glad it's working now! Let me know if you run into anything else.",
        "",
        None,
        None,
    ),
    (
        0,
        "Would it help to cache the results? Possibly, but first I'd measure where the time "
        "goes; profile it with `py-spy` and share the flame graph.",
        "",
        None,
        None,
    ),
    (
        0,
        "The bug is tracked in JIRA-1234; the team plans to address it next sprint.",
        "",
        None,
        None,
    ),
]


def main() -> None:
    with OUT.open("w", encoding="utf-8") as handle:
        for number, (label, text, solution, before, after) in enumerate(ANSWERS):
            record = {
                "id": f"hand-{number:02d}",
                "split": "heldout",
                "template": "hand",
                "text": text,
                "label": label,
                "markers": [],
                "problem": None,
                "solution": solution or None,
                "solution_alt": None,
                "before": before,
                "after": after,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(ANSWERS)} hand-written answers -> {OUT}")


if __name__ == "__main__":
    main()
