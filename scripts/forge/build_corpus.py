# ruff: noqa: E501  (corpus data: one answer, topic or template per line)
"""Build the forge detector's labelled corpus, data/forge/answers.jsonl (deterministic).

    python scripts/forge/build_corpus.py

Each line is one assistant answer: {"id", "text", "label" (1: states a fix, 0: does not),
"split" ("train" or "heldout"), "template", "markers" (substrings of the sentences that
state the fix), "problem", "solution", "before", "after" (the code a paired fix should
extract, or null)}. Answers come from bug topics (topics.py) written in many styles: the
phrasings real answers use (prose, hard-wrapped lines, Markdown lists, code blocks joined by
"becomes", "to", "instead of"), and hard negatives on the same topics (explanations without
a fix, questions, hypotheticals, status reports, code reviews, tutorials, negated advice).

The held-out split never meets the training: its topics are not in the training split, and
a quarter of the templates are only used on held-out topics.
"""

from __future__ import annotations

import json
import random
import textwrap
from collections.abc import Callable
from pathlib import Path

from topics import TOPICS, Topic

OUT = Path(__file__).resolve().parents[2] / "data" / "forge" / "answers.jsonl"
SEED = 11

INTROS = [
    "",
    "",
    "Thanks for the traceback, that helps.",
    "Good catch.",
    "I looked at the snippet you posted.",
    "Short answer first.",
    "Okay, I see what's going on.",
    "Got it.",
    "This one is subtle.",
    "Thanks for the details.",
    "Nice minimal repro!",
]
OUTROS = [
    "",
    "",
    "Let me know if that helps.",
    "Hope this helps!",
    "You may also want a test for this.",
    "Happy to look further if it keeps happening.",
    "Ping me if anything else comes up.",
    "Cheers.",
    "That should be all you need.",
]
MIDDLES = [
    "",
    "",
    "It only shows up under load, which is why it looked random.",
    "This is a common gotcha.",
    "Your stack trace points right at it.",
    "It's easy to miss in review.",
    "The docs are not very clear on this point.",
]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def block(code: str, language: str) -> str:
    return f"```{language}\n{code}\n```"


def inline(code: str) -> str:
    return f"`{code}`" if "\n" not in code else block(code, "")


Answer = dict[str, object]
Template = Callable[[Topic, random.Random], Answer]


def pos(
    text: str, markers: list[str], t: Topic, before: str | None = None, after: str | None = None
) -> Answer:
    return {
        "text": text,
        "label": 1,
        "markers": markers,
        "problem": t.cause,
        "solution": t.fix,
        "solution_alt": t.fixing,
        "before": before,
        "after": after,
    }


def neg(text: str) -> Answer:
    return {
        "text": text,
        "label": 0,
        "markers": [],
        "problem": None,
        "solution": None,
        "solution_alt": None,
        "before": None,
        "after": None,
    }


# --- answers that state a fix ---------------------------------------------------------


def p_bug_was(t: Topic, r: random.Random) -> Answer:
    return pos(f"The bug was that {t.cause}. The fix is to {t.fix}.", [t.fix], t)


def p_root_cause_fixes_it(t: Topic, r: random.Random) -> Answer:
    return pos(f"The root cause is that {t.cause}. {cap(t.fixing)} fixes it.", [t.fixing], t)


def p_happens_because_use(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"This happens because {t.cause}. {cap(t.fix)}:\n\n{block(t.after, t.language)}",
        [cap(t.fix)],
        t,
        None,
        t.after,
    )


def p_caused_by_make(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"{cap(t.symptom)} was caused by this: {t.cause}; {t.fix} and it goes away.", [t.fix], t
    )


def p_fixed_by_changing_blocks(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"{cap(t.symptom)} is because {t.cause}. Fixed by changing\n\n{block(t.before, t.language)}"
        f"\n\nto\n\n{block(t.after, t.language)}",
        ["Fixed by changing"],
        t,
        t.before,
        t.after,
    )


def p_comes_from_guard(t: Topic, r: random.Random) -> Answer:
    verb = r.choice(
        [
            "Guard it",
            "Change it",
            "Do this instead",
            "Here's the corrected line",
            "Write it like this",
        ]
    )
    return pos(
        f"{cap(t.symptom)} comes from {t.cause}. {verb}:\n\n{block(t.after, t.language)}",
        [verb],
        t,
        None,
        t.after,
    )


def p_changing_a_to_b(t: Topic, r: random.Random) -> Answer:
    if "\n" in t.before or "\n" in t.after:
        return p_fixed_by_changing_blocks(t, r)
    return pos(
        f"Changing `{t.before}` to `{t.after}` fixes {t.symptom}, since {t.cause}.",
        ["Changing `"],
        t,
        t.before,
        t.after,
    )


def p_goes_away_once(t: Topic, r: random.Random) -> Answer:
    return pos(f"{cap(t.symptom)} goes away once you {t.fix}: {t.cause}.", [t.fix], t)


def p_and_it_works(t: Topic, r: random.Random) -> Answer:
    return pos(f"Since {t.cause}, {t.symptom}. {cap(t.fix)} and it works.", [t.fix], t)


def p_to_fix_do(t: Topic, r: random.Random) -> Answer:
    lead = r.choice(["", "you need to ", "you should ", "just ", "you'll want to "])
    return pos(f"To fix {t.symptom}, {lead}{t.fix}. The reason is that {t.cause}.", [t.fix], t)


def p_labelled(t: Topic, r: random.Random) -> Answer:
    p, f = r.choice(
        [
            ("Problem", "Fix"),
            ("Root cause", "Solution"),
            ("Cause", "Fix"),
            ("**Problem**", "**Fix**"),
            ("Issue", "Resolution"),
        ]
    )
    return pos(
        f"{p}: {t.cause}.\n{f}: {t.fix}.\n\n{block(t.after, t.language)}",
        [f"{f}: {t.fix}"],
        t,
        None,
        t.after,
    )


def p_markdown_list(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"Here's what's going on:\n\n- **Symptom:** {t.symptom}\n- **Cause:** {t.cause}\n"
        f"- **Fix:** {t.fix}\n\n{block(t.after, t.language)}",
        [f"**Fix:** {t.fix}"],
        t,
        None,
        t.after,
    )


def p_replace_with(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"{cap(t.symptom)} because {t.cause}. Replace\n\n{block(t.before, t.language)}\n\n"
        f"with\n\n{block(t.after, t.language)}",
        ["Replace"],
        t,
        t.before,
        t.after,
    )


def p_becomes(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"The culprit is that {t.cause}. So this:\n\n{block(t.before, t.language)}\n\n"
        f"becomes:\n\n{block(t.after, t.language)}",
        ["becomes"],
        t,
        t.before,
        t.after,
    )


def p_instead_of(t: Topic, r: random.Random) -> Answer:
    if "\n" in t.before or "\n" in t.after:
        return pos(
            f"Because {t.cause}, you get {t.symptom}. Use\n\n{block(t.after, t.language)}\n\n"
            f"instead of\n\n{block(t.before, t.language)}",
            ["instead of"],
            t,
            t.before,
            t.after,
        )
    return pos(
        f"Use `{t.after}` instead of `{t.before}`: {t.cause}, which is why {t.symptom}.",
        ["instead of"],
        t,
        t.before,
        t.after,
    )


def p_found_it(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"Found it: {t.cause}. I changed the code to {t.fix} and {t.symptom} no longer happens.",
        [t.fix],
        t,
    )


def p_try_should_fix(t: Topic, r: random.Random) -> Answer:
    return pos(f"Looks like {t.cause}. Try {t.fixing}; that should fix {t.symptom}.", [t.fixing], t)


def p_solution_colon(t: Topic, r: random.Random) -> Answer:
    return pos(f"{cap(t.symptom)} happens because {t.cause}. The solution: {t.fix}.", [t.fix], t)


def p_whats_happening_switch(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"What's happening is that {t.cause}. Switch to this:\n\n"
        f"{block(t.after, t.language)}\n\nand {t.symptom} stops.",
        ["Switch to this"],
        t,
        None,
        t.after,
    )


def p_long_numbered(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"Let's go through it.\n\n1. You see {t.symptom}.\n2. That's because {t.cause}.\n"
        f"3. To fix it, {t.fix}:\n\n{block(t.after, t.language)}\n\n"
        "After that, rerun the tests to confirm.",
        [f"To fix it, {t.fix}"],
        t,
        None,
        t.after,
    )


def p_you_need(t: Topic, r: random.Random) -> Answer:
    return pos(f"You're seeing {t.symptom} because {t.cause}. You need to {t.fix}.", [t.fix], t)


def p_heading(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"## Why\n\n{cap(t.cause)}, so {t.symptom}.\n\n## Fix\n\n{cap(t.fix)}.\n\n"
        f"{block(t.after, t.language)}",
        [f"{cap(t.fix)}."],
        t,
        None,
        t.after,
    )


def p_diff(t: Topic, r: random.Random) -> Answer:
    minus = "\n".join("-" + line for line in t.before.splitlines())
    plus = "\n".join("+" + line for line in t.after.splitlines())
    return pos(
        f"{cap(t.cause)}, hence {t.symptom}. This patch fixes it:\n\n```diff\n{minus}\n{plus}\n```",
        ["This patch fixes it"],
        t,
        t.before,
        t.after,
    )


def p_what_fixed(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"What fixed it for me was {t.fixing}. {cap(t.symptom)} came from the fact that {t.cause}.",
        [t.fixing],
        t,
    )


def p_if_you(t: Topic, r: random.Random) -> Answer:
    return pos(f"{cap(t.cause)}. {cap(t.fixing)} will stop {t.symptom}.", [t.fixing], t)


# --- answers that do not ------------------------------------------------------------


def n_explain_only(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"{cap(t.symptom)} usually means that {t.cause}. It's a common pitfall and it is "
        "easy to miss in review, which is why linters have a rule for it."
    )


def n_question(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"Before I suggest anything: does {t.symptom} happen on every run, or only "
        "sometimes? Could you paste the full traceback and tell me which version you're "
        "on?"
    )


def n_hypothetical(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"If {t.cause}, then {t.fixing} would help, but nothing in the logs you sent "
        "points to that. Can you check whether that's the case first?"
    )


def n_status_merged(t: Topic, r: random.Random) -> Answer:
    n = r.randint(100, 9999)
    return neg(
        r.choice(
            [
                f"The fix for {t.symptom} is merged (#{n}) and will ship in the next release.",
                f"The fix is merged. {cap(t.symptom)} should not come back after 2.{n % 20}.",
                f"We're still looking into {t.symptom}; there's no fix yet. I'll update this thread.",
                f"The patch for {t.symptom} is in review in #{n}. It'll land after CI passes.",
                f"Status update: {t.symptom} is reproduced, a fix is being worked on, ETA Friday.",
            ]
        )
    )


def n_code_review(t: Topic, r: random.Random) -> Answer:
    return neg(
        r.choice(
            [
                "Nice work overall. A few nits:\n\n- rename `data` to something clearer\n"
                "- add a docstring to the public function\n- the helper could be split in two\n\nLGTM "
                "once those are addressed.",
                "Looks good to me. Consider extracting the parsing into its own module, and maybe add "
                "type hints to the constructor. Approving.",
                f"Reviewed. The change is fine; I'd only move the constant to the top of the file and "
                f"keep the naming consistent with the rest of the {t.language} code.",
                "Two small style comments: prefer f-strings over format(), and keep lines under 100 "
                "characters. Otherwise 👍",
            ]
        )
    )


def n_tutorial(t: Topic, r: random.Random) -> Answer:
    return neg(
        r.choice(
            [
                f"Here's how to read a CSV file in Python:\n\n{block('import csv' + chr(10) + 'with open(path) as f:' + chr(10) + '    rows = list(csv.reader(f))', 'python')}\n\nEach row is a list of strings.",
                "To set up the project, clone the repository, create a virtual environment and run "
                "`pip install -e .`. Then start the server with `make run`.",
                "A goroutine is a lightweight thread managed by the Go runtime. You start one with "
                "the `go` keyword, and channels let goroutines communicate.",
                "To deploy, build the image with `docker build -t app .` and push it to your registry; "
                "the Helm chart picks up the new tag.",
            ]
        )
    )


def n_negated(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"{cap(t.fixing)} won't help here: {t.symptom} isn't caused by that, since "
        "your code already does it. The problem is somewhere else; can you share more "
        "of the handler?"
    )


def n_cant_reproduce(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"I can't reproduce {t.symptom} with the code you posted. Which OS and version "
        "are you on, and is there anything in your environment that differs?"
    )


def n_summary(t: Topic, r: random.Random) -> Answer:
    return neg(
        r.choice(
            [
                "This PR adds caching to the client, updates the docs and bumps the version to 1.4.",
                "Summary of the meeting: we agreed on the API shape, Dana takes the migration, and the "
                "release is planned for next week.",
                f"I ran the benchmarks again: {t.language} startup is 12% faster, memory is unchanged.",
            ]
        )
    )


def n_not_enough(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"I don't have enough information to tell why {t.symptom}. It could be several "
        "things. Can you share a minimal example that reproduces it?"
    )


def n_maybe_question(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"One thing I noticed: is it possible that {t.cause}? Not sure it's related to "
        f"{t.symptom}, though."
    )


def n_general_advice(t: Topic, r: random.Random) -> Answer:
    return neg(
        r.choice(
            [
                "To fix bugs faster, write a failing test first and use a debugger instead of print "
                "statements.",
                "In general, the best way to avoid issues like this is good test coverage and small "
                "pull requests.",
                "Debugging tip: bisect the history with `git bisect` to find the commit that "
                "introduced a regression.",
            ]
        )
    )


def n_explain_code(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"Sure, here's what this line does:\n\n{block(t.after, t.language)}\n\n"
        "It is the idiomatic form and the one the style guide recommends; nothing wrong "
        "with it."
    )


def n_would_fix(t: Topic, r: random.Random) -> Answer:
    return neg(
        f"Would {t.fixing} fix {t.symptom}? Maybe, but I'd want to see the logs before "
        "changing anything."
    )


def p_disappears_when(t: Topic, r: random.Random) -> Answer:
    return pos(f"{cap(t.symptom)} disappears when you {t.fix}. The reason: {t.cause}.", [t.fix], t)


def p_that_will_stop(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"{cap(t.cause)}, which is why {t.symptom}. {cap(t.fix)}; that stops it.", [t.fix], t
    )


def p_do_this(t: Topic, r: random.Random) -> Answer:
    verb = r.choice(
        [
            "Do it like this",
            "Here's the fixed version",
            "Rewrite it as",
            "Correct version",
            "Try this",
        ]
    )
    return pos(
        f"The trouble is that {t.cause}. {verb}:\n\n{block(t.after, t.language)}",
        [verb],
        t,
        None,
        t.after,
    )


def p_should_be(t: Topic, r: random.Random) -> Answer:
    return pos(
        f"You have\n\n{block(t.before, t.language)}\n\nbut since {t.cause}, it should "
        f"be\n\n{block(t.after, t.language)}",
        ["should be"],
        t,
        t.before,
        t.after,
    )


# Paragraphs that state no fix, mixed into answers of their own (training only): general
# explanations, questions, plans, reviews, tutorials, hedges.
NEGATIVE_PARAGRAPHS = [
    "Async functions return a coroutine; nothing runs until it is awaited or scheduled.",
    "Python's default arguments are evaluated once, when the function is defined.",
    "A mutex serialises access to a resource, while a semaphore allows up to N holders.",
    "Docker layers are cached in order, so a changed early layer invalidates the later ones.",
    "HTTP 413 means the request body was larger than the server accepts.",
    "In Go, a nil map can be read but not written.",
    "JavaScript compares objects by reference, not by value.",
    "SQL joins multiply rows when the relation is one-to-many.",
    "Which version of the library are you using?",
    "Can you paste the output of `pip freeze`?",
    "Does the error happen in production too, or only locally?",
    "What does the rest of the function look like?",
    "Is the config loaded from the environment or from a file?",
    "Have you tried running it with logging at debug level?",
    "I'm not sure what is causing this; it could be a few things.",
    "It might be the proxy, or it might be DNS; hard to say without logs.",
    "If the cache were stale, clearing it would help, but the timestamps say otherwise.",
    "Maybe it's a race, but I doubt it given how consistently it fails.",
    "Increasing the timeout won't fix this; it would only hide the slowness.",
    "Restarting the service doesn't solve anything here, the state comes back.",
    "Upgrading is not going to help, the behaviour is the same in the latest release.",
    "Consider splitting this function into smaller helpers.",
    "Please add a docstring and a test for the new branch.",
    "Nit: the variable name `tmp` could be more descriptive.",
    "Approved, nice cleanup.",
    "The PR looks good; CI is green and the changelog is updated.",
    "Here's a minimal example to get started:\n\n```python\nimport sqlite3\nconn = sqlite3.connect('app.db')\n```",
    "You can install it with `pip install httpx` and import it as usual.",
    "Run `npm test` to execute the suite, or `npm run lint` for the linter.",
    "This is tracked upstream and the maintainers plan to look at it next quarter.",
    "A fix is planned for the next minor release.",
    "The fix landed on main yesterday; it isn't released yet.",
    "I reproduced it on Linux; still investigating the cause.",
    "We'll discuss this in tomorrow's standup.",
    "Great question! There are several ways to structure this, each with trade-offs.",
    "In general, prefer composition over inheritance for this kind of code.",
    "Let me know what you find and we can go from there.",
    "Thanks for the report, I'll take a look this afternoon.",
    "The GIL allows one thread to execute Python bytecode at a time.",
    "React re-renders a component when its state or props change.",
]


def n_mixed_paragraphs(t: Topic, r: random.Random) -> Answer:
    return neg("\n\n".join(r.sample(NEGATIVE_PARAGRAPHS, r.randint(1, 3))))


def n_mixed_paragraphs_b(t: Topic, r: random.Random) -> Answer:
    return n_mixed_paragraphs(t, r)


POSITIVE: list[Template] = [
    p_disappears_when,
    p_that_will_stop,
    p_do_this,
    p_should_be,
    p_bug_was,
    p_root_cause_fixes_it,
    p_happens_because_use,
    p_caused_by_make,
    p_fixed_by_changing_blocks,
    p_comes_from_guard,
    p_changing_a_to_b,
    p_goes_away_once,
    p_and_it_works,
    p_to_fix_do,
    p_labelled,
    p_markdown_list,
    p_replace_with,
    p_becomes,
    p_instead_of,
    p_found_it,
    p_try_should_fix,
    p_solution_colon,
    p_whats_happening_switch,
    p_long_numbered,
    p_you_need,
    p_heading,
    p_diff,
    p_what_fixed,
    p_if_you,
]


def n_negated_two(t: Topic, r: random.Random) -> Answer:
    return neg(
        r.choice(
            [
                f"I tried {t.fixing} and it didn't change anything, so {t.symptom} must come from "
                "somewhere else. Can you share the config?",
                f"Don't bother {t.fixing}: that's not the problem here. I need the full logs to see "
                "what's happening.",
                f"{cap(t.fixing)} is not the answer, your code already does that.",
            ]
        )
    )


def n_docs(t: Topic, r: random.Random) -> Answer:
    return neg(
        r.choice(
            [
                f"The documentation has a whole section about {t.symptom}; it explains the design "
                "trade-offs but doesn't say what to do.",
                f"There's an open issue about {t.symptom} upstream. People are discussing whether it "
                "is a bug or intended behaviour.",
            ]
        )
    )


NEGATIVE: list[Template] = [
    n_negated_two,
    n_docs,
    n_mixed_paragraphs,
    n_mixed_paragraphs_b,
    n_explain_only,
    n_question,
    n_hypothetical,
    n_status_merged,
    n_code_review,
    n_tutorial,
    n_negated,
    n_cant_reproduce,
    n_summary,
    n_not_enough,
    n_maybe_question,
    n_general_advice,
    n_explain_code,
    n_would_fix,
]
# Only on held-out topics: phrasings the training never sees.
HELD_OUT_TEMPLATES = {
    "p_becomes",
    "p_what_fixed",
    "p_if_you",
    "p_whats_happening_switch",
    "n_would_fix",
    "n_maybe_question",
    "n_explain_code",
}


def hard_wrap(text: str, width: int) -> str:
    """Wrap prose paragraphs (never code blocks) at `width` columns."""
    out, in_code = [], False
    for paragraph in text.split("\n\n"):
        if paragraph.startswith("```") or in_code:
            in_code = not paragraph.rstrip().endswith("```") or (
                paragraph.count("```") == 1 and in_code
            )
            out.append(paragraph)
            continue
        lines = paragraph.split("\n")
        if any(line.lstrip().startswith(("-", "1.", "2.", "3.", "#")) for line in lines):
            out.append(paragraph)
            continue
        out.append(textwrap.fill(" ".join(lines), width=width))
    return "\n\n".join(out)


def styled(answer: Answer, r: random.Random) -> Answer:
    text = str(answer["text"])
    middle = r.choice(MIDDLES)
    if middle and r.random() < 0.5:
        text = f"{text}\n\n{middle}"
    intro, outro = r.choice(INTROS), r.choice(OUTROS)
    text = "\n\n".join(part for part in (intro, text, outro) if part)
    if r.random() < 0.35:
        text = hard_wrap(text, r.choice([60, 72, 80]))
    return {**answer, "text": text}


def build() -> list[Answer]:
    r = random.Random(SEED)
    answers: list[Answer] = []
    for index, topic in enumerate(TOPICS):
        heldout = index % 4 == 0
        split = "heldout" if heldout else "train"
        for family, count in ((POSITIVE, 7), (NEGATIVE, 7)):
            usable = [f for f in family if heldout or f.__name__ not in HELD_OUT_TEMPLATES]
            for template in r.sample(usable, count):
                answer = styled(template(topic, r), r)
                answers.append(
                    {
                        "id": f"{index:02d}-{template.__name__}",
                        "split": split,
                        "template": template.__name__,
                        **answer,
                    }
                )
    return answers


def main() -> None:
    answers = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as handle:
        for answer in answers:
            handle.write(json.dumps(answer, ensure_ascii=False) + "\n")
    train = sum(a["split"] == "train" for a in answers)
    positives = sum(a["label"] == 1 for a in answers)
    print(
        f"{len(answers)} answers ({positives} state a fix), {train} train, "
        f"{len(answers) - train} held out -> {OUT}"
    )


if __name__ == "__main__":
    main()
