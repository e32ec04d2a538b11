package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.Test;

/** DefaultMQProducer: sync, async, oneway, batch, MessageQueueSelector, request-reply. */
class ProducerTest extends CompatBase {

    @Test
    void syncSendStoresBodyTagsKeysAndProperties() throws Exception {
        String topic = Env.name("sync");
        Env.createTopic(topic, 4);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        Map<String, SendResult> sent = new HashMap<>();
        for (int i = 0; i < 12; i++) {
            Message m = new Message(topic, "T" + (i % 3), "key-" + i, utf8("sync-" + i));
            m.putUserProperty("idx", Integer.toString(i));
            SendResult r = p.send(m);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send " + i);
            assertNotNull(r.getMsgId());
            assertNotNull(r.getOffsetMsgId());
            assertEquals(topic, r.getMessageQueue().getTopic());
            sent.put("sync-" + i, r);
        }
        List<MessageExt> got = Env.readAll(topic, 12, 15_000);
        assertEquals(12, got.size(), "messages read back");
        for (MessageExt m : got) {
            String body = str(m.getBody());
            SendResult r = sent.get(body);
            assertNotNull(r, "unexpected body " + body);
            int i = Integer.parseInt(body.substring(5));
            assertEquals("T" + (i % 3), m.getTags());
            assertEquals("key-" + i, m.getKeys());
            assertEquals(Integer.toString(i), m.getUserProperty("idx"));
            assertEquals(r.getMsgId(), m.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX));
            assertEquals(r.getMessageQueue().getQueueId(), m.getQueueId());
            assertEquals(r.getQueueOffset(), m.getQueueOffset());
            assertEquals(r.getOffsetMsgId(), Env.offsetMsgId(m), "offset msgId of " + body);
        }
        // round-robin over the 4 queues, offsets 0.. in each
        Set<Integer> queues = new HashSet<>();
        got.forEach(m -> queues.add(m.getQueueId()));
        assertEquals(4, queues.size(), "queues used");
    }

    @Test
    void asyncSendCallsBackForEveryMessage() throws Exception {
        String topic = Env.name("async");
        Env.createTopic(topic, 4);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        int n = 20;
        CountDownLatch done = new CountDownLatch(n);
        Map<String, Object> results = new ConcurrentHashMap<>();
        for (int i = 0; i < n; i++) {
            String body = "async-" + i;
            p.send(new Message(topic, "A", utf8(body)), new SendCallback() {
                @Override public void onSuccess(SendResult r) { results.put(body, r); done.countDown(); }
                @Override public void onException(Throwable e) { results.put(body, e); done.countDown(); }
            });
        }
        assertTrue(done.await(20, TimeUnit.SECONDS), "callbacks");
        for (Object r : results.values()) {
            assertTrue(r instanceof SendResult, "async send failed: " + r);
            assertEquals(SendStatus.SEND_OK, ((SendResult) r).getSendStatus());
        }
        List<MessageExt> got = Env.readAll(topic, n, 15_000);
        Set<String> bodies = new HashSet<>();
        got.forEach(m -> bodies.add(str(m.getBody())));
        assertEquals(results.keySet(), bodies);
    }

    @Test
    void onewayMessagesArrive() throws Exception {
        String topic = Env.name("oneway");
        Env.createTopic(topic, 4);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        for (int i = 0; i < 10; i++) p.sendOneway(new Message(topic, "O", utf8("oneway-" + i)));
        List<MessageExt> got = Env.readAll(topic, 10, 15_000);
        assertEquals(10, got.size(), "read back; broker holds " + Env.storedCount(topic));
    }

    @Test
    void batchLandsInOneQueueWithConsecutiveOffsets() throws Exception {
        String topic = Env.name("batch");
        Env.createTopic(topic, 4);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Message m = new Message(topic, "B", "bk-" + i, utf8("batch-" + i));
            m.putUserProperty("idx", Integer.toString(i));
            batch.add(m);
        }
        SendResult r = p.send(batch);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus());
        assertEquals(10, r.getMsgId().split(",").length, "batch msgIds: " + r.getMsgId());
        note("batch SendResult queueOffset=" + r.getQueueOffset() + " msgIds=" + r.getMsgId().split(",").length
                + " offsetMsgIds=" + (r.getOffsetMsgId() == null ? "null" : r.getOffsetMsgId().split(",").length));
        List<MessageExt> got = Env.readAll(topic, 10, 15_000);
        assertEquals(10, got.size());
        for (int i = 0; i < 10; i++) {
            MessageExt m = got.get(i);
            assertEquals(r.getMessageQueue().getQueueId(), m.getQueueId());
            assertEquals(r.getQueueOffset() + i, m.getQueueOffset());
            assertEquals("batch-" + i, str(m.getBody()));
            assertEquals("bk-" + i, m.getKeys());
            assertEquals(Integer.toString(i), m.getUserProperty("idx"));
        }
    }

    @Test
    void selectorSendsEachKeyToItsQueueInOrder() throws Exception {
        String topic = Env.name("selector");
        Env.createTopic(topic, 4);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        for (int i = 0; i < 30; i++) {
            int key = i % 3;
            SendResult r = p.send(new Message(topic, "S", utf8(key + ":" + i)),
                    (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), key);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            assertEquals(key, r.getMessageQueue().getQueueId(), "queue chosen by the selector");
        }
        List<MessageExt> got = Env.readAll(topic, 30, 15_000);
        assertEquals(30, got.size());
        Map<Integer, Integer> last = new HashMap<>();
        for (MessageExt m : got) {
            String[] kv = str(m.getBody()).split(":");
            int key = Integer.parseInt(kv[0]);
            int seq = Integer.parseInt(kv[1]);
            assertEquals(key, m.getQueueId());
            assertTrue(seq > last.getOrDefault(key, -1), "order within queue " + key);
            last.put(key, seq);
        }
    }

    @Test
    void requestReplyRoundTrip() throws Exception {
        String topic = Env.name("request");
        Env.createTopic(topic, 4);
        DefaultMQProducer replyProducer = started(Env.producer(Env.name("replypg")));
        DefaultMQPushConsumer replier = Env.pushConsumer(Env.name("replier"));
        replier.subscribe(topic, "*");
        replier.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                try {
                    Message reply = MessageUtil.createReplyMessage(m, utf8("re:" + str(m.getBody())));
                    replyProducer.send(reply, 10_000);
                } catch (Exception e) {
                    Env.note(testName, "reply failed: " + e);
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        started(replier);
        Env.await(() -> Env.assigned(replier, topic).size() == 4, 20_000, "replier rebalance");
        DefaultMQProducer requester = started(Env.producer(Env.name("reqpg")));
        for (int i = 0; i < 3; i++) {
            long t0 = System.currentTimeMillis();
            Message reply = requester.request(new Message(topic, "R", utf8("ping-" + i)), 10_000);
            assertNotNull(reply, "reply " + i);
            assertEquals("re:ping-" + i, str(reply.getBody()));
            assertEquals(Env.clusterName() + "_REPLY_TOPIC", reply.getTopic());
            assertNotNull(reply.getProperty(MessageConst.PROPERTY_CORRELATION_ID));
            note("reply " + i + " in " + (System.currentTimeMillis() - t0) + " ms");
        }
    }
}
