// The migration test's Java side: writes a store with Apache RocketMQ, then checks what Petrel
// serves from it. Apache's own 5.x Java client (remoting) against whatever name server is given;
// run by scripts/migration-test.sh as a single-file program on compat/java's client classpath:
//
//   java -cp <client classpath> Migration.java write <namesrv> <manifest>
//   java -cp <client classpath> Migration.java read  <namesrv> <manifest> [--after-kill]
//
// `write` (against Apache) leaves, and lists in <manifest> (a properties file):
//   - mig_orders (4 queues): 20 messages consumed by group mig_group (offsets committed), then
//     20 more it has not consumed; keys k1-i / k2-i, tags TagA / TagB;
//   - mig_retry_topic: one message group mig_retry asked to reconsume later: it waits in
//     %RETRY%mig_retry;
//   - mig_delay: one message of delay level 1 (delivered by Apache) and one of level 4 (30 s,
//     still pending when Apache stops);
//   - mig_timer: a 5.x timer message due in 1 s (delivered by Apache) and one due in 45 s;
//   - mig_tx: transactions committed, rolled back, and one left unknown (a half message).
// `read` (against Petrel on the same store) checks that mig_group resumes where it stopped,
// lookups by key, unique id and offset id find the messages, the %RETRY% message, the pending
// delayed and timer messages are delivered once, and the half message is checked back and
// committed, while what Apache already delivered or rolled back never comes again.
// --after-kill (Apache was killed with SIGKILL): offsets Apache had not yet written may be
// replayed (at least once), so messages seen again are reported, not failures.
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.admin.ConsumeStats;
import org.apache.rocketmq.remoting.protocol.admin.OffsetWrapper;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

public class Migration {
    static final String ORDERS = "mig_orders";
    static final String GROUP = "mig_group";
    static final String RETRY_TOPIC = "mig_retry_topic";
    static final String RETRY_GROUP = "mig_retry";
    /** Body size of mig_orders messages (the fixture uses larger ones to span CommitLog segments). */
    static int bodyBytes = Integer.getInteger("migration.bodyBytes", 0);
    static final String DELAY = "mig_delay";
    static final String TIMER = "mig_timer";
    static final String TX = "mig_tx";
    static final String TX_GROUP = "mig_tx_producer";
    static final int QUEUES = 4;
    static final int BATCH = 20;
    /** Delay level 4 of the default messageDelayLevel: 30 s. */
    static final int PENDING_DELAY_LEVEL = 4;
    static final long PENDING_DELAY_MS = 30_000;
    static final long PENDING_TIMER_MS = 45_000;

    static String namesrv;
    static DefaultMQAdminExt admin;
    static final List<String> failures = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: Migration.java write|read <namesrv> <manifest> [--after-kill]");
            System.exit(2);
        }
        namesrv = args[1];
        Path manifest = Path.of(args[2]);
        boolean afterKill = args.length > 3 && args[3].equals("--after-kill");
        System.setProperty("rocketmq.client.logUseSlf4j", "false");
        admin = new DefaultMQAdminExt(10_000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("mig-admin-" + System.nanoTime());
        admin.start();
        int rc = 0;
        try {
            switch (args[0]) {
                case "write" -> write(manifest);
                case "read" -> read(manifest, afterKill);
                default -> throw new IllegalArgumentException(args[0]);
            }
            if (!failures.isEmpty()) {
                System.out.println("migration " + args[0] + ": " + failures.size() + " FAILED:");
                failures.forEach(f -> System.out.println("  - " + f));
                rc = 1;
            } else {
                System.out.println("migration " + args[0] + ": all checks passed");
            }
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            rc = 1;
        } finally {
            admin.shutdown();
        }
        System.exit(rc);
    }

    // ---------------------------------------------------------------- write (Apache)

    static void write(Path manifestPath) throws Exception {
        Properties m = new Properties();
        m.setProperty("bodyBytes", Integer.toString(bodyBytes));
        String broker = brokerAddr();
        for (String t : List.of(ORDERS, RETRY_TOPIC, DELAY, TIMER, TX)) {
            createTopic(broker, t, t.equals(ORDERS) ? QUEUES : 1);
        }

        DefaultMQProducer producer = new DefaultMQProducer("mig_producer");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("mig-producer");
        producer.setSendMsgTimeout(10_000);
        producer.start();

        // Batch 1, then consumed by mig_group.
        sendOrders(producer, m, 1);
        DefaultMQPushConsumer consumer = pushConsumer(GROUP);
        Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        consumer.subscribe(ORDERS, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(x -> seen.add(x.getKeys()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        await(() -> seen.size() >= BATCH, 60_000, "mig_group consuming batch 1");
        consumer.shutdown(); // persists its offsets at the broker
        await(() -> committed(GROUP, ORDERS) == BATCH, 30_000, "mig_group's offsets committed");
        for (int q = 0; q < QUEUES; q++) m.setProperty("committed." + q, Long.toString(committedOf(GROUP, ORDERS, q)));
        // Batch 2: never consumed while Apache runs.
        sendOrders(producer, m, 2);

        // A message mig_retry asks to reconsume later: it goes through SCHEDULE_TOPIC_XXXX
        // (level 3, 10 s) into %RETRY%mig_retry.
        SendResult r = producer.send(new Message(RETRY_TOPIC, "TagR", "r-1", utf8("retry-body")));
        m.setProperty("retry.msgId", r.getMsgId());
        DefaultMQPushConsumer retry = pushConsumer(RETRY_GROUP);
        AtomicInteger attempts = new AtomicInteger();
        retry.subscribe(RETRY_TOPIC, "*");
        retry.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            attempts.addAndGet(msgs.size());
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        });
        retry.start();
        await(() -> attempts.get() >= 1, 60_000, "mig_retry's first attempt");
        Thread.sleep(1_000); // the send-back is done before the listener's batch is acknowledged
        retry.shutdown();
        await(() -> maxOffset("%RETRY%" + RETRY_GROUP, 0) >= 1, 60_000, "the message in %RETRY%mig_retry");

        // Transactions: committed, rolled back, unknown (a half message left behind).
        TransactionMQProducer tx = txProducer(LocalTransactionState.UNKNOW);
        for (String k : List.of("tx-commit", "tx-rollback", "tx-pending")) {
            Message msg = new Message(TX, "TagT", k, utf8("body-" + k));
            msg.putUserProperty("outcome", k);
            SendResult s = tx.sendMessageInTransaction(msg, k);
            m.setProperty("tx." + k + ".msgId", s.getMsgId());
        }
        tx.shutdown();

        // Delayed and timer messages: one of each delivered by Apache, one pending when it stops.
        long now = System.currentTimeMillis();
        Message d1 = new Message(DELAY, "TagD", "d-1s", utf8("delay-1s"));
        d1.setDelayTimeLevel(1);
        producer.send(d1);
        Message t1 = new Message(TIMER, "TagT", "t-1s", utf8("timer-1s"));
        t1.setDeliverTimeMs(now + 1_000);
        producer.send(t1);
        await(() -> maxOffset(DELAY, 0) >= 1, 30_000, "level-1 message delivered by Apache");
        await(() -> maxOffset(TIMER, 0) >= 1, 30_000, "1 s timer delivered by Apache");
        long pendingSent = System.currentTimeMillis();
        Message d4 = new Message(DELAY, "TagD", "d-30s", utf8("delay-30s"));
        d4.setDelayTimeLevel(PENDING_DELAY_LEVEL);
        producer.send(d4);
        Message t45 = new Message(TIMER, "TagT", "t-45s", utf8("timer-45s"));
        t45.setDeliverTimeMs(pendingSent + PENDING_TIMER_MS);
        producer.send(t45);
        m.setProperty("pending.sentMs", Long.toString(pendingSent));
        producer.shutdown();
        // Let Apache write its periodic state (consumer offsets every 5 s), as a running broker would.
        Thread.sleep(6_000);

        try (OutputStream out = Files.newOutputStream(manifestPath)) {
            m.store(out, "written by Migration.java write against " + namesrv);
        }
        System.out.println("wrote " + m.size() + " facts to " + manifestPath);
    }

    static void sendOrders(DefaultMQProducer p, Properties m, int batch) throws Exception {
        for (int i = 0; i < BATCH; i++) {
            String key = "k" + batch + "-" + i;
            Message msg = new Message(ORDERS, i % 2 == 0 ? "TagA" : "TagB", key, utf8(body(key)));
            msg.putUserProperty("batch", Integer.toString(batch));
            int queue = i % QUEUES;
            SendResult r = p.send(msg, (mqs, x, arg) -> mqs.get((Integer) arg % mqs.size()), queue);
            if (r.getSendStatus() != SendStatus.SEND_OK) throw new IllegalStateException(key + ": " + r);
            m.setProperty(key + ".msgId", r.getMsgId());
            m.setProperty(key + ".offsetMsgId", r.getOffsetMsgId());
            m.setProperty(key + ".queue", Integer.toString(r.getMessageQueue().getQueueId()));
            m.setProperty(key + ".queueOffset", Long.toString(r.getQueueOffset()));
        }
    }

    // ---------------------------------------------------------------- read (Petrel)

    static void read(Path manifestPath, boolean afterKill) throws Exception {
        Properties m = new Properties();
        try (InputStream in = Files.newInputStream(manifestPath)) {
            m.load(in);
        }
        bodyBytes = Integer.parseInt(m.getProperty("bodyBytes", "0"));
        long pendingSent = Long.parseLong(m.getProperty("pending.sentMs"));

        // 1. Committed offsets are served as Apache committed them.
        for (int q = 0; q < QUEUES; q++) {
            long expected = Long.parseLong(m.getProperty("committed." + q));
            long got = committedOf(GROUP, ORDERS, q);
            check(got == expected, "mig_group's offset of queue " + q + " is " + got + ", Apache committed " + expected);
        }

        // 2. Lookups by key, unique id and offset id.
        for (String key : List.of("k1-0", "k1-7", "k2-3", "k2-18")) {
            String body = body(key);
            var byKey = admin.queryMessage(ORDERS, key, 32, 0, Long.MAX_VALUE).getMessageList();
            check(byKey.stream().anyMatch(x -> key.equals(x.getKeys()) && body.equals(str(x.getBody()))),
                    "queryMessage by key " + key + " finds it (got " + byKey.size() + ")");
            MessageExt byUniq = admin.viewMessage(ORDERS, m.getProperty(key + ".msgId"));
            check(byUniq != null && body.equals(str(byUniq.getBody())), "viewMessage by unique id of " + key);
            MessageExt byOffset = admin.viewMessage(ORDERS, m.getProperty(key + ".offsetMsgId"));
            check(byOffset != null && body.equals(str(byOffset.getBody()))
                    && byOffset.getQueueOffset() == Long.parseLong(m.getProperty(key + ".queueOffset"))
                    && "TagA,TagB".contains(byOffset.getTags()),
                    "viewMessage by offset id of " + key);
        }

        // 3. mig_group resumes: batch 2, not batch 1. mig_retry gets its %RETRY% message.
        Map<String, Integer> orders = new TreeMap<>();
        DefaultMQPushConsumer consumer = pushConsumer(GROUP);
        consumer.subscribe(ORDERS, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(x -> {
                synchronized (orders) { orders.merge(x.getKeys(), 1, Integer::sum); }
            });
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        List<MessageExt> retried = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer retry = pushConsumer(RETRY_GROUP);
        retry.subscribe(RETRY_TOPIC, "*");
        retry.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            retried.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        retry.start();

        // 4. The half message: the same producer group answers the check-back with COMMIT. A
        //    producer is asked only by brokers it knows, so it sends a transaction of its own
        //    first (as the application would), which it commits at once.
        AtomicInteger checks = new AtomicInteger();
        TransactionMQProducer tx = txProducer(LocalTransactionState.COMMIT_MESSAGE, checks);
        Message after = new Message(TX, "TagT", "tx-after", utf8("body-tx-after"));
        SendResult afterSent = tx.sendMessageInTransaction(after, "tx-commit");
        m.setProperty("tx.tx-after.msgId", afterSent.getMsgId());

        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            int batch2;
            synchronized (orders) { batch2 = (int) orders.keySet().stream().filter(k -> k.startsWith("k2-")).count(); }
            if (batch2 >= BATCH && !retried.isEmpty()) break;
            Thread.sleep(200);
        }
        Thread.sleep(3_000); // anything that should not come would come now
        consumer.shutdown();
        retry.shutdown();
        synchronized (orders) {
            for (int i = 0; i < BATCH; i++) {
                String k2 = "k2-" + i;
                check(orders.getOrDefault(k2, 0) >= 1, "mig_group received " + k2);
                String k1 = "k1-" + i;
                if (orders.containsKey(k1)) {
                    if (afterKill) System.out.println("note: " + k1 + " delivered again (offsets Apache had not written)");
                    else check(false, "mig_group must not receive " + k1 + " again (consumed on Apache)");
                }
            }
        }
        check(retried.size() >= 1 && "r-1".equals(retried.get(0).getKeys())
                && retried.get(0).getReconsumeTimes() >= 1
                && "retry-body".equals(str(retried.get(0).getBody())),
                "mig_retry received its message from %RETRY%mig_retry (got " + retried.size() + ")");

        // 5. Delayed and timer messages: the pending ones arrive when due, once; the delivered
        //    ones are not delivered again.
        awaitOrFail(() -> count(DELAY) >= 2, Math.max(5_000, pendingSent + PENDING_DELAY_MS + 30_000 - System.currentTimeMillis()),
                "the pending level-4 message");
        awaitOrFail(() -> count(TIMER) >= 2, Math.max(5_000, pendingSent + PENDING_TIMER_MS + 30_000 - System.currentTimeMillis()),
                "the pending 45 s timer");
        awaitOrFail(() -> count(TX) >= 3, 60_000, "the half message committed by the check-back");
        Thread.sleep(3_000);
        List<MessageExt> delayed = readAll(DELAY);
        expectOnce(delayed, "d-30s", "mig_delay");
        expectDeliveredBefore(delayed, "d-1s", "mig_delay", afterKill);
        check(delayed.size() == 2 || afterKill, "mig_delay holds nothing else: " + keys(delayed));
        for (MessageExt x : delayed) {
            if (x.getKeys().equals("d-30s"))
                check(x.getStoreTimestamp() >= pendingSent + PENDING_DELAY_MS - 1_000,
                        "d-30s delivered when due (" + (x.getStoreTimestamp() - pendingSent) + " ms after sending)");
        }
        List<MessageExt> timers = readAll(TIMER);
        expectOnce(timers, "t-45s", "mig_timer");
        expectDeliveredBefore(timers, "t-1s", "mig_timer", afterKill);
        check(timers.size() == 2 || afterKill, "mig_timer holds nothing else: " + keys(timers));
        for (MessageExt x : timers) {
            if (x.getKeys().equals("t-45s"))
                check(x.getStoreTimestamp() >= pendingSent + PENDING_TIMER_MS - 1_000,
                        "t-45s delivered when due (" + (x.getStoreTimestamp() - pendingSent) + " ms after sending)");
        }
        List<MessageExt> txs = readAll(TX);
        List<String> txKeys = keys(txs);
        java.util.Collections.sort(txKeys);
        check(txKeys.equals(List.of("tx-after", "tx-commit", "tx-pending")),
                "mig_tx holds tx-commit, tx-pending (checked back) and tx-after once each: " + txKeys);
        check(checks.get() >= 1, "the producer was asked about the half message (" + checks.get() + " check-backs)");
        for (MessageExt x : txs) {
            check(x.getMsgId().equals(m.getProperty("tx." + x.getKeys() + ".msgId")), "transaction " + x.getKeys() + " keeps its unique id");
        }
        tx.shutdown();
    }

    // ---------------------------------------------------------------- helpers

    /** A message that was pending when Apache stopped: delivered exactly once. */
    static void expectOnce(List<MessageExt> msgs, String key, String topic) {
        long n = msgs.stream().filter(x -> key.equals(x.getKeys())).count();
        check(n == 1, topic + " holds " + key + " once (" + n + " times)");
    }

    /**
     * A message Apache delivered before it stopped: not delivered again, except after a kill,
     * where Apache's progress file may lag (at least once).
     */
    static void expectDeliveredBefore(List<MessageExt> msgs, String key, String topic, boolean afterKill) {
        long n = msgs.stream().filter(x -> key.equals(x.getKeys())).count();
        if (afterKill && n > 1) {
            System.out.println("note: " + key + " delivered " + n + " times (progress Apache had not written before the kill)");
            check(true, topic + " holds " + key);
        } else {
            check(n == 1, topic + " holds " + key + " once, as Apache delivered it (" + n + " times)");
        }
    }

    static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) failures.add(what);
    }

    /** The body of mig_orders message `key`: "body-<key>", padded to bodyBytes with dots. */
    static String body(String key) {
        String b = "body-" + key;
        return b.length() >= bodyBytes ? b : b + ".".repeat(bodyBytes - b.length());
    }

    static String brokerAddr() throws Exception {
        for (var e : admin.examineBrokerClusterInfo().getBrokerAddrTable().entrySet()) {
            String addr = e.getValue().getBrokerAddrs().get(0L);
            if (addr != null) return addr;
        }
        throw new IllegalStateException("no master broker at " + namesrv);
    }

    static void createTopic(String broker, String topic, int queues) throws Exception {
        admin.createAndUpdateTopicConfig(broker, new TopicConfig(topic, queues, queues, 6));
        await(() -> {
            try {
                var route = admin.examineTopicRouteInfo(topic);
                return route != null && !route.getQueueDatas().isEmpty();
            } catch (Exception e) {
                return false;
            }
        }, 15_000, "route of " + topic);
    }

    static DefaultMQPushConsumer pushConsumer(String group) {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(group + "-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPullInterval(0);
        return c;
    }

    static TransactionMQProducer txProducer(LocalTransactionState onCheck, AtomicInteger... checks) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(TX_GROUP);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("mig-tx-" + System.nanoTime());
        p.setSendMsgTimeout(10_000);
        p.setTransactionListener(new TransactionListener() {
            @Override public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return switch ((String) arg) {
                    case "tx-commit" -> LocalTransactionState.COMMIT_MESSAGE;
                    case "tx-rollback" -> LocalTransactionState.ROLLBACK_MESSAGE;
                    default -> LocalTransactionState.UNKNOW;
                };
            }
            @Override public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                for (AtomicInteger c : checks) c.incrementAndGet();
                System.out.println("check-back for " + msg.getKeys() + " -> " + onCheck);
                return onCheck;
            }
        });
        p.start();
        return p;
    }

    /** Sum of the committed offsets of group on topic (queues without one count 0). */
    static long committed(String group, String topic) {
        try {
            long n = 0;
            for (int q = 0; q < QUEUES; q++) n += Math.max(0, committedOf(group, topic, q));
            return n;
        } catch (Exception e) {
            return -1;
        }
    }

    static long committedOf(String group, String topic, int queue) throws Exception {
        ConsumeStats stats;
        try {
            stats = admin.examineConsumeStats(group);
        } catch (Exception e) {
            return -1;
        }
        for (Map.Entry<MessageQueue, OffsetWrapper> e : stats.getOffsetTable().entrySet()) {
            if (e.getKey().getTopic().equals(topic) && e.getKey().getQueueId() == queue) return e.getValue().getConsumerOffset();
        }
        return -1;
    }

    static long maxOffset(String topic, int queue) {
        try {
            for (var e : admin.examineTopicStats(topic).getOffsetTable().entrySet()) {
                if (e.getKey().getQueueId() == queue) return e.getValue().getMaxOffset();
            }
        } catch (Exception e) {
            // not there yet
        }
        return -1;
    }

    static long count(String topic) {
        try {
            long n = 0;
            for (var e : admin.examineTopicStats(topic).getOffsetTable().values()) n += e.getMaxOffset() - e.getMinOffset();
            return n;
        } catch (Exception e) {
            return -1;
        }
    }

    static List<MessageExt> readAll(String topic) throws Exception {
        DefaultMQPullConsumer pc = new DefaultMQPullConsumer("mig_readall");
        pc.setNamesrvAddr(namesrv);
        pc.setInstanceName("mig-readall-" + System.nanoTime());
        pc.start();
        try {
            List<MessageExt> out = new ArrayList<>();
            for (MessageQueue mq : pc.fetchSubscribeMessageQueues(topic)) {
                long off = 0;
                while (true) {
                    PullResult r = pc.pull(mq, "*", off, 32, 5_000);
                    if (r.getPullStatus() != PullStatus.FOUND) break;
                    out.addAll(r.getMsgFoundList());
                    off = r.getNextBeginOffset();
                }
            }
            return out;
        } finally {
            pc.shutdown();
        }
    }

    static List<String> keys(List<MessageExt> msgs) {
        List<String> out = new ArrayList<>();
        for (MessageExt x : msgs) out.add(x.getKeys());
        return out;
    }

    /** Waits for cond; on timeout records a failure (and goes on with the other checks). */
    static boolean awaitOrFail(BooleanSupplier cond, long timeoutMs, String what) throws InterruptedException {
        try {
            await(cond, timeoutMs, what);
            return true;
        } catch (AssertionError e) {
            check(false, e.getMessage());
            return false;
        }
    }

    static void await(BooleanSupplier cond, long timeoutMs, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
            Thread.sleep(200);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
