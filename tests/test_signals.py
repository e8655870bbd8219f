from __future__ import annotations

import os
import signal

import pytest

from pattern_memory.signals import hold_interrupts, terminate_as_interrupt


def test_a_held_interrupt_is_delivered_where_it_is_released() -> None:
    reached_cleanup = False
    release = hold_interrupts()
    os.kill(os.getpid(), signal.SIGINT)  # recorded, not acted on
    for _ in range(1000):
        pass
    with pytest.raises(KeyboardInterrupt):
        try:
            release()
            for _ in range(1000):  # the handler runs at the next bytecode boundary
                pass
        finally:
            reached_cleanup = True
    assert reached_cleanup


def test_sigterm_unwinds_like_ctrl_c_within_the_block() -> None:
    with pytest.raises(KeyboardInterrupt), terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            pass
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_handlers_are_restored_when_nothing_was_held() -> None:
    before = signal.getsignal(signal.SIGINT)
    hold_interrupts()()
    assert signal.getsignal(signal.SIGINT) is before
