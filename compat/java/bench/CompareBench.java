// A load generator on Apache's stock Java client (org.apache.rocketmq:rocketmq-client), used by
// scripts/compare-apache.sh to drive Petrel and Apache RocketMQ with the same client code.
// It does what Apache's benchmark Producer/Consumer classes do (many threads sharing one
// DefaultMQProducer; a DefaultMQPushConsumer with 20 listener threads) and adds what they do not
// print: latency percentiles, a fixed measuring window after a warm-up, and one JSON line.
//
//   java -cp <client classpath> CompareBench.java produce <ns> <topic> <threads> <bytes> <batch> <warmup s> <secs>
//   java -cp <client classpath> CompareBench.java consume <ns> <topic> <group> <count> <idle s>
//   java -cp <client classpath> CompareBench.java e2e <ns> <topic> <group> <msgs/s> <threads> <bytes> <warmup s> <secs>
//
// produce: sends as fast as the threads can (batch > 1: producer.send(Collection)); counts only
//   sends completed inside the window, latency per call. Bodies are not compressed
//   (compressMsgBodyOverHowmuch = MAX) so both brokers get the same bytes as from `petrel bench`.
// consume: a new group from the first offset reads <count> messages of a backlog; the rate is
//   counted from the first message received to the last.
// e2e: a push consumer (from the last offset) and paced producers in this JVM; each body starts
//   with System.nanoTime() at the send, so the latency is send-to-listener in microseconds.
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public class CompareBench {
    public static void main(String[] a) throws Exception {
        if (a.length == 0) usage();
        switch (a[0]) {
            case "produce":
                if (a.length != 8) usage();
                produce(a[1], a[2], i(a[3]), i(a[4]), i(a[5]), i(a[6]), i(a[7]));
                break;
            case "consume":
                if (a.length != 6) usage();
                consume(a[1], a[2], a[3], Long.parseLong(a[4]), i(a[5]));
                break;
            case "e2e":
                if (a.length != 9) usage();
                e2e(a[1], a[2], a[3], i(a[4]), i(a[5]), i(a[6]), i(a[7]), i(a[8]));
                break;
            default:
                usage();
        }
        System.exit(0); // client threads are not daemons
    }

    static void usage() {
        System.err.println("usage: CompareBench produce <ns> <topic> <threads> <bytes> <batch> <warmup s> <secs>\n"
                + "       CompareBench consume <ns> <topic> <group> <count> <idle s>\n"
                + "       CompareBench e2e <ns> <topic> <group> <msgs/s> <threads> <bytes> <warmup s> <secs>");
        System.exit(2);
    }

    static int i(String s) {
        return Integer.parseInt(s);
    }

    static DefaultMQProducer producer(String ns) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("compare_bench_producer");
        p.setNamesrvAddr(ns);
        p.setInstanceName("compare-" + ProcessHandle.current().pid());
        p.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        p.setSendMsgTimeout(10_000);
        p.start();
        return p;
    }

    /** Latencies of one thread, in microseconds. */
    static final class Samples {
        long[] v = new long[1 << 16];
        int n;

        void add(long us) {
            if (n == v.length) v = Arrays.copyOf(v, n * 2);
            v[n++] = us;
        }
    }

    static String percentiles(List<Samples> all) {
        int total = 0;
        for (Samples s : all) total += s.n;
        long[] v = new long[total];
        int at = 0;
        for (Samples s : all) {
            System.arraycopy(s.v, 0, v, at, s.n);
            at += s.n;
        }
        Arrays.sort(v);
        return String.format("{\"p50\":%d,\"p99\":%d,\"p999\":%d,\"max\":%d}",
                q(v, 0.50), q(v, 0.99), q(v, 0.999), v.length == 0 ? 0 : v[v.length - 1]);
    }

    static long q(long[] sorted, double quantile) {
        if (sorted.length == 0) return 0;
        int idx = (int) Math.ceil(quantile * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }

    static void produce(String ns, String topic, int threads, int bytes, int batch, int warmup, int secs)
            throws Exception {
        DefaultMQProducer p = producer(ns);
        byte[] body = new byte[bytes];
        new Random(42).nextBytes(body);
        long start = System.nanoTime();
        long windowStart = start + warmup * 1_000_000_000L;
        long windowEnd = windowStart + secs * 1_000_000_000L;
        AtomicLong ok = new AtomicLong();
        AtomicLong acked = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        ConcurrentLinkedQueue<String> firstErrors = new ConcurrentLinkedQueue<>();
        List<Samples> samples = new ArrayList<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Samples s = new Samples();
            samples.add(s);
            Thread th = new Thread(() -> {
                while (true) {
                    long t0 = System.nanoTime();
                    if (t0 >= windowEnd) break;
                    try {
                        SendResult r;
                        if (batch <= 1) {
                            r = p.send(new Message(topic, "TagA", body));
                        } else {
                            List<Message> msgs = new ArrayList<>(batch);
                            for (int k = 0; k < batch; k++) msgs.add(new Message(topic, "TagA", body));
                            r = p.send(msgs);
                        }
                        long t1 = System.nanoTime();
                        if (r.getSendStatus() == SendStatus.SEND_OK) {
                            acked.addAndGet(Math.max(1, batch));
                            if (t0 >= windowStart && t1 <= windowEnd) {
                                ok.addAndGet(Math.max(1, batch));
                                s.add((t1 - t0) / 1000);
                            }
                        } else {
                            errors.incrementAndGet();
                            if (firstErrors.size() < 3) firstErrors.add(r.getSendStatus().toString());
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                        if (firstErrors.size() < 3) firstErrors.add(e.toString().replace('"', '\''));
                    }
                }
            }, "send-" + t);
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) th.join();
        p.shutdown();
        System.out.printf("{\"mode\":\"produce\",\"threads\":%d,\"bytes\":%d,\"batch\":%d,\"seconds\":%d,"
                        + "\"messages\":%d,\"msgs_per_sec\":%.0f,\"acked_total\":%d,\"errors\":%d,"
                        + "\"first_errors\":\"%s\",\"latency_us\":%s}%n",
                threads, bytes, batch, secs, ok.get(), ok.get() / (double) secs, acked.get(), errors.get(),
                String.join("; ", firstErrors), percentiles(samples));
    }

    static void consume(String ns, String topic, String group, long count, int idleSecs) throws Exception {
        AtomicLong received = new AtomicLong();
        AtomicLong firstAt = new AtomicLong();
        AtomicLong lastAt = new AtomicLong();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(ns);
        c.setInstanceName("compare-" + ProcessHandle.current().pid());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setConsumeThreadMin(20);
        c.setConsumeThreadMax(20);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            long now = System.nanoTime();
            firstAt.compareAndSet(0, now);
            received.addAndGet(msgs.size());
            lastAt.set(now);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        long started = System.nanoTime();
        c.start();
        long lastSeen = 0;
        long lastChange = System.nanoTime();
        while (received.get() < count) {
            Thread.sleep(100);
            long r = received.get();
            if (r != lastSeen) {
                lastSeen = r;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > idleSecs * 1_000_000_000L) {
                break;
            }
        }
        c.shutdown();
        long n = received.get();
        double secs = Math.max(1e-9, (lastAt.get() - firstAt.get()) / 1e9);
        System.out.printf("{\"mode\":\"consume\",\"messages\":%d,\"expected\":%d,\"seconds\":%.3f,"
                        + "\"msgs_per_sec\":%.0f,\"first_message_after_s\":%.3f}%n",
                n, count, secs, n / secs, firstAt.get() == 0 ? -1.0 : (firstAt.get() - started) / 1e9);
    }

    static void e2e(String ns, String topic, String group, int rate, int threads, int bytes, int warmup, int secs)
            throws Exception {
        java.util.concurrent.atomic.AtomicLongArray window = new java.util.concurrent.atomic.AtomicLongArray(2);
        List<Samples> lat = new ArrayList<>();
        Samples consumerSamples = new Samples();
        lat.add(consumerSamples);
        AtomicLong received = new AtomicLong();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(ns);
        c.setInstanceName("compare-c-" + ProcessHandle.current().pid());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        c.setConsumeThreadMin(20);
        c.setConsumeThreadMax(20);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            long now = System.nanoTime();
            for (MessageExt m : msgs) {
                long sent = ByteBuffer.wrap(m.getBody()).getLong();
                if (sent >= window.get(0) && sent < window.get(1)) {
                    synchronized (consumerSamples) {
                        consumerSamples.add((now - sent) / 1000);
                    }
                    received.incrementAndGet();
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        DefaultMQProducer p = producer(ns);
        // The consumer needs its queues before the window opens: the warm-up covers the rebalance.
        long start = System.nanoTime();
        window.set(1, start + (warmup + secs) * 1_000_000_000L);
        window.set(0, start + warmup * 1_000_000_000L);
        AtomicLong sentInWindow = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        List<Samples> sendLat = new ArrayList<>();
        List<Thread> ts = new ArrayList<>();
        long intervalNs = Math.max(1, 1_000_000_000L * threads / Math.max(1, rate));
        for (int t = 0; t < threads; t++) {
            Samples s = new Samples();
            sendLat.add(s);
            final long offset = intervalNs * t / threads;
            Thread th = new Thread(() -> {
                byte[] body = new byte[Math.max(8, bytes)];
                long next = start + offset;
                while (true) {
                    long now = System.nanoTime();
                    if (now >= window.get(1)) break;
                    if (now < next) {
                        LockSupport.parkNanos(next - now);
                        continue;
                    }
                    next += intervalNs;
                    long t0 = System.nanoTime();
                    ByteBuffer.wrap(body).putLong(t0);
                    try {
                        SendResult r = p.send(new Message(topic, "TagA", body));
                        long t1 = System.nanoTime();
                        if (r.getSendStatus() == SendStatus.SEND_OK && t0 >= window.get(0)) {
                            sentInWindow.incrementAndGet();
                            s.add((t1 - t0) / 1000);
                        } else if (r.getSendStatus() != SendStatus.SEND_OK) {
                            errors.incrementAndGet();
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
            }, "send-" + t);
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) th.join();
        long waitUntil = System.nanoTime() + 15_000_000_000L;
        while (received.get() < sentInWindow.get() && System.nanoTime() < waitUntil) Thread.sleep(50);
        p.shutdown();
        c.shutdown();
        String e2e;
        synchronized (consumerSamples) {
            e2e = percentiles(lat);
        }
        System.out.printf("{\"mode\":\"e2e\",\"rate\":%d,\"threads\":%d,\"seconds\":%d,\"sent\":%d,\"received\":%d,"
                        + "\"msgs_per_sec\":%.0f,\"errors\":%d,\"send_latency_us\":%s,\"end_to_end_latency_us\":%s}%n",
                rate, threads, secs, sentInWindow.get(), received.get(), sentInWindow.get() / (double) secs,
                errors.get(), percentiles(sendLat), e2e);
    }
}
