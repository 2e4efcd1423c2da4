"""The embedded mode's broker: kombu's in-memory transport, woken by new work instead of polling.

kombu's memory transport finds messages by polling its queues and sleeping `polling_interval`
between empty polls: a short interval keeps an idle server busy (5 ms: ~4% of a core doing
nothing), a long one delays every step by up to the interval. Messages on this transport only
travel between the threads of one process, so nothing can arrive that this process did not put
there: here the consumer waits on an Event that every publish sets (and every ack or reject, which
frees a prefetch slot for a message that is already waiting), so it wakes at once when there is
work and otherwise sleeps out the whole interval, which is only a safety net.

Used through CELERY_BROKER_TRANSPORT (flowpilot/settings.py) with the URL memory://.
"""

from __future__ import annotations

import socket
import threading
from queue import Empty
from time import monotonic

from kombu.transport import memory

from . import idle

# The sweeper's, the beat tick's and the alerts' queue: the scheduler's own sends are not new work.
CONTROL_QUEUE = "flowpilot.control"

# One for the process, like the memory transport's queues (a class attribute shared by every channel):
# the web's producers and the worker's consumer hold different connections over the same queues.
_work = threading.Event()


def wake() -> None:
    """Tell a waiting consumer to look at the queues again."""
    _work.set()


class Channel(memory.Channel):
    def _put(self, queue, message, **kwargs):
        super()._put(queue, message, **kwargs)
        wake()
        if queue != CONTROL_QUEUE:
            idle.work_arrived()  # the sweeper's cadence back to FLOWPILOT_SWEEP_INTERVAL

    def _put_fanout(self, exchange, message, routing_key=None, **kwargs):
        super()._put_fanout(exchange, message, routing_key, **kwargs)
        wake()

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple=multiple)
        wake()

    def basic_reject(self, delivery_tag, requeue=False):
        super().basic_reject(delivery_tag, requeue=requeue)
        wake()


class Transport(memory.Transport):
    Channel = Channel

    def drain_events(self, connection, timeout=None):
        """Deliver one message; wait (up to polling_interval at a time) for a wake-up while none is
        ready; socket.timeout once `timeout` has passed, as the memory transport does."""
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            # Cleared before looking: a publish after this point sets it again, so the wait below
            # cannot miss a message that the look did not find.
            _work.clear()
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                pass
            wait = self.polling_interval
            if deadline is not None:
                left = deadline - monotonic()
                if left <= 0:
                    raise socket.timeout()
                wait = left if wait is None else min(wait, left)
            _work.wait(wait)
