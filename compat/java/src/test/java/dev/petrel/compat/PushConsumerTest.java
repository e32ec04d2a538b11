package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.Test;

/** DefaultMQPushConsumer: clustering, broadcasting, orderly, RECONSUME_LATER -> %RETRY% -> %DLQ%. */
class PushConsumerTest extends CompatBase {

    private DefaultMQPushConsumer collecting(String group, String topic, List<MessageExt> sink) throws Exception {
        DefaultMQPushConsumer c = Env.pushConsumer(group);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            sink.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        return c;
    }

    private static Set<String> bodies(List<MessageExt> msgs) {
        Set<String> s = new HashSet<>();
        for (MessageExt m : msgs) s.add(str(m.getBody()));
        return s;
    }

    @Test
    void clusteringSplitsQueuesBetweenTwoConsumers() throws Exception {
        String topic = Env.name("cluster");
        String group = Env.name("cg");
        Env.createTopic(topic, 4);
        List<MessageExt> a = new CopyOnWriteArrayList<>();
        List<MessageExt> b = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer ca = started(collecting(group, topic, a));
        DefaultMQPushConsumer cb = started(collecting(group, topic, b));
        Env.await(() -> {
            Set<MessageQueue> qa = Env.assigned(ca, topic), qb = Env.assigned(cb, topic);
            return qa.size() == 2 && qb.size() == 2 && Collections.disjoint(qa, qb);
        }, 25_000, "two consumers holding 2 queues each");
        Set<MessageQueue> qa = new HashSet<>(Env.assigned(ca, topic));
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            p.send(new Message(topic, "C", utf8("c-" + i)));
            sent.add("c-" + i);
        }
        Env.await(() -> a.size() + b.size() >= 40, 20_000, "40 messages across the group");
        Thread.sleep(500);
        Set<String> all = bodies(a);
        all.addAll(bodies(b));
        assertEquals(sent, all);
        assertEquals(40, a.size() + b.size(), "no message delivered twice");
        for (MessageExt m : a) assertTrue(qa.contains(new MessageQueue(topic, m.getBrokerName(), m.getQueueId())), "a got a queue it does not hold");
        for (MessageExt m : b) assertTrue(!qa.contains(new MessageQueue(topic, m.getBrokerName(), m.getQueueId())), "b got a's queue");
        assertEquals(20, a.size(), "round-robin sends: 2 queues of 4 = half");
    }

    @Test
    void broadcastingDeliversEverythingToEachConsumer() throws Exception {
        String topic = Env.name("bcast");
        String group = Env.name("bg");
        Env.createTopic(topic, 4);
        List<MessageExt> a = new CopyOnWriteArrayList<>();
        List<MessageExt> b = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer ca = collecting(group, topic, a);
        DefaultMQPushConsumer cb = collecting(group, topic, b);
        Line.broadcasting(ca);
        Line.broadcasting(cb);
        started(ca);
        started(cb);
        Env.await(() -> Env.assigned(ca, topic).size() == 4 && Env.assigned(cb, topic).size() == 4, 25_000, "both consumers on all 4 queues");
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        for (int i = 0; i < 20; i++) p.send(new Message(topic, "B", utf8("b-" + i)));
        Env.await(() -> a.size() >= 20 && b.size() >= 20, 20_000, "20 messages at each consumer");
        Thread.sleep(500);
        assertEquals(20, a.size());
        assertEquals(20, b.size());
        assertEquals(bodies(a), bodies(b));
    }

    @Test
    void orderlyKeepsPerKeyOrder() throws Exception {
        String topic = Env.name("orderly");
        String group = Env.name("og");
        Env.createTopic(topic, 4);
        Map<Integer, List<Integer>> seen = new ConcurrentHashMap<>();
        List<String> threadsPerQueue = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer c = Env.pushConsumer(group);
        c.subscribe(topic, "*");
        c.setConsumeThreadMin(4);
        c.setConsumeThreadMax(4);
        c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String[] kv = str(m.getBody()).split(":");
                seen.computeIfAbsent(Integer.parseInt(kv[0]), k -> new CopyOnWriteArrayList<>()).add(Integer.parseInt(kv[1]));
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        started(c);
        Env.await(() -> Env.assigned(c, topic).size() == 4, 20_000, "rebalance");
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        int keys = 4, perKey = 25;
        for (int i = 0; i < keys * perKey; i++) {
            int key = i % keys;
            SendResult r = p.send(new Message(topic, "O", utf8(key + ":" + i)),
                    (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), key);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
        }
        Env.await(() -> seen.values().stream().mapToInt(List::size).sum() >= keys * perKey, 25_000, "all ordered messages");
        for (int k = 0; k < keys; k++) {
            List<Integer> got = seen.get(k);
            assertNotNull(got, "key " + k);
            List<Integer> sorted = new ArrayList<>(got);
            Collections.sort(sorted);
            assertEquals(sorted, got, "order of key " + k);
            assertEquals(perKey, got.size(), "count of key " + k);
        }
    }

    @Test
    void reconsumeLaterRetriesThenDeadLetters() throws Exception {
        String topic = Env.name("retry");
        String group = Env.name("rg");
        Env.createTopic(topic, 2);
        List<long[]> deliveries = new CopyOnWriteArrayList<>(); // {time, reconsumeTimes}
        List<MessageExt> delivered = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer c = Env.pushConsumer(group);
        c.subscribe(topic, "*");
        c.setMaxReconsumeTimes(1);
        // the %RETRY% topic is made by the broker at the first heartbeat, after the client
        // looked routes up; ask the name server every second instead of every 30 s
        c.setPollNameServerInterval(1000);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                deliveries.add(new long[] {System.currentTimeMillis(), m.getReconsumeTimes()});
                delivered.add(m);
            }
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        });
        started(c);
        Env.await(() -> Env.assigned(c, topic).size() >= 2, 20_000, "rebalance");
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        Message msg = new Message(topic, "R", "retry-key", utf8("retry-me"));
        msg.putUserProperty("color", "blue");
        long sentAt = System.currentTimeMillis();
        SendResult sr = p.send(msg);
        long firstRetryMs = Env.delayLevelMs(3);
        Env.await(() -> deliveries.size() >= 2, firstRetryMs + 20_000, "the retry delivery");
        // maxReconsumeTimes=1: the original plus one retry, then %DLQ%
        String dlq = "%DLQ%" + group;
        List<MessageExt> dead = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 15_000;
        while (dead.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(500);
            try {
                dead = Env.readAll(dlq, 1, 1_000);
            } catch (Exception e) {
                // the DLQ topic is created on the first dead letter
            }
        }
        Thread.sleep(1000);
        long gap = deliveries.get(1)[0] - deliveries.get(0)[0];
        note("deliveries=" + deliveries.size() + " reconsumeTimes=" + deliveries.get(0)[1] + "," + deliveries.get(1)[1]
                + " retryGapMs=" + gap + " (level 3 = " + firstRetryMs + " ms) firstDeliveryAfterMs=" + (deliveries.get(0)[0] - sentAt));
        assertEquals(2, deliveries.size(), "original + 1 retry, then no more");
        assertEquals(0, deliveries.get(0)[1]);
        assertEquals(1, deliveries.get(1)[1]);
        MessageExt retried = delivered.get(1);
        assertEquals(topic, retried.getTopic(), "retried message carries the original topic");
        assertEquals(topic, retried.getProperty(MessageConst.PROPERTY_RETRY_TOPIC), "RETRY_TOPIC names the original topic");
        assertEquals(sr.getMsgId(), retried.getMsgId(), "retry keeps the message id");
        assertEquals("blue", retried.getUserProperty("color"));
        assertTrue(gap >= firstRetryMs - 500, "retry waited delay level 3: gap " + gap);
        assertEquals(1, dead.size(), "one message in " + dlq);
        MessageExt d = dead.get(0);
        assertEquals("retry-me", str(d.getBody()));
        assertEquals(dlq, d.getTopic());
        assertEquals("blue", d.getUserProperty("color"));
        assertEquals("retry-key", d.getKeys());
        note("DLQ message: reconsumeTimes=" + d.getReconsumeTimes() + " RETRY_TOPIC=" + d.getProperty(MessageConst.PROPERTY_RETRY_TOPIC)
                + " ORIGIN_MESSAGE_ID=" + d.getProperty(MessageConst.PROPERTY_ORIGIN_MESSAGE_ID) + " uniq=" + d.getMsgId().equals(sr.getMsgId()));
        assertEquals(sr.getMsgId(), d.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX), "DLQ keeps the unique id");
        // Apache's broker sets ORIGIN_MESSAGE_ID from the stored original (its offset msgId),
        // whatever originMsgId the CONSUMER_SEND_MSG_BACK (36) header carries
        assertEquals(sr.getOffsetMsgId(), d.getProperty(MessageConst.PROPERTY_ORIGIN_MESSAGE_ID),
                "ORIGIN_MESSAGE_ID is the offset msgId of the original message");
    }
}
