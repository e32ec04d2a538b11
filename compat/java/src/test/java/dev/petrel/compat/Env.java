package dev.petrel.compat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/** Where the name server is, unique names, client factories and waiting helpers. */
final class Env {
    static final String NAMESRV = firstNonEmpty(System.getProperty("NAMESRV_ADDR"),
            System.getProperty("namesrv.addr"), System.getenv("NAMESRV_ADDR"), "127.0.0.1:9876");
    static final String LINE = Line.FIVE ? "v5" : "v4";
    static final String TARGET = System.getProperty("compat.target", "unknown");
    static final String CLIENT_VERSION = System.getProperty("rocketmq.client.version", "?");
    /** Per-run suffix so names never collide with a previous run on the same server. */
    static final String RUN = Long.toString(System.currentTimeMillis() / 1000 % 10_000_000L, 36);
    static final Path OUT = Paths.get(System.getProperty("compat.outDir", "target/compat-out/" + TARGET + "-" + LINE));
    /** Delay of delay level 1..n as configured on the broker by the script (ms). */
    static final long[] DELAY_LEVELS_MS = parseLevels(System.getProperty("compat.delayLevels",
            System.getenv().getOrDefault("COMPAT_DELAY_LEVELS", "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h")));
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static DefaultMQAdminExt admin;

    private Env() {}

    static String name(String base) {
        return "jc_" + LINE + "_" + RUN + "_" + base + "_" + SEQ.incrementAndGet();
    }

    static synchronized DefaultMQAdminExt admin() throws Exception {
        if (admin == null) {
            DefaultMQAdminExt a = new DefaultMQAdminExt(10_000);
            a.setNamesrvAddr(NAMESRV);
            a.setInstanceName("compat-admin-" + RUN);
            a.setAdminExtGroup("compat_admin_" + RUN);
            a.start();
            admin = a;
            Runtime.getRuntime().addShutdownHook(new Thread(a::shutdown));
        }
        return admin;
    }

    /** cluster name -> broker names, and broker name -> master address, from GET_BROKER_CLUSTER_INFO. */
    static Map<String, String> masters() throws Exception {
        var info = admin().examineBrokerClusterInfo();
        Map<String, String> out = new HashMap<>();
        for (var e : info.getBrokerAddrTable().entrySet()) {
            String addr = e.getValue().getBrokerAddrs().get(0L);
            if (addr != null) out.put(e.getKey(), addr);
        }
        return out;
    }

    static String brokerAddr() throws Exception {
        Map<String, String> m = masters();
        if (m.isEmpty()) throw new IllegalStateException("no master broker registered at " + NAMESRV);
        return m.values().iterator().next();
    }

    static String clusterName() throws Exception {
        var info = admin().examineBrokerClusterInfo();
        return info.getClusterAddrTable().keySet().iterator().next();
    }

    /** Creates a topic with read = write = queues, perm 6, and waits until its route is served. */
    static void createTopic(String topic, int queues) throws Exception {
        admin().createAndUpdateTopicConfig(brokerAddr(), new TopicConfig(topic, queues, queues, 6));
        await(() -> {
            try {
                var route = admin().examineTopicRouteInfo(topic);
                return route != null && !route.getQueueDatas().isEmpty()
                        && route.getQueueDatas().get(0).getWriteQueueNums() == queues;
            } catch (Exception e) {
                return false;
            }
        }, 15_000, "route of " + topic);
    }

    static DefaultMQProducer producer(String group) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group);
        p.setNamesrvAddr(NAMESRV);
        p.setInstanceName(group + "-" + SEQ.incrementAndGet());
        p.setSendMsgTimeout(10_000);
        p.setRetryTimesWhenSendFailed(0);
        p.setRetryTimesWhenSendAsyncFailed(0);
        return p;
    }

    static DefaultMQPushConsumer pushConsumer(String group) {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(NAMESRV);
        c.setInstanceName(group + "-" + SEQ.incrementAndGet());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPullInterval(0);
        return c;
    }

    static DefaultLitePullConsumer litePull(String group) {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
        c.setNamesrvAddr(NAMESRV);
        c.setInstanceName(group + "-" + SEQ.incrementAndGet());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        return c;
    }

    /**
     * Queues of {@code topic} a push consumer's rebalance has given it (what it pulls from);
     * a 4.9.x clustering consumer also holds the queues of its %RETRY% topic.
     */
    static Set<MessageQueue> assigned(DefaultMQPushConsumer c, String topic) {
        Set<MessageQueue> out = new java.util.HashSet<>();
        for (MessageQueue mq : c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet())
            if (mq.getTopic().equals(topic)) out.add(mq);
        return out;
    }

    /**
     * Reads every message of a topic from offset 0 with the plain pull API (PULL_MESSAGE),
     * until {@code expected} messages were seen or the time is up; sorted by queue, offset.
     */
    static List<MessageExt> readAll(String topic, int expected, long timeoutMs) throws Exception {
        DefaultMQPullConsumer pc = new DefaultMQPullConsumer(name("readall"));
        pc.setNamesrvAddr(NAMESRV);
        pc.setInstanceName("readall-" + SEQ.incrementAndGet());
        pc.start();
        try {
            List<MessageExt> out = new ArrayList<>();
            Map<MessageQueue, Long> next = new HashMap<>();
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (true) {
                for (MessageQueue mq : pc.fetchSubscribeMessageQueues(topic)) {
                    long off = next.getOrDefault(mq, 0L);
                    PullResult r = pc.pull(mq, "*", off, 32, 5_000);
                    if (r.getPullStatus() == PullStatus.FOUND) out.addAll(r.getMsgFoundList());
                    next.put(mq, r.getNextBeginOffset());
                }
                if (out.size() >= expected || System.currentTimeMillis() > deadline) break;
                Thread.sleep(200);
            }
            out.sort((a, b) -> a.getQueueId() != b.getQueueId()
                    ? Integer.compare(a.getQueueId(), b.getQueueId()) : Long.compare(a.getQueueOffset(), b.getQueueOffset()));
            return out;
        } finally {
            pc.shutdown();
        }
    }

    /** Messages the broker says a topic holds (sum of max - min offsets, GET_TOPIC_STATS_INFO). */
    static long storedCount(String topic) {
        try {
            long n = 0;
            for (var e : admin().examineTopicStats(topic).getOffsetTable().values()) n += e.getMaxOffset() - e.getMinOffset();
            return n;
        } catch (Exception e) {
            return -1;
        }
    }

    /** The offset message id (store host + commit log offset) of a message as the client decoded it. */
    static String offsetMsgId(MessageExt m) {
        return m instanceof org.apache.rocketmq.common.message.MessageClientExt
                ? ((org.apache.rocketmq.common.message.MessageClientExt) m).getOffsetMsgId() : m.getMsgId();
    }

    static void await(BooleanSupplier cond, long timeoutMs, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
            Thread.sleep(100);
        }
    }

    /** Records an observation (timing, codes, shapes) for docs/compatibility.md. */
    static synchronized void note(String test, String text) {
        try {
            Files.createDirectories(OUT);
            Files.writeString(OUT.resolve("notes.tsv"), test + "\t" + text.replace('\n', ' ') + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static long delayLevelMs(int level) {
        return DELAY_LEVELS_MS[Math.min(level, DELAY_LEVELS_MS.length) - 1];
    }

    private static long[] parseLevels(String s) {
        String[] parts = s.trim().split("\\s+");
        long[] out = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            long unit = switch (p.charAt(p.length() - 1)) {
                case 's' -> 1000L; case 'm' -> 60_000L; case 'h' -> 3_600_000L; case 'd' -> 86_400_000L;
                default -> throw new IllegalArgumentException(p);
            };
            out[i] = Long.parseLong(p.substring(0, p.length() - 1)) * unit;
        }
        return out;
    }

    /** Removes a directory a test created (its broker's data dir), whatever it holds. */
    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) return;
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not remove " + root + ": " + e);
        }
    }

    private static String firstNonEmpty(String... s) {
        for (String x : s) if (x != null && !x.isBlank()) return x;
        return null;
    }
}
