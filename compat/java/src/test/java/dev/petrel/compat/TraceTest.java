package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

/**
 * Message trace with the Java clients' enableMsgTrace: the producer's Pub record and the
 * consumer's SubBefore/SubAfter records reach RMQ_SYS_TRACE_TOPIC, are found by the traced
 * message's id, and Apache's mqadmin queryMsgTraceById prints them (and, against Petrel with
 * -Dpetrel.bin, petrel admin queryMsgTraceById too).
 */
class TraceTest extends CompatBase {
    static final String TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC";

    /** Record types in the trace topic that name {@code msgId}. */
    static Set<String> traceTypes(String msgId) {
        Set<String> types = new HashSet<>();
        try {
            List<MessageExt> found = Env.admin().queryMessage(TRACE_TOPIC, msgId, 64, 0, Long.MAX_VALUE).getMessageList();
            for (MessageExt m : found) {
                for (String record : new String(m.getBody(), StandardCharsets.UTF_8).split(String.valueOf((char) 2))) {
                    String[] f = record.split(String.valueOf((char) 1));
                    if (f.length > 1 && List.of(f).contains(msgId)) types.add(f[0]);
                }
            }
        } catch (Exception e) {
            // not indexed yet
        }
        return types;
    }

    /** The trace messages found by {@code msgId}, their keys and records, for a failure message. */
    static String traceDump(String msgId) {
        StringBuilder sb = new StringBuilder();
        try {
            for (MessageExt m : Env.admin().queryMessage(TRACE_TOPIC, msgId, 64, 0, Long.MAX_VALUE).getMessageList()) {
                sb.append("[keys=").append(m.getKeys()).append(" body=")
                        .append(new String(m.getBody(), StandardCharsets.UTF_8).replace((char) 1, '|').replace((char) 2, '#'))
                        .append("] ");
            }
        } catch (Exception e) {
            sb.append(e);
        }
        return sb.toString();
    }

    @Test
    void enableMsgTraceWritesPubAndSubRecordsThatQueryMsgTraceByIdPrints() throws Exception {
        String topic = Env.name("trace");
        String pg = Env.name("trpg");
        String cg = Env.name("trcg");
        Env.createTopic(topic, 2);

        DefaultMQProducer producer = new DefaultMQProducer(pg, true, null); // (group, enableMsgTrace, customizedTraceTopic): in 4.9 and 5.x
        producer.setNamesrvAddr(Env.NAMESRV);
        producer.setInstanceName(pg);
        producer.setSendMsgTimeout(10_000);
        started(producer);

        List<String> consumed = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(cg, true, null);
        consumer.setNamesrvAddr(Env.NAMESRV);
        consumer.setInstanceName(cg);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> consumed.add(m.getMsgId()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        started(consumer);

        SendResult sent = producer.send(new Message(topic, "TagT", "trace-key", utf8("traced")));
        assertEquals(SendStatus.SEND_OK, sent.getSendStatus());
        String msgId = sent.getMsgId();
        Env.await(() -> consumed.contains(msgId), 30_000, "traced message consumed");
        long deadline = System.currentTimeMillis() + 30_000;
        Set<String> types = traceTypes(msgId);
        while (!types.containsAll(Set.of("Pub", "SubBefore", "SubAfter"))) {
            assertTrue(System.currentTimeMillis() < deadline,
                    "Pub, SubBefore and SubAfter records of " + msgId + "; found " + types + ": " + traceDump(msgId));
            Thread.sleep(200);
            types = traceTypes(msgId);
        }
        note("trace record types: " + traceTypes(msgId));

        MqAdminTest.prepareHome();
        MqAdminTest.Run r = MqAdminTest.mqadmin("queryMsgTraceById", "queryMsgTraceById", "-i", msgId);
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("Pub") && l.contains(pg)), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("Sub") && l.contains(cg)), r.out());

        String petrel = System.getProperty("petrel.bin", "");
        if (!petrel.isEmpty()) {
            Process p = new ProcessBuilder(petrel, "admin", "-n", Env.NAMESRV, "queryMsgTraceById", "-i", msgId)
                    .redirectErrorStream(true).start();
            assertTrue(p.waitFor(40, TimeUnit.SECONDS), "petrel admin did not finish");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.lines().anyMatch(l -> l.startsWith("Pub ") && l.contains(pg)), out);
            assertTrue(out.lines().anyMatch(l -> l.startsWith("Sub ") && l.contains(cg)), out);
            assertTrue(out.contains("consumed by consumer group " + cg), out);
            note("petrel admin queryMsgTraceById: ok");
        }
    }
}
