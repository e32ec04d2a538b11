package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageRequestMode;
import org.junit.jupiter.api.Test;

/**
 * The 5.x remoting push consumer in POP mode: after `setConsumeMode -m POP` (the admin API
 * mqadmin uses) a consumer with clientRebalance=false is assigned the topic in POP mode and
 * consumes with POP_MESSAGE / ACK_MESSAGE / CHANGE_MESSAGE_INVISIBLETIME; a message whose
 * consumption fails comes back. Runs against Petrel and Apache alike.
 */
class RemotingPopTest extends CompatBase {
    @Test
    void pushConsumerInPopModeConsumesEverythingOnceAndAFailureAgain() throws Exception {
        String topic = Env.name("pop_remoting");
        String group = Env.name("pop_remoting_g");
        Env.createTopic(topic, 4);
        Line.createSubGroup(Env.admin(), Env.brokerAddr(), group, 16);
        Env.admin().setMessageRequestMode(Env.brokerAddr(), topic, group, MessageRequestMode.POP, 0, 5_000);

        int n = 1_000;
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        AtomicInteger popped = new AtomicInteger();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(Env.NAMESRV);
        consumer.setClientRebalance(false);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPopInvisibleTime(20_000);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                if (m.getProperty("POP_CK") != null) popped.incrementAndGet();
                int times = deliveries.computeIfAbsent(body, k -> new AtomicInteger()).incrementAndGet();
                if ("r-7".equals(body) && times == 1) return ConsumeConcurrentlyStatus.RECONSUME_LATER;
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.setConsumeMessageBatchMaxSize(1);
        consumer.start();
        DefaultMQProducer producer = new DefaultMQProducer(Env.name("pop_remoting_p"));
        producer.setNamesrvAddr(Env.NAMESRV);
        producer.start();
        try {
            for (int i = 0; i < n; i++) {
                producer.send(new Message(topic, "TagR", ("r-" + i).getBytes(StandardCharsets.UTF_8)));
            }
            long deadline = System.currentTimeMillis() + 120_000;
            while (System.currentTimeMillis() < deadline
                    && (deliveries.size() < n || deliveries.get("r-7") == null || deliveries.get("r-7").get() < 2)) {
                Thread.sleep(100);
            }
            assertEquals(n, deliveries.size(), "every message consumed");
            assertTrue(popped.get() >= n, "delivered by POP (POP_CK set): " + popped.get());
            assertEquals(2, deliveries.get("r-7").get(), "the failed message came again");
            Thread.sleep(2_000);
            int twice = 0;
            for (Map.Entry<String, AtomicInteger> e : deliveries.entrySet()) {
                if (!"r-7".equals(e.getKey()) && e.getValue().get() != 1) twice++;
            }
            assertEquals(0, twice, "messages consumed more than once");
            note(n + " messages consumed by a remoting push consumer in POP mode; r-7 again after RECONSUME_LATER");
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }
}
