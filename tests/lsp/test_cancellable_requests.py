from __future__ import annotations

from pattern_memory.lsp.server import CancellableRequests


def test_a_cancel_that_arrives_before_the_handler_registers_is_kept() -> None:
    requests = CancellableRequests()
    requests.cancel(7)  # the client cancels while pygls has not started the command's task
    assert requests.register(7).is_set()
    assert not requests.register(8).is_set()
    requests.discard(7)
    assert not requests.register(7).is_set()  # remembered once, not forever


def test_cancel_while_running_sets_the_event() -> None:
    requests = CancellableRequests()
    event = requests.register("a")
    requests.cancel("a")
    assert event.is_set() and requests.event("a") is event


def test_early_cancels_are_bounded() -> None:
    requests = CancellableRequests()
    for msg_id in range(CancellableRequests.EARLY_CANCELS + 10):
        requests.cancel(msg_id)
    assert not requests.register(0).is_set()  # the oldest were forgotten
    assert requests.register(CancellableRequests.EARLY_CANCELS + 9).is_set()
