"""Sample patterns and a settable clock for the memory tests."""

from __future__ import annotations

import datetime as dt

from pattern_memory.patterns import Pattern, PatternSource, ProblemType, make_pattern_id


class Clock:
    """A settable clock for decay tests (the memory takes `clock=`)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, days: float) -> None:
        self.now += dt.timedelta(days=days)


def make_pattern(
    message: str,
    before: str,
    after: str,
    *,
    path: str = "app/module.py",
    kind: ProblemType = ProblemType.BUG_FIX,
    source: PatternSource = PatternSource.GIT,
    commit: str = "0123456789abcdef0123456789abcdef01234567",
) -> Pattern:
    return Pattern(
        pattern_id=make_pattern_id(message, before, after),
        problem_type=kind,
        before_code=before,
        after_code=after,
        commit_msg=message,
        author="Dev <dev@example.com>",
        date="2024-03-01 12:00:00",
        confidence=0.9,
        commit=commit,
        file_path=path,
        language="python",
        source=source,
    )


# A small history of realistic fixes: each query in the tests should find its own fix first.
FIXES: list[Pattern] = [
    make_pattern(
        "Fix crash when the config file is missing",
        "def load_config(path):\n    with open(path) as handle:\n"
        "        return yaml.safe_load(handle)",
        "def load_config(path):\n    if not os.path.exists(path):\n        return {}\n"
        "    with open(path) as handle:\n        return yaml.safe_load(handle)",
        path="app/config.py",
    ),
    make_pattern(
        "Fix off-by-one error in pagination",
        "def page(items, number, size):\n    return items[number * size:(number + 1) * size + 1]",
        "def page(items, number, size):\n    return items[number * size:(number + 1) * size]",
        path="app/pages.py",
    ),
    make_pattern(
        "Retry HTTP requests that time out",
        "def fetch(url):\n    return session.get(url)",
        "def fetch(url):\n    for attempt in range(3):\n        try:\n"
        "            return session.get(url, timeout=10)\n        except Timeout:\n"
        "            time.sleep(2 ** attempt)\n    raise FetchError(url)",
        path="app/http.py",
    ),
    make_pattern(
        "Close database cursor to stop connection leak",
        "def count_users(db):\n    cursor = db.cursor()\n"
        "    cursor.execute('SELECT count(*) FROM users')\n    return cursor.fetchone()[0]",
        "def count_users(db):\n    with closing(db.cursor()) as cursor:\n"
        "        cursor.execute('SELECT count(*) FROM users')\n        return cursor.fetchone()[0]",
        path="app/users.py",
    ),
    make_pattern(
        "Escape user input in search template to prevent XSS",
        "def render_query(query):\n    return '<p>' + query + '</p>'",
        "def render_query(query):\n    return '<p>' + html.escape(query) + '</p>'",
        path="app/views.py",
    ),
    make_pattern(
        "Add dark mode toggle to settings page",
        "def settings_menu():\n    return [language_option(), font_option()]",
        "def settings_menu():\n    return [language_option(), font_option(), theme_option()]",
        path="app/menu.py",
        kind=ProblemType.FEATURE_ADDITION,
    ),
    make_pattern(
        "Fix timezone bug: compare aware datetimes in UTC",
        "def is_expired(token):\n    return token.expires_at < datetime.now()",
        "def is_expired(token):\n    return token.expires_at < datetime.now(timezone.utc)",
        path="app/auth.py",
    ),
    make_pattern(
        "Handle empty list in average to avoid ZeroDivisionError",
        "def average(values):\n    return sum(values) / len(values)",
        "def average(values):\n    if not values:\n        return 0.0\n"
        "    return sum(values) / len(values)",
        path="app/stats.py",
    ),
]
