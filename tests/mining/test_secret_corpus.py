"""The planted-secret corpus through the scrubber alone (fast): every secret goes, scrubbing
is idempotent, and ordinary code mostly survives (the false-positive rate is printed)."""

from __future__ import annotations

import pytest

from pattern_memory.mining.scrub import looks_random, scrub_text
from tests.secret_corpus import KEY_BODY, ORDINARY, PLANTED, Planted


def test_the_corpus_is_large_enough() -> None:
    assert len(PLANTED) >= 27 and len({p.secret for p in PLANTED}) == len(PLANTED)
    assert len(ORDINARY) >= 40


@pytest.mark.parametrize("planted", PLANTED, ids=[p.name for p in PLANTED])
def test_every_planted_secret_is_redacted_and_scrubbing_is_idempotent(planted: Planted) -> None:
    once = scrub_text(planted.text)
    assert planted.secret not in once.text
    assert once.found
    assert scrub_text(once.text).text == once.text


def test_a_hunk_that_holds_only_a_keys_last_body_line_leaks_none_of_it() -> None:
    hunk = f'{KEY_BODY[3]}\n"""\nPEM = wrap_pem(BODY, "RSA PRIVATE KEY")\nVALUE = 2'
    assert KEY_BODY[3] not in scrub_text(hunk).text


def test_ordinary_code_mostly_survives(capsys: pytest.CaptureFixture[str]) -> None:
    changed = [line for line in ORDINARY if scrub_text(line).text != line]
    rate = len(changed) / len(ORDINARY)
    with capsys.disabled():
        print(
            f"\nscrubber false positives: {len(changed)} of {len(ORDINARY)} ordinary lines "
            f"changed ({rate:.1%})"
        )
        for line in changed:
            print(f"  changed: {line}")
    assert rate <= 0.05


@pytest.mark.parametrize(
    ("token", "random"),
    [
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", True),
        ("Hq3Lr8Zp2Wx7Nt5Kv9Ms4Bd", True),
        ("3f786850e387550fdab836ed7e6dc881de23001b", False),  # hex: a git hash
        ("123e4567-e89b-12d3-a456-426614174000", False),  # a UUID
        ("TokenRefreshHandlerFactoryV2", False),  # an identifier
        ("test_refresh_token_is_rotated_after_expiry", False),
        ("aGVsbG8gd29y", False),  # too short to tell
    ],
)
def test_what_looks_random(token: str, random: bool) -> None:
    assert looks_random(token) is random
