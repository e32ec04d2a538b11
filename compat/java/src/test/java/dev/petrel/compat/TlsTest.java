package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS with the stock Java client ({@code setUseTLS(true)}; it accepts any server certificate
 * by default, {@code tls.client.authServer=false}) against a second Petrel this test starts with
 * {@code tls.server.mode=enforcing} and no certificate (Apache's {@code tls.test.mode.enable}:
 * a self-signed one). A plain-text client and a plain-text connection to the broker are
 * refused. Needs -Dpetrel.bin (the Petrel target); skipped for Apache.
 */
class TlsTest extends CompatBase {
    static Process petrel;
    static String namesrv, broker;
    static java.nio.file.Path dir;
    static final List<String> log = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startPetrelWithTls() throws Exception {
        String bin = System.getProperty("petrel.bin", "");
        Assumptions.assumeFalse(bin.isEmpty(), "needs -Dpetrel.bin (the Petrel target)");
        dir = Files.createTempDirectory("petrel-tls");
        petrel = new ProcessBuilder(bin, "serve", "--data-dir", dir.resolve("data").toString(),
                "--namesrv-listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0",
                "--set", "tls.server.mode=enforcing", "--set", "metricsExporterType=DISABLE",
                // as the suite's own brokers: a shared disk over 90 % full must not refuse sends
                "--set", "diskMaxUsedSpaceRatio=97", "--set", "diskSpaceCleanForciblyRatio=98",
                "--set", "diskSpaceWarningLevelRatio=99")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(petrel.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) { log.add(l); lines.add(l); }
            } catch (Exception ignored) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            String l = lines.poll(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            if (l == null) fail("petrel with TLS did not start: " + log);
            if (l.startsWith("petrel name server listening on ")) namesrv = l.substring("petrel name server listening on ".length()).trim();
            if (l.startsWith("petrel broker ") && l.contains(" listening on ")) broker = l.split(" listening on ")[1].trim().split("\\s+")[0];
            if (l.equals("petrel ready")) break;
        }
        assertNotNull(namesrv, "name server address");
        assertNotNull(broker, "broker address");
    }

    @AfterAll
    static void stopPetrel() throws Exception {
        if (petrel != null) {
            petrel.destroy();
            if (!petrel.waitFor(20, TimeUnit.SECONDS)) petrel.destroyForcibly();
            petrel.waitFor(20, TimeUnit.SECONDS);
        }
        Env.deleteTree(dir);
    }

    DefaultMQProducer producer(boolean tls) throws Exception {
        String group = Env.name("tls_pg");
        DefaultMQProducer p = new DefaultMQProducer(group);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(group);
        p.setSendMsgTimeout(10_000);
        p.setRetryTimesWhenSendFailed(0);
        p.setUseTLS(tls);
        return started(p);
    }

    @Test
    void aTlsProducerSends() throws Exception {
        DefaultMQProducer p = producer(true);
        // The topic is auto-created from TBW102 on the first send (the route over TLS too).
        String topic = Env.name("tls_t");
        var r = p.send(new Message(topic, utf8("over tls")));
        assertEquals(SendStatus.SEND_OK, r.getSendStatus());
        note("TLS send: " + r.getMsgId());
    }

    @Test
    void aPlainTextProducerIsRefused() throws Exception {
        DefaultMQProducer p = producer(false);
        Exception e = assertThrows(Exception.class, () -> p.send(new Message(Env.name("tls_plain"), utf8("x"))));
        note("plain-text send: " + e);
    }

    @Test
    void aPlainTextConnectionToTheBrokerIsClosed() throws Exception {
        String[] hp = broker.split(":");
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 5_000);
            s.setSoTimeout(10_000);
            // The start of a remoting frame (length prefix), not a TLS handshake record.
            s.getOutputStream().write(new byte[] {0, 0, 0, 20, 0, 0, 0, 12});
            s.getOutputStream().flush();
            // Closed with the unread bytes still queued: a reset, or an end of stream.
            try {
                assertEquals(-1, s.getInputStream().read(), "the broker should close a plain-text connection");
            } catch (java.net.SocketException reset) {
                note("plain-text connection: " + reset.getMessage());
            }
        }
    }
}
