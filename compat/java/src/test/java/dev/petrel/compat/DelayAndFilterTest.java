package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Delay levels, 5.x timer messages, tag and SQL92 filters. */
class DelayAndFilterTest extends CompatBase {

    private DefaultMQPushConsumer consumer(String topic, Object selector, Map<String, Long> arrivals, List<MessageExt> got) throws Exception {
        DefaultMQPushConsumer c = Env.pushConsumer(Env.name("dg"));
        if (selector instanceof MessageSelector) c.subscribe(topic, (MessageSelector) selector);
        else c.subscribe(topic, (String) selector);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                arrivals.putIfAbsent(str(m.getBody()), System.currentTimeMillis());
                got.add(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        started(c);
        Env.await(() -> Env.assigned(c, topic).size() == 2, 20_000, "rebalance");
        return c;
    }

    @Test
    void delayLevelHoldsMessageForItsLevel() throws Exception {
        String topic = Env.name("delay");
        Env.createTopic(topic, 2);
        Map<String, Long> arrivals = new ConcurrentHashMap<>();
        List<MessageExt> got = new CopyOnWriteArrayList<>();
        consumer(topic, "*", arrivals, got);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        int level = 2;
        long want = Env.delayLevelMs(level);
        Message m = new Message(topic, "D", utf8("delayed"));
        m.setDelayTimeLevel(level);
        m.putUserProperty("p", "1");
        long t0 = System.currentTimeMillis();
        SendResult r = p.send(m);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus());
        p.send(new Message(topic, "D", utf8("now")));
        Env.await(() -> arrivals.containsKey("delayed"), want + 15_000, "the delayed message");
        long took = arrivals.get("delayed") - t0;
        note("level " + level + " (" + want + " ms) delivered after " + took + " ms; undelayed after " + (arrivals.get("now") - t0) + " ms");
        assertTrue(took >= want - 300, "delivered too early: " + took + " ms < " + want);
        assertTrue(took <= want + 5_000, "delivered late: " + took + " ms");
        MessageExt d = null;
        for (MessageExt x : got) if (str(x.getBody()).equals("delayed")) d = x;
        assertEquals(topic, d.getTopic());
        assertEquals("1", d.getUserProperty("p"));
        assertEquals(r.getMsgId(), d.getMsgId());
    }

    @Test
    void timerMessageDeliveredAtDeliverTime() throws Exception {
        Assumptions.assumeTrue(Line.FIVE, "setDeliverTimeMs is a 5.x client API");
        String topic = Env.name("timer");
        Env.createTopic(topic, 2);
        Map<String, Long> arrivals = new ConcurrentHashMap<>();
        List<MessageExt> got = new CopyOnWriteArrayList<>();
        consumer(topic, "*", arrivals, got);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        long t0 = System.currentTimeMillis();
        long at = t0 + 4_000;
        Message m = new Message(topic, "T", utf8("timer"));
        Line.setDeliverTimeMs(m, at);
        SendResult r = p.send(m);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus());
        Env.await(() -> arrivals.containsKey("timer"), 20_000, "the timer message");
        long early = at - arrivals.get("timer");
        note("timer message at +4000 ms delivered after " + (arrivals.get("timer") - t0) + " ms");
        assertTrue(early <= 300, "delivered " + early + " ms before its deliver time");
        assertTrue(arrivals.get("timer") - at <= 5_000, "delivered late");
        assertEquals(topic, got.get(0).getTopic());
    }

    @Test
    void tagFilterDeliversOnlyMatchingTags() throws Exception {
        String topic = Env.name("tags");
        Env.createTopic(topic, 2);
        Map<String, Long> arrivals = new ConcurrentHashMap<>();
        List<MessageExt> got = new CopyOnWriteArrayList<>();
        consumer(topic, "TagA || TagB", arrivals, got);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        for (int i = 0; i < 15; i++) {
            String tag = "Tag" + (char) ('A' + i % 3);
            p.send(new Message(topic, tag, utf8(tag + "-" + i)));
        }
        Env.await(() -> got.size() >= 10, 20_000, "10 messages tagged A or B");
        Thread.sleep(1500);
        assertEquals(10, got.size());
        for (MessageExt m : got) assertTrue(m.getTags().equals("TagA") || m.getTags().equals("TagB"), m.getTags());
    }

    @Test
    void sql92FilterDeliversOnlyMatchingProperties() throws Exception {
        String topic = Env.name("sql");
        Env.createTopic(topic, 2);
        Map<String, Long> arrivals = new ConcurrentHashMap<>();
        List<MessageExt> got = new CopyOnWriteArrayList<>();
        consumer(topic, MessageSelector.bySql("a BETWEEN 3 AND 6 AND color = 'red'"), arrivals, got);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        List<String> want = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            for (String color : new String[] {"red", "blue"}) {
                Message m = new Message(topic, "S", utf8(color + i));
                m.putUserProperty("a", Integer.toString(i));
                m.putUserProperty("color", color);
                p.send(m);
                if (i >= 3 && i <= 6 && color.equals("red")) want.add(color + i);
            }
        }
        Message noProps = new Message(topic, "S", utf8("no-props"));
        p.send(noProps);
        Env.await(() -> got.size() >= want.size(), 20_000, want.size() + " SQL matches");
        Thread.sleep(1500);
        Map<String, Integer> counts = new TreeMap<>();
        for (MessageExt m : got) counts.merge(str(m.getBody()), 1, Integer::sum);
        assertEquals(new TreeMap<>(Map.of("red3", 1, "red4", 1, "red5", 1, "red6", 1)), counts);
    }
}
