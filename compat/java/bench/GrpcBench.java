// A load generator on the official 5.x gRPC client (org.apache.rocketmq:rocketmq-client-java),
// used by scripts/bench-grpc.sh to put Petrel's gRPC throughput next to its remoting throughput
// (compat/java/bench/CompareBench.java) with the same body size and concurrency.
//
//   java -cp <client classpath> GrpcBench.java produce <endpoints> <topic> <threads> <bytes> <warmup s> <secs>
//   java -cp <client classpath> GrpcBench.java consume <endpoints> <topic> <group> <count> <threads>
//
// produce: <threads> threads share one Producer and send synchronously, as fast as they can;
//   only sends completed inside the window count; latency per send.
// consume: <threads> threads share one SimpleConsumer, each receiving up to 32 messages (30 s
//   invisible) and acking each; the rate is counted from the first message to the <count>th.
// Both print one JSON line.
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

public class GrpcBench {
    static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();

    public static void main(String[] a) throws Exception {
        if (a.length == 7 && a[0].equals("produce")) {
            produce(a[1], a[2], i(a[3]), i(a[4]), i(a[5]), i(a[6]));
        } else if (a.length == 6 && a[0].equals("consume")) {
            consume(a[1], a[2], a[3], Long.parseLong(a[4]), i(a[5]));
        } else {
            System.err.println("usage: GrpcBench produce <endpoints> <topic> <threads> <bytes> <warmup s> <secs>\n"
                    + "       GrpcBench consume <endpoints> <topic> <group> <count> <threads>");
            System.exit(2);
        }
        System.exit(0);
    }

    static int i(String s) {
        return Integer.parseInt(s);
    }

    static ClientConfiguration config(String endpoints) {
        return ClientConfiguration.newBuilder().setEndpoints(endpoints)
                .setRequestTimeout(Duration.ofSeconds(10)).enableSsl(false).build();
    }

    static long q(long[] sorted, double quantile) {
        if (sorted.length == 0) return 0;
        int idx = (int) Math.ceil(quantile * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }

    static void produce(String endpoints, String topic, int threads, int bytes, int warmup, int secs) throws Exception {
        byte[] body = new byte[bytes];
        new Random(42).nextBytes(body);
        try (Producer p = PROVIDER.newProducerBuilder().setClientConfiguration(config(endpoints))
                .setTopics(topic).build()) {
            long start = System.nanoTime();
            long windowStart = start + warmup * 1_000_000_000L;
            long windowEnd = windowStart + secs * 1_000_000_000L;
            AtomicLong ok = new AtomicLong(), errors = new AtomicLong();
            List<long[]> lat = new ArrayList<>();
            List<int[]> counts = new ArrayList<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long[] samples = new long[4_000_000 / threads];
                int[] n = new int[1];
                lat.add(samples);
                counts.add(n);
                Thread th = new Thread(() -> {
                    while (true) {
                        long t0 = System.nanoTime();
                        if (t0 >= windowEnd) break;
                        try {
                            p.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("TagA").setBody(body).build());
                            long t1 = System.nanoTime();
                            if (t0 >= windowStart && t1 <= windowEnd) {
                                ok.incrementAndGet();
                                if (n[0] < samples.length) samples[n[0]++] = (t1 - t0) / 1_000;
                            }
                        } catch (Exception e) {
                            errors.incrementAndGet();
                        }
                    }
                });
                th.start();
                ts.add(th);
            }
            for (Thread th : ts) th.join();
            int total = 0;
            for (int[] n : counts) total += n[0];
            long[] all = new long[total];
            int at = 0;
            for (int k = 0; k < lat.size(); k++) {
                System.arraycopy(lat.get(k), 0, all, at, counts.get(k)[0]);
                at += counts.get(k)[0];
            }
            Arrays.sort(all);
            System.out.printf("{\"mode\":\"grpc_produce\",\"threads\":%d,\"bytes\":%d,\"msgs_per_sec\":%.0f,\"errors\":%d,"
                            + "\"latency_us\":{\"p50\":%d,\"p99\":%d,\"p999\":%d}}%n",
                    threads, bytes, ok.get() / (double) secs, errors.get(), q(all, 0.5), q(all, 0.99), q(all, 0.999));
        }
    }

    static void consume(String endpoints, String topic, String group, long count, int threads) throws Exception {
        try (SimpleConsumer c = PROVIDER.newSimpleConsumerBuilder().setClientConfiguration(config(endpoints))
                .setConsumerGroup(group).setAwaitDuration(Duration.ofSeconds(2))
                .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
                .build()) {
            AtomicLong got = new AtomicLong(), first = new AtomicLong(), last = new AtomicLong();
            long deadline = System.nanoTime() + 300_000_000_000L;
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    while (got.get() < count && System.nanoTime() < deadline) {
                        try {
                            List<MessageView> ms = c.receive(32, Duration.ofSeconds(30));
                            for (MessageView m : ms) {
                                c.ack(m);
                                long now = System.nanoTime();
                                first.compareAndSet(0, now);
                                if (got.incrementAndGet() == count) last.set(now);
                            }
                        } catch (Exception e) {
                            // a receive that timed out or failed: try again
                        }
                    }
                });
                th.start();
                ts.add(th);
            }
            for (Thread th : ts) th.join();
            double secs = Math.max(1, last.get() - first.get()) / 1e9;
            System.out.printf("{\"mode\":\"grpc_consume\",\"threads\":%d,\"count\":%d,\"received\":%d,\"msgs_per_sec\":%.0f}%n",
                    threads, count, got.get(), got.get() / secs);
        }
    }
}
