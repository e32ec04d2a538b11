package dev.petrel.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/** Shuts down every client a test started, newest first, even when the test failed. */
abstract class CompatBase {
    private final Deque<Runnable> closers = new ArrayDeque<>();
    protected String testName;

    @BeforeEach
    void rememberName(TestInfo info) {
        testName = getClass().getSimpleName() + "." + info.getTestMethod().map(m -> m.getName()).orElse("?");
    }

    protected DefaultMQProducer started(DefaultMQProducer p) throws Exception {
        p.start();
        closers.push(p::shutdown);
        return p;
    }

    protected DefaultMQPushConsumer started(DefaultMQPushConsumer c) throws Exception {
        c.start();
        closers.push(c::shutdown);
        return c;
    }

    protected DefaultLitePullConsumer started(DefaultLitePullConsumer c) throws Exception {
        c.start();
        closers.push(c::shutdown);
        return c;
    }

    protected void note(String text) {
        Env.note(testName, text);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @AfterEach
    void closeClients() {
        while (!closers.isEmpty()) {
            try {
                closers.pop().run();
            } catch (RuntimeException ignored) {
                // shutting down a client that failed to start
            }
        }
    }
}
