"""The official RocketMQ 5.x Python client (rocketmq-python-client, gRPC) against a real
`petrel serve` (started by conftest.py): a producer sends 10,000 messages and a SimpleConsumer
receives and acks each exactly once; a message not acked comes back after its invisible time;
FIFO message groups keep their order; a PushConsumer consumes what is sent; a broker killed
with SIGKILL and restarted in the middle loses no un-acked message. Run by
scripts/python-compat.sh.
"""

import subprocess
import threading
import time
import uuid

from rocketmq import (ClientConfiguration, ConsumeResult, Credentials, FilterExpression,
                      Message, MessageListener, Producer, PushConsumer, SimpleConsumer)

from conftest import PETREL, SERVER

ENDPOINTS = SERVER.grpc
NAMESRV = SERVER.namesrv
MANY = 10_000


def name(base):
    return f"{base}_{uuid.uuid4().hex[:8]}"


def admin(*args):
    subprocess.run([PETREL, "admin", *args, "-n", NAMESRV, "-c", "DefaultCluster"],
                   check=True, stdout=subprocess.DEVNULL)


def topic(base, message_type="NORMAL"):
    t = name(base)
    admin("updateTopic", "-t", t, "-r", "4", "-w", "4", "-a", f"+message.type={message_type}")
    return t


def group(base, orderly=False):
    g = name(base)
    admin("updateSubGroup", "-g", g, "-o", "true" if orderly else "false")
    return g


def config():
    return ClientConfiguration(ENDPOINTS, Credentials(), request_timeout=10)


def started(client):
    client.startup()
    return client


def message(t, body, tag="TagPy", group_name=None):
    m = Message()
    m.topic = t
    m.body = body.encode()
    m.tag = tag
    if group_name:
        m.message_group = group_name
    return m


def receive_all(consumer, want, invisible_s, timeout_s, ack=True):
    got = []
    deadline = time.time() + timeout_s
    while len(got) < want and time.time() < deadline:
        for m in consumer.receive(32, invisible_s):
            got.append(m)
            if ack:
                consumer.ack(m)
    return got


def test_ten_thousand_messages_are_received_and_acked_once():
    t, g = topic("py_many"), group("py_many_g")
    producer = started(Producer(config(), (t,)))
    consumer = started(SimpleConsumer(config(), g, {t: FilterExpression()}, await_duration=5))
    try:
        started_at = time.time()
        futures = []
        ids = set()
        for i in range(MANY):
            futures.append(producer.send_async(message(t, f"py-{i}")))
            if len(futures) >= 256:
                ids.update(f.result(timeout=30).message_id for f in futures)
                futures = []
        ids.update(f.result(timeout=30).message_id for f in futures)
        sent_s = time.time() - started_at
        assert len(ids) == MANY

        started_at = time.time()
        got = receive_all(consumer, MANY, 60, 240)
        received_s = time.time() - started_at
        received_ids = [m.message_id for m in got]
        assert len(received_ids) == len(set(received_ids)), "a message was delivered twice"
        assert set(received_ids) == ids
        assert all(m.delivery_attempt == 1 for m in got)
        # Nothing comes back after its ack.
        assert consumer.receive(32, 60) == []
        print(f"{MANY} messages: send_async {sent_s:.1f} s, receive+ack {received_s:.1f} s")
    finally:
        consumer.shutdown()
        producer.shutdown()


def test_an_unacked_message_comes_back_after_its_invisible_time():
    t, g = topic("py_back"), group("py_back_g")
    producer = started(Producer(config(), (t,)))
    consumer = started(SimpleConsumer(config(), g, {t: FilterExpression()}, await_duration=3))
    try:
        receipt = producer.send(message(t, "come back"))
        first = receive_all(consumer, 1, 2, 20, ack=False)
        assert [m.message_id for m in first] == [receipt.message_id]
        at = time.time()
        again = receive_all(consumer, 1, 30, 20, ack=False)
        assert [m.message_id for m in again] == [receipt.message_id]
        assert again[0].delivery_attempt == 2
        assert time.time() - at >= 1.0
        consumer.ack(again[0])
        assert consumer.receive(1, 30) == []
    finally:
        consumer.shutdown()
        producer.shutdown()


def test_fifo_message_groups_keep_their_order():
    t, g = topic("py_fifo", "FIFO"), group("py_fifo_g", orderly=True)
    producer = started(Producer(config(), (t,)))
    consumer = started(SimpleConsumer(config(), g, {t: FilterExpression()}, await_duration=3))
    try:
        n = 60
        for i in range(n):
            producer.send(message(t, f"f-{i}", group_name=f"g{i % 3}"))
        got = receive_all(consumer, n, 30, 60)
        assert len(got) == n
        by_group = {}
        for m in got:
            by_group.setdefault(m.message_group, []).append(int(m.body.decode()[2:]))
        assert len(by_group) == 3
        for seq in by_group.values():
            assert seq == sorted(seq), f"out of order: {seq}"
    finally:
        consumer.shutdown()
        producer.shutdown()


class Counting(MessageListener):
    def __init__(self):
        self.lock = threading.Lock()
        self.bodies = {}

    def consume(self, message):
        with self.lock:
            body = message.body.decode()
            self.bodies[body] = self.bodies.get(body, 0) + 1
        return ConsumeResult.SUCCESS


def test_a_push_consumer_consumes_everything():
    t, g = topic("py_push"), group("py_push_g")
    listener = Counting()
    consumer = started(PushConsumer(config(), g, listener, {t: FilterExpression()}))
    producer = started(Producer(config(), (t,)))
    try:
        n = 300
        for i in range(n):
            producer.send(message(t, f"p-{i}"))
        deadline = time.time() + 60
        while time.time() < deadline and len(listener.bodies) < n:
            time.sleep(0.1)
        time.sleep(1)
        assert len(listener.bodies) == n
        assert all(c == 1 for c in listener.bodies.values())
    finally:
        producer.shutdown()
        consumer.shutdown()


def test_a_broker_killed_in_the_middle_loses_no_unacked_message():
    t, g = topic("py_kill"), group("py_kill_g")
    producer = started(Producer(config(), (t,)))
    consumer = started(SimpleConsumer(config(), g, {t: FilterExpression()}, await_duration=3))
    try:
        ids = {producer.send(message(t, f"k-{i}")).message_id for i in range(200)}
        got = receive_all(consumer, 200, 5, 60, ack=False)
        assert {m.message_id for m in got} == ids
        acked = got[:120]
        for m in acked:
            consumer.ack(m)
        unacked = {m.message_id for m in got[120:]}
        time.sleep(1.0)  # the broker saves its POP state every flushConsumerOffsetInterval (200 ms here)
        SERVER.kill9_and_restart()
        # The clients reconnect on their own; what was not acked comes back, nothing acked does.
        back = receive_all(consumer, len(unacked), 60, 90)
        back_ids = {m.message_id for m in back}
        assert back_ids == unacked
        assert consumer.receive(32, 60) == []
        # Sending goes on after the restart.
        after = producer.send(message(t, "after"))
        assert [m.message_id for m in receive_all(consumer, 1, 60, 30)] == [after.message_id]
    finally:
        consumer.shutdown()
        producer.shutdown()
