package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * ACL 2.0 with the stock {@code AclClientRPCHook} (4.9.x: rocketmq-acl; 5.x: rocketmq-client,
 * same package): right keys send and consume; a wrong secret, an unknown AccessKey, a missing
 * permission and an unlisted source address are each refused with NO_PERMISSION (16), the code
 * Apache's ACL 2.0 answers with.
 *
 * Runs against a second Petrel this test starts with authentication and authorization on
 * (needs -Dpetrel.bin, which scripts/java-compat.sh passes for the Petrel target); users and
 * rules are made with {@code petrel admin}. Skipped for the Apache target.
 */
class AclTest extends CompatBase {
    static final String ROOT = "root", ROOT_SECRET = "root-secret-1";
    static final String ALICE = "alice", ALICE_SECRET = "alice-secret-1";
    static final int NO_PERMISSION = 16;

    static Process petrel;
    static Path dataDir;
    static String namesrv, broker;
    static String okTopic, otherTopic, ipTopic;
    static final List<String> log = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startPetrelWithAuth() throws Exception {
        String bin = System.getProperty("petrel.bin", "");
        Assumptions.assumeFalse(bin.isEmpty(), "needs -Dpetrel.bin (the Petrel target)");
        dataDir = Files.createTempDirectory("petrel-acl");
        petrel = new ProcessBuilder(bin, "serve", "--data-dir", dataDir.resolve("data").toString(),
                "--namesrv-listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0",
                "--set", "authenticationEnabled=true", "--set", "authorizationEnabled=true",
                "--set", "initAuthenticationUser={\"username\":\"" + ROOT + "\",\"password\":\"" + ROOT_SECRET + "\"}",
                "--set", "metricsExporterType=DISABLE",
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
            if (l == null) fail("petrel with auth did not start: " + log);
            if (l.startsWith("petrel name server listening on ")) namesrv = l.substring("petrel name server listening on ".length()).trim();
            if (l.startsWith("petrel broker ") && l.contains(" listening on ")) broker = l.split(" listening on ")[1].trim().split("\\s+")[0];
            if (l.equals("petrel ready")) break;
        }
        assertNotNull(namesrv, "name server address");
        assertNotNull(broker, "broker address");

        okTopic = Env.name("acl_ok");
        otherTopic = Env.name("acl_other");
        ipTopic = Env.name("acl_ip");
        DefaultMQAdminExt admin = new DefaultMQAdminExt(hook(ROOT, ROOT_SECRET), 10_000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("acl-admin-" + Env.RUN);
        admin.start();
        try {
            for (String t : List.of(okTopic, otherTopic, ipTopic))
                admin.createAndUpdateTopicConfig(broker, new TopicConfig(t, 2, 2, 6));
            for (String t : List.of(okTopic, otherTopic, ipTopic))
                Env.await(() -> routed(admin, t), 15_000, "route of " + t);
        } finally {
            admin.shutdown();
        }
        cli("createUser", "-b", broker, "-u", ALICE, "-p", ALICE_SECRET);
        cli("createAcl", "-b", broker, "-s", "User:" + ALICE, "-r", "Topic:" + okTopic, "-a", "Pub", "-d", "Allow");
        cli("createAcl", "-b", broker, "-s", "User:" + ALICE, "-r", "Topic:" + ipTopic, "-a", "Pub",
                "-i", "10.0.0.0/8", "-d", "Allow");
    }

    static boolean routed(DefaultMQAdminExt admin, String topic) {
        try {
            var r = admin.examineTopicRouteInfo(topic);
            return r != null && !r.getQueueDatas().isEmpty();
        } catch (Exception e) {
            return false;
        }
    }

    static void cli(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("petrel.bin"), "admin", "-n", namesrv,
                "--access-key", ROOT, "--secret-key", ROOT_SECRET));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(40, TimeUnit.SECONDS), "petrel admin did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", args) + ": " + out);
    }

    @AfterAll
    static void stopPetrel() throws Exception {
        if (petrel != null) {
            petrel.destroy();
            if (!petrel.waitFor(20, TimeUnit.SECONDS)) petrel.destroyForcibly();
            petrel.waitFor(20, TimeUnit.SECONDS);
        }
        Env.deleteTree(dataDir);
    }

    static RPCHook hook(String ak, String sk) {
        return new AclClientRPCHook(new SessionCredentials(ak, sk));
    }

    DefaultMQProducer producer(String ak, String sk) throws Exception {
        String group = Env.name("acl_pg");
        DefaultMQProducer p = ak == null ? new DefaultMQProducer(group) : new DefaultMQProducer(group, hook(ak, sk));
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(group);
        p.setSendMsgTimeout(10_000);
        p.setRetryTimesWhenSendFailed(0);
        return started(p);
    }

    /** The response code a refused send carries (MQBrokerException, or MQClientException after retries). */
    static int refusalCode(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MQBrokerException b) return b.getResponseCode();
            if (t instanceof MQClientException c && c.getResponseCode() > 0) return c.getResponseCode();
        }
        return -1;
    }

    /** The broker's remark on a refused send. */
    static String remark(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause())
            if (t instanceof MQBrokerException b) return b.getErrorMessage();
        return String.valueOf(e.getMessage());
    }

    /** Sends to {@code topic}, which must be refused with NO_PERMISSION and a remark containing {@code why}. */
    void refused(DefaultMQProducer p, String topic, String why) {
        try {
            var r = p.send(new Message(topic, utf8("x")));
            fail("send to " + topic + " was accepted: " + r);
        } catch (Exception e) {
            note("code " + refusalCode(e) + ": " + remark(e));
            assertEquals(NO_PERMISSION, refusalCode(e), String.valueOf(e));
            assertTrue(remark(e).contains(why), remark(e));
        }
    }

    @Test
    void rightKeysSendAndConsume() throws Exception {
        DefaultMQProducer alice = producer(ALICE, ALICE_SECRET);
        assertEquals(SendStatus.SEND_OK, alice.send(new Message(okTopic, utf8("from alice"))).getSendStatus());

        // A super user's push consumer (heartbeat, pull, offsets: all signed) gets it.
        String group = Env.name("acl_cg");
        var consumer = new org.apache.rocketmq.client.consumer.DefaultMQPushConsumer(group, hook(ROOT, ROOT_SECRET),
                new org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName(group);
        consumer.setConsumeFromWhere(org.apache.rocketmq.common.consumer.ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(okTopic, "*");
        List<String> got = new CopyOnWriteArrayList<>();
        consumer.registerMessageListener((org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> got.add(str(m.getBody())));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        started(consumer);
        Env.await(() -> got.contains("from alice"), 30_000, "the signed message to be consumed");
    }

    @Test
    void wrongSecretIsRefused() throws Exception {
        refused(producer(ALICE, "not-the-secret"), okTopic, "check signature failed.");
    }

    @Test
    void unknownAccessKeyIsRefused() throws Exception {
        refused(producer("mallory", "whatever"), okTopic, "User:mallory is not found.");
    }

    @Test
    void missingPermissionIsRefused() throws Exception {
        refused(producer(ALICE, ALICE_SECRET), otherTopic, "User:alice has no permission to access Topic:" + otherTopic);
    }

    @Test
    void unlistedSourceAddressIsRefused() throws Exception {
        refused(producer(ALICE, ALICE_SECRET), ipTopic, "Topic:" + ipTopic + " from 127.0.0.1, no matched policies.");
    }

    /** Apache's own mqadmin (5.x: the ACL 2.0 commands), signing with conf/tools.yml. */
    static MqAdminTest.Run apacheMqadmin(Path home, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
                "-cp", System.getProperty("java.class.path"), "org.apache.rocketmq.tools.command.MQAdminStartup"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-n", namesrv));
        Process p = new ProcessBuilder(cmd).directory(home.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(40, TimeUnit.SECONDS), "mqadmin did not finish");
        return new MqAdminTest.Run(p.exitValue(), out, "");
    }

    @Test
    void apacheMqadminManagesUsersAndAcls() throws Exception {
        Assumptions.assumeTrue(Line.FIVE, "mqadmin 4.9.x has no ACL 2.0 commands");
        Path home = Files.createTempDirectory("mqadmin-acl");
        Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("conf/tools.yml"), "accessKey: " + ROOT + "\nsecretKey: " + ROOT_SECRET + "\n");
        String bob = "bob_" + Env.RUN;
        String[][] steps = {
            // Each run starts a JVM (~4 s): the write path of users and ACLs and one read each.
            {"createUser", "-b", broker, "-u", bob, "-p", "bob-secret-1"},
            {"listUser", "-b", broker},
            {"createAcl", "-b", broker, "-s", "User:" + bob, "-r", "Topic:" + okTopic, "-a", "Pub,Sub", "-d", "Allow"},
            {"getAcl", "-b", broker, "-s", "User:" + bob},
            {"deleteUser", "-b", broker, "-u", bob},
        };
        try {
            runMqadminSteps(home, steps, bob);
        } finally {
            Env.deleteTree(home);
        }
    }

    void runMqadminSteps(Path home, String[][] steps, String bob) throws Exception {
        for (String[] step : steps) {
            MqAdminTest.Run r = apacheMqadmin(home, step);
            note("mqadmin " + step[0] + ": exit " + r.exit() + ": " + r.out().strip().replace('\n', ' '));
            assertEquals(0, r.exit(), step[0] + ": " + r.out());
            assertTrue(!r.out().contains("Exception"), step[0] + ": " + r.out());
            switch (step[0]) {
                case "listUser" -> assertTrue(r.out().contains(bob) && r.out().contains("bob-secret-1"), r.out());
                case "getAcl" -> assertTrue(r.out().contains("Topic:" + okTopic) && r.out().contains("User:" + bob), r.out());
                default -> assertTrue(r.out().contains("success"), r.out());
            }
        }
    }

    @Test
    void unsignedRequestIsRefused() throws Exception {
        refused(producer(null, null), okTopic, "username cannot be null.");
    }
}
