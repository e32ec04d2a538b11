package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.Test;

/** DefaultLitePullConsumer: subscribe + poll + commit; assign + seek. */
class LitePullTest extends CompatBase {

    private static List<MessageExt> pollUntil(DefaultLitePullConsumer c, int n, long timeoutMs) {
        List<MessageExt> out = new ArrayList<>();
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (out.size() < n && System.currentTimeMillis() < deadline) out.addAll(c.poll(500));
        return out;
    }

    @Test
    void subscribePollCommitThenResumeFromCommitted() throws Exception {
        String topic = Env.name("lite");
        String group = Env.name("lg");
        Env.createTopic(topic, 4);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        for (int i = 0; i < 20; i++) p.send(new Message(topic, "L", utf8("first-" + i)));

        DefaultLitePullConsumer c1 = Env.litePull(group);
        c1.setAutoCommit(false);
        c1.subscribe(topic, "*");
        started(c1);
        List<MessageExt> got = pollUntil(c1, 20, 20_000);
        Set<String> bodies = new HashSet<>();
        got.forEach(m -> bodies.add(str(m.getBody())));
        assertEquals(20, bodies.size(), "first poll round");
        c1.commitSync();
        c1.shutdown(); // persists the committed offsets at the broker

        for (int i = 0; i < 5; i++) p.send(new Message(topic, "L", utf8("second-" + i)));
        DefaultLitePullConsumer c2 = Env.litePull(group);
        c2.subscribe(topic, "*");
        started(c2);
        List<MessageExt> more = pollUntil(c2, 5, 20_000);
        Thread.sleep(1000);
        more.addAll(c2.poll(500));
        Set<String> second = new HashSet<>();
        more.forEach(m -> second.add(str(m.getBody())));
        assertEquals(Set.of("second-0", "second-1", "second-2", "second-3", "second-4"), second,
                "a restarted consumer resumes after the committed offsets");
        assertEquals(5, more.size());
    }

    @Test
    void assignAndSeek() throws Exception {
        String topic = Env.name("assign");
        Env.createTopic(topic, 2);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        for (int i = 0; i < 20; i++) {
            int q = i % 2;
            p.send(new Message(topic, "A", utf8(q + ":" + i)), (mqs, msg, arg) -> mqs.get((Integer) arg), q);
        }
        DefaultLitePullConsumer c = Env.litePull(Env.name("ag"));
        c.setAutoCommit(false);
        started(c);
        Collection<MessageQueue> mqs = c.fetchMessageQueues(topic);
        assertEquals(2, mqs.size());
        MessageQueue q0 = null;
        for (MessageQueue mq : mqs) if (mq.getQueueId() == 0) q0 = mq;
        c.assign(List.of(q0));
        c.seek(q0, 5);
        List<MessageExt> got = pollUntil(c, 5, 15_000);
        assertTrue(!got.isEmpty(), "poll after seek");
        assertEquals(5, got.get(0).getQueueOffset(), "first offset after seek(5)");
        for (MessageExt m : got) assertEquals(0, m.getQueueId(), "only the assigned queue");
        List<MessageExt> rest = pollUntil(c, 5 - got.size(), 5_000);
        got.addAll(rest);
        assertEquals(5, got.size(), "offsets 5..9 of queue 0");
        assertEquals(9, got.get(got.size() - 1).getQueueOffset());

        c.seekToBegin(q0);
        List<MessageExt> again = pollUntil(c, 10, 15_000);
        assertEquals(0, again.get(0).getQueueOffset(), "seekToBegin");
        assertEquals(10, again.size());
        assertEquals("0:0", str(again.get(0).getBody()));
    }
}
