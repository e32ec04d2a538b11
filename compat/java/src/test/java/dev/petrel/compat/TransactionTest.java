package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

/** TransactionMQProducer: UNKNOW then check-back commits; rollback (at once and on check-back). */
class TransactionTest extends CompatBase {

    private TransactionMQProducer txProducer(LocalTransactionState first, LocalTransactionState onCheck, AtomicInteger checks) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(Env.name("txg"));
        p.setNamesrvAddr(Env.NAMESRV);
        p.setInstanceName(Env.name("txi"));
        p.setSendMsgTimeout(10_000);
        p.setTransactionListener(new TransactionListener() {
            @Override public LocalTransactionState executeLocalTransaction(Message msg, Object arg) { return first; }
            @Override public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                checks.incrementAndGet();
                return onCheck;
            }
        });
        started(p);
        return p;
    }

    private List<MessageExt> consume(String topic) throws Exception {
        List<MessageExt> got = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer c = Env.pushConsumer(Env.name("txc"));
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            got.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        started(c);
        return got;
    }

    @Test
    void unknownThenCheckBackCommits() throws Exception {
        String topic = Env.name("txcommit");
        Env.createTopic(topic, 2);
        List<MessageExt> got = consume(topic);
        AtomicInteger checks = new AtomicInteger();
        TransactionMQProducer p = txProducer(LocalTransactionState.UNKNOW, LocalTransactionState.COMMIT_MESSAGE, checks);
        long t0 = System.currentTimeMillis();
        Message m = new Message(topic, "TX", "tx-key", utf8("tx-commit"));
        m.putUserProperty("k", "v");
        TransactionSendResult r = p.sendMessageInTransaction(m, null);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus());
        assertEquals(LocalTransactionState.UNKNOW, r.getLocalTransactionState());
        Env.await(() -> !got.isEmpty(), 30_000, "the message committed by the check-back");
        long after = System.currentTimeMillis() - t0;
        Thread.sleep(500);
        note("check-backs=" + checks.get() + " delivered after " + after + " ms");
        assertTrue(checks.get() >= 1, "check-back called");
        assertEquals(1, got.size());
        MessageExt d = got.get(0);
        assertEquals("tx-commit", str(d.getBody()));
        assertEquals(topic, d.getTopic());
        assertEquals("v", d.getUserProperty("k"));
        assertEquals("tx-key", d.getKeys());
        assertEquals(r.getMsgId(), d.getMsgId(), "unique id kept");
    }

    @Test
    void rollbackAtOnceIsNeverDelivered() throws Exception {
        String topic = Env.name("txrollback");
        Env.createTopic(topic, 2);
        List<MessageExt> got = consume(topic);
        AtomicInteger checks = new AtomicInteger();
        TransactionMQProducer rb = txProducer(LocalTransactionState.ROLLBACK_MESSAGE, LocalTransactionState.ROLLBACK_MESSAGE, checks);
        TransactionSendResult r = rb.sendMessageInTransaction(new Message(topic, "TX", utf8("rolled-back")), null);
        assertEquals(LocalTransactionState.ROLLBACK_MESSAGE, r.getLocalTransactionState());
        AtomicInteger checks2 = new AtomicInteger();
        TransactionMQProducer ok = txProducer(LocalTransactionState.COMMIT_MESSAGE, LocalTransactionState.COMMIT_MESSAGE, checks2);
        ok.sendMessageInTransaction(new Message(topic, "TX", utf8("committed")), null);
        Env.await(() -> !got.isEmpty(), 20_000, "the committed message");
        Thread.sleep(3000);
        java.util.Set<String> bodies = new java.util.HashSet<>();
        got.forEach(x -> bodies.add(str(x.getBody())));
        note("deliveries=" + got.size() + " check-backs of resolved transactions=" + (checks.get() + checks2.get()));
        assertEquals(java.util.Set.of("committed"), bodies, "only the committed message");
    }

    @Test
    void unknownThenCheckBackRollsBack() throws Exception {
        String topic = Env.name("txcheckrb");
        Env.createTopic(topic, 2);
        List<MessageExt> got = consume(topic);
        AtomicInteger checks = new AtomicInteger();
        TransactionMQProducer p = txProducer(LocalTransactionState.UNKNOW, LocalTransactionState.ROLLBACK_MESSAGE, checks);
        p.sendMessageInTransaction(new Message(topic, "TX", utf8("check-rollback")), null);
        Env.await(() -> checks.get() >= 1, 30_000, "a check-back");
        Thread.sleep(4000);
        assertEquals(0, got.size(), "a rolled-back message is not delivered");
        note("check-backs (rollback answered at the first): " + checks.get());
    }
}
