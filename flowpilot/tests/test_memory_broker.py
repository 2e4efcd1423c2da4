"""The embedded broker (flowpilot/memory_broker.py): a waiting consumer wakes for a publish, not the poll."""

from __future__ import annotations

import threading

from kombu import Connection, Exchange, Queue

from flowpilot import idle

QUEUE = Queue("flowpilot-test-wake", Exchange("flowpilot-test-wake"), routing_key="flowpilot-test-wake")


def test_a_waiting_consumer_gets_a_message_at_once_not_at_its_next_poll():
    # A poll of an hour and a drain of ten minutes: only the wake-up can deliver within the test's wait.
    options = {"polling_interval": 3600.0}
    with Connection("memory://", transport="flowpilot.memory_broker:Transport", transport_options=options) as consumer_conn, \
            Connection("memory://", transport="flowpilot.memory_broker:Transport", transport_options=options) as producer_conn:
        received = []
        got = threading.Event()

        def on_message(body, message):
            received.append(body)
            message.ack()
            got.set()

        with consumer_conn.Consumer(QUEUE, callbacks=[on_message], accept=["json"]):
            thread = threading.Thread(target=lambda: consumer_conn.drain_events(timeout=600), daemon=True)
            thread.start()
            assert not got.wait(0.2)  # nothing queued: it waits
            before = idle.published()
            producer_conn.Producer().publish({"n": 1}, exchange=QUEUE.exchange, routing_key=QUEUE.routing_key,
                                             declare=[QUEUE], serializer="json")
            assert got.wait(10), "the consumer slept through the publish"
            thread.join(10)
        assert received == [{"n": 1}]
        assert idle.published() == before + 1  # a step queue's message: the sweeper's cadence comes back
