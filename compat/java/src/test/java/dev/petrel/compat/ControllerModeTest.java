package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Controller mode (RocketMQ 5.x AutoSwitch) seen by Apache's own tools and clients: three
 * {@code petrel controller}s, a {@code petrel namesrv} and two controller-mode
 * {@code petrel broker}s this test starts (needs -Dpetrel.bin; the 5.x client line, whose
 * mqadmin has the controller commands). Apache's mqadmin reads the controllers
 * (getControllerMetaData, getSyncStateSet) and the brokers' epochs (getBrokerEpoch); Apache's
 * DefaultMQProducer keeps sending while the master is killed with SIGKILL and, without a
 * restart, lands its sends on the new master; every message it saw acknowledged is consumed.
 */
class ControllerModeTest extends CompatBase {
    static final String BROKER_NAME = "broker-cm";
    static final List<Proc> procs = new ArrayList<>();
    static Path dir;
    static String namesrv, controllers;
    static final List<Proc> brokers = new ArrayList<>();

    record Proc(Process process, List<String> log, String addr) {}

    @BeforeAll
    static void startCluster() throws Exception {
        String bin = System.getProperty("petrel.bin", "");
        Assumptions.assumeFalse(bin.isEmpty(), "needs -Dpetrel.bin (the Petrel target)");
        Assumptions.assumeTrue(Line.FIVE, "mqadmin's controller commands are in the 5.x tools");
        dir = Files.createTempDirectory("petrel-controller-mode");
        int[] ports = {freePort(), freePort(), freePort()};
        StringBuilder peers = new StringBuilder();
        List<String> addrs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            if (i > 0) peers.append(';');
            peers.append("n").append(i).append("-127.0.0.1:").append(ports[i]);
            addrs.add("127.0.0.1:" + ports[i]);
        }
        controllers = String.join(";", addrs);
        for (int i = 0; i < 3; i++) {
            Path conf = dir.resolve("controller-n" + i + ".conf");
            Files.writeString(conf, "controllerDLegerGroup = group1\ncontrollerDLegerPeers = " + peers
                    + "\ncontrollerDLegerSelfId = n" + i + "\ncontrollerStorePath = " + dir.resolve("c" + i) + "\n");
            procs.add(start(bin, "controller", "--config", conf.toString()));
        }
        Proc ns = start(bin, "namesrv", "--listen", "127.0.0.1:0");
        procs.add(ns);
        namesrv = ns.addr();
        for (int i = 0; i < 2; i++) {
            Proc b = start(bin, "broker", "--listen", "127.0.0.1:" + freeBrokerPort(), "--namesrv", namesrv,
                    "--data-dir", dir.resolve("b" + i).toString(), "--grpc-listen", "off",
                    "--set", "brokerName=" + BROKER_NAME, "--set", "enableControllerMode=true",
                    "--set", "controllerAddr=" + controllers, "--set", "allAckInSyncStateSet=true",
                    "--set", "brokerIP1=127.0.0.1", "--set", "controllerHeartBeatTimeoutMills=5000",
                    "--set", "metricsExporterType=DISABLE",
                    "--set", "diskMaxUsedSpaceRatio=97", "--set", "diskSpaceCleanForciblyRatio=98",
                    "--set", "diskSpaceWarningLevelRatio=99");
            procs.add(b);
            brokers.add(b);
        }
        MqAdminTest.prepareHome();
    }

    @AfterAll
    static void stopCluster() {
        for (Proc p : procs) p.process().destroy();
        for (Proc p : procs) {
            try {
                if (!p.process().waitFor(20, TimeUnit.SECONDS)) p.process().destroyForcibly();
            } catch (InterruptedException ignored) {
                p.process().destroyForcibly();
            }
        }
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A port p with p - 2 (the fast port) and p + 1 (the HA port) free too. */
    static int freeBrokerPort() throws Exception {
        for (int i = 0; i < 100; i++) {
            int p = freePort();
            if (p < 1100 || p > 65000) continue;
            try (ServerSocket a = new ServerSocket(p - 2); ServerSocket b = new ServerSocket(p + 1)) {
                return p;
            } catch (Exception taken) {
                // try another
            }
        }
        throw new AssertionError("no free port triple");
    }

    static Proc start(String bin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(bin));
        cmd.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> log = new CopyOnWriteArrayList<>();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) { log.add(l); lines.add(l); }
            } catch (Exception ignored) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        String addr = null;
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            String l = lines.poll(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            if (l == null) fail("petrel " + args[0] + " did not start: " + log);
            if (l.startsWith("petrel name server listening on ")) addr = l.substring("petrel name server listening on ".length()).trim();
            if (l.startsWith("petrel broker ") && l.contains(" listening on ")) addr = l.split(" listening on ")[1].trim().split("\\s+")[0];
            if (l.equals("petrel ready")) break;
        }
        return new Proc(p, log, addr);
    }

    static MqAdminTest.Run mqadmin(String name, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-Duser.home=" + MqAdminTest.home, "-Drocketmq.home.dir=" + MqAdminTest.home,
                "-cp", System.getProperty("java.class.path"),
                "org.apache.rocketmq.tools.command.MQAdminStartup"));
        cmd.addAll(Arrays.asList(args));
        Path out = dir.resolve(name + ".out"), err = dir.resolve(name + ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(40, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("mqadmin " + name + " did not finish in 40 s");
        }
        return new MqAdminTest.Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** The master's address once both brokers are in the SyncStateSet, as mqadmin shows it. */
    static String masterWithFullSet() throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        MqAdminTest.Run r = null;
        while (System.currentTimeMillis() < deadline) {
            r = mqadmin("getSyncStateSet", "getSyncStateSet", "-a", controllers.split(";")[0], "-b", BROKER_NAME);
            if (r.exit() == 0) {
                for (Proc b : brokers) {
                    if (b.process().isAlive() && r.out().contains(b.addr()) && inSyncCount(r.out()) == 2
                            && masterLine(r.out()).contains(b.addr())) return b.addr();
                }
            }
            Thread.sleep(500);
        }
        throw new AssertionError("no master with a full SyncStateSet; last getSyncStateSet: " + (r == null ? "" : r.all()));
    }

    static String masterLine(String out) {
        for (String l : out.split("\n")) if (l.startsWith("#MasterAddr")) return l;
        return "";
    }

    static int inSyncCount(String out) {
        int n = 0;
        for (String l : out.split("\n")) if (l.contains("InSyncReplica") && !l.contains("NotInSync")) n++;
        return n;
    }

    @Test
    void mqadminReadsTheControllersAndTheBrokersEpochs() throws Exception {
        String master = masterWithFullSet();
        MqAdminTest.Run meta = mqadmin("getControllerMetaData", "getControllerMetaData", "-a", controllers.split(";")[1]);
        assertEquals(0, meta.exit(), meta.all());
        assertTrue(meta.out().contains("ControllerLeaderAddress"), meta.all());
        assertTrue(Arrays.stream(controllers.split(";")).anyMatch(meta.out()::contains), meta.all());

        MqAdminTest.Run epochs = mqadmin("getBrokerEpoch", "getBrokerEpoch", "-b", BROKER_NAME, "-n", namesrv);
        assertEquals(0, epochs.exit(), epochs.all());
        assertTrue(epochs.out().toLowerCase().contains("epoch"), epochs.all());
        assertTrue(epochs.out().contains(master), "the master's epochs are listed: " + epochs.all());
    }

    @Test
    void apachesProducerSwitchesToTheNewMasterWithoutARestart() throws Exception {
        String master = masterWithFullSet();
        String topic = Env.name("cm");
        DefaultMQAdminExt admin = new DefaultMQAdminExt(10_000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("cm-admin-" + Env.RUN);
        admin.start();
        try {
            admin.createAndUpdateTopicConfig(master, new TopicConfig(topic, 4, 4, 6));
        } finally {
            admin.shutdown();
        }
        DefaultMQProducer producer = new DefaultMQProducer(Env.name("cmp"));
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("cm-" + Env.RUN);
        producer.setPollNameServerInterval(1_000);
        producer.setSendMsgTimeout(3_000);
        started(producer);

        Set<String> acked = ConcurrentHashMap.newKeySet();
        AtomicLong ackedAfterKill = new AtomicLong();
        AtomicBoolean killed = new AtomicBoolean(), stop = new AtomicBoolean();
        Thread sender = new Thread(() -> {
            for (int i = 0; !stop.get(); i++) {
                String body = "cm-" + i;
                try {
                    SendResult r = producer.send(new Message(topic, body.getBytes(StandardCharsets.UTF_8)));
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        acked.add(body);
                        if (killed.get()) ackedAfterKill.incrementAndGet();
                    }
                } catch (Exception e) {
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        });
        sender.start();
        Env.await(() -> acked.size() >= 200, 30_000, "sends before the kill");

        Proc victim = brokers.stream().filter(b -> b.addr().equals(master)).findFirst().orElseThrow();
        long killedAt = System.currentTimeMillis();
        victim.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL
        killed.set(true);
        Env.await(() -> ackedAfterKill.get() >= 200, 90_000, "sends acknowledged by the new master");
        System.out.println("controller mode: Apache's producer acknowledged again "
                + (System.currentTimeMillis() - killedAt) + " ms after the master's SIGKILL (pollNameServerInterval 1 s)");
        stop.set(true);
        sender.join(30_000);

        Set<String> consumed = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(Env.name("cmc"));
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("cmc-" + Env.RUN);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) consumed.add(new String(m.getBody(), StandardCharsets.UTF_8));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        started(consumer);
        Env.await(() -> consumed.containsAll(acked), 60_000, "every acknowledged message consumed");
        assertTrue(consumed.containsAll(acked));
    }
}
