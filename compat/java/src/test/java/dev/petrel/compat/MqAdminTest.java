package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Apache's mqadmin (org.apache.rocketmq.tools.command.MQAdminStartup of the client's version) run
 * as a process for its everyday commands. Each command's exit status, stdout and stderr go to
 * compat-out/.../mqadmin/, and a one-line "shape" (header + token counts of the first lines)
 * to mqadmin-shapes.tsv so the two targets can be compared.
 */
class MqAdminTest {
    static final int N = 10;
    static String topic, group, group2, producerGroup, cluster, brokerAddr, brokerName;
    static DefaultMQProducer producer;
    static DefaultMQPushConsumer consumer;
    static SendResult first;
    static final List<MessageExt> consumed = new CopyOnWriteArrayList<>();
    static Path home;

    @BeforeAll
    static void setUp() throws Exception {
        topic = Env.name("mqadmin");
        group = Env.name("mag");
        group2 = Env.name("mag2");
        producerGroup = Env.name("mapg");
        Env.createTopic(topic, 4);
        cluster = Env.clusterName();
        brokerAddr = Env.brokerAddr();
        brokerName = Env.masters().keySet().iterator().next();
        Line.createSubGroup(Env.admin(), brokerAddr, group2, 16); // cloneGroupOffset's destination must exist
        producer = Env.producer(producerGroup);
        producer.start();
        for (int i = 0; i < N; i++) {
            SendResult r = producer.send(new Message(topic, "MA", "mk-" + i, ("mqadmin-" + i).getBytes(StandardCharsets.UTF_8)));
            if (i == 0) first = r;
        }
        consumer = Env.pushConsumer(group);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            consumed.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        Env.await(() -> consumed.size() >= N, 25_000, "mqadmin fixture consumed");
        prepareHome();
        Files.deleteIfExists(Env.OUT.resolve("mqadmin-shapes.tsv"));
        Thread.sleep(5_500); // offsets committed (every 5 s) before consumerProgress & co.
    }

    /** The directories mqadmin runs need (also used by other suites that run mqadmin). */
    static synchronized void prepareHome() throws Exception {
        // 4.9.x mqadmin reads ${rocketmq.home.dir}/conf/logback_tools.xml
        home = Env.OUT.resolve("mqadmin-home");
        Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("conf/logback_tools.xml"),
                "<configuration><appender name=\"F\" class=\"ch.qos.logback.core.FileAppender\"><file>"
                        + home.resolve("tools.log") + "</file><encoder><pattern>%d %p %c - %m%n</pattern></encoder>"
                        + "</appender><root level=\"INFO\"><appender-ref ref=\"F\"/></root></configuration>\n");
        Files.createDirectories(Env.OUT.resolve("mqadmin"));
    }

    @AfterAll
    static void tearDown() {
        if (consumer != null) consumer.shutdown();
        if (producer != null) producer.shutdown();
    }

    record Run(int exit, String out, String err) {
        String all() { return out + "\n" + err; }
    }

    static Run mqadmin(String name, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
                "-cp", System.getProperty("java.class.path"),
                "org.apache.rocketmq.tools.command.MQAdminStartup"));
        cmd.addAll(Arrays.asList(args));
        cmd.add("-n");
        cmd.add(Env.NAMESRV);
        File out = Env.OUT.resolve("mqadmin/" + name + ".out").toFile();
        File err = Env.OUT.resolve("mqadmin/" + name + ".err").toFile();
        // mqadmin's consumerStatus writes each client's running info to ./<timestamp>/<clientId>:
        // run it in the temporary home so nothing lands in the source tree.
        Process p = new ProcessBuilder(cmd).directory(home.toFile()).redirectOutput(out).redirectError(err).start();
        if (!p.waitFor(40, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("mqadmin " + name + " did not finish in 40 s");
        }
        Run r = new Run(p.exitValue(), Files.readString(out.toPath()), Files.readString(err.toPath()));
        Files.writeString(Env.OUT.resolve("mqadmin-shapes.tsv"), name + "\t" + r.exit() + "\t" + shape(r.out()) + "\n",
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        return r;
    }

    /** Header line (whitespace collapsed, values stripped of ids) + token counts of the next 3 lines. */
    static String shape(String out) {
        List<String> lines = new ArrayList<>();
        for (String l : out.split("\n")) if (!l.isBlank()) lines.add(l.trim());
        if (lines.isEmpty()) return "(empty)";
        StringBuilder sb = new StringBuilder();
        String head = lines.get(0).replaceAll("\\s+", " ");
        sb.append(head.startsWith("#") || head.startsWith("=") ? head.replaceAll("[0-9.:]{6,}", "<addr>") : head.replaceAll("[^ #:]+", "x"));
        sb.append(" | lines=").append(lines.size()).append(" | tokens=");
        for (int i = 1; i < Math.min(lines.size(), 4); i++) sb.append(i > 1 ? "," : "").append(lines.get(i).split("\\s+").length);
        return sb.toString();
    }

    static DynamicTest cmd(String name, String[] args, Consumer<Run> check) {
        return DynamicTest.dynamicTest(name, () -> {
            Run r = mqadmin(name, args);
            assertEquals(0, r.exit(), name + " exit status; stderr: " + tail(r.err()));
            assertFalse(r.all().contains("Exception"), name + " printed an exception: " + tail(r.all()));
            check.accept(r);
        });
    }

    static String tail(String s) {
        return s.length() > 1500 ? s.substring(0, 1500) + "..." : s;
    }

    static void has(Run r, String what) {
        assertTrue(r.out().contains(what), "expected '" + what + "' in: " + tail(r.out()));
    }

    static String[] a(String... s) {
        return s;
    }

    @TestFactory
    List<DynamicTest> everydayCommands() {
        String newTopic = Env.name("matopic");
        String newGroup = Env.name("magroup");
        String uniq = first.getMsgId();
        String offId = first.getOffsetMsgId();
        List<DynamicTest> t = new ArrayList<>();
        t.add(cmd("clusterList", a("clusterList"), r -> {
            has(r, "#Cluster Name");
            has(r, brokerAddr);
            for (String l : r.out().split("\n")) {
                if (l.contains(brokerAddr)) {
                    String[] tok = l.trim().split("\\s+");
                    // columns: cluster, broker, BID, addr, version, ...
                    assertEquals(brokerAddr, tok[3], "4th field is the address: " + l);
                    assertTrue(tok[4].matches("V\\d+_\\d+_\\d+.*"), "#Version is one token like V5_3_3: '" + l + "'");
                }
            }
        }));
        t.add(cmd("topicList", a("topicList"), r -> has(r, topic)));
        t.add(cmd("topicRoute", a("topicRoute", "-t", topic), r -> {
            has(r, "\"brokerDatas\"");
            has(r, "\"queueDatas\"");
            has(r, brokerAddr);
        }));
        t.add(cmd("topicStatus", a("topicStatus", "-t", topic), r -> {
            has(r, "#Broker Name");
            has(r, "#Max Offset");
            long sum = 0;
            int rows = 0;
            for (String l : r.out().split("\n")) {
                String[] tok = l.trim().split("\\s+");
                if (tok.length >= 4 && tok[0].equals(brokerName)) {
                    rows++;
                    sum += Long.parseLong(tok[3]);
                }
            }
            assertEquals(4, rows, "one row per queue");
            assertEquals(N, sum, "max offsets add up to the messages sent");
        }));
        t.add(cmd("topicClusterList", a("topicClusterList", "-t", topic), r -> has(r, cluster)));
        t.add(cmd("updateTopic", a("updateTopic", "-c", cluster, "-t", newTopic, "-r", "3", "-w", "3"), r -> {
            has(r, "success");
            try {
                Env.await(() -> {
                    try {
                        return Env.admin().examineTopicRouteInfo(newTopic).getQueueDatas().get(0).getWriteQueueNums() == 3;
                    } catch (Exception e) {
                        return false;
                    }
                }, 10_000, "route of the new topic");
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        }));
        t.add(cmd("deleteTopic", a("deleteTopic", "-c", cluster, "-t", newTopic), r -> {
            has(r, "success");
            boolean gone;
            try {
                gone = Env.admin().examineTopicRouteInfo(newTopic) == null;
            } catch (Exception e) {
                gone = true;
            }
            assertTrue(gone, "route of a deleted topic");
        }));
        t.add(cmd("updateSubGroup", a("updateSubGroup", "-c", cluster, "-g", newGroup, "-r", "3"), r -> has(r, "success")));
        t.add(cmd("deleteSubGroup", a("deleteSubGroup", "-c", cluster, "-g", newGroup), r -> has(r, "success")));
        t.add(cmd("consumerProgress", a("consumerProgress", "-g", group), r -> {
            has(r, "#Topic");
            has(r, topic);
            has(r, "Diff Total: 0");
        }));
        t.add(cmd("consumerConnection", a("consumerConnection", "-g", group), r -> {
            has(r, "#ClientId");
            has(r, "CLUSTERING");
            has(r, "CONSUME_PASSIVELY");
        }));
        t.add(cmd("producerConnection", a("producerConnection", "-g", producerGroup, "-t", topic), r -> has(r, "JAVA")));
        // 4.9.x's queryMsgById has no -t
        t.add(cmd("queryMsgById", Line.FIVE ? a("queryMsgById", "-t", topic, "-i", offId) : a("queryMsgById", "-i", offId), r -> {
            has(r, "mk-0");
            has(r, topic);
        }));
        t.add(cmd("queryMsgByUniqueKey", a("queryMsgByUniqueKey", "-t", topic, "-i", uniq), r -> has(r, "mk-0")));
        t.add(cmd("queryMsgByKey", a("queryMsgByKey", "-t", topic, "-k", "mk-3"), r -> {
            has(r, "#Message ID");
            assertEquals(2, r.out().split("\n").length, "header + one hit: " + r.out());
        }));
        t.add(cmd("queryMsgByOffset", a("queryMsgByOffset", "-t", topic, "-b", brokerName, "-i", "0", "-o", "0"), r -> {
            has(r, "OffsetID:");
            has(r, topic);
        }));
        t.add(cmd("printMsg", a("printMsg", "-t", topic, "-d", "true"), r -> {
            for (int i = 0; i < N; i++) has(r, "mqadmin-" + i);
        }));
        t.add(cmd("sendMessage", a("sendMessage", "-t", topic, "-p", "from-mqadmin", "-k", "mk-send"), r -> has(r, "SEND_OK")));
        t.add(cmd("queryCq", a("queryCq", "-t", topic, "-q", "0", "-i", "0", "-c", "5"), r -> assertFalse(r.out().isBlank(), "output")));
        t.add(cmd("brokerStatus", a("brokerStatus", "-b", brokerAddr), r -> {
            has(r, "brokerVersionDesc");
            has(r, "msgPutTotalTodayNow");
        }));
        t.add(cmd("getBrokerConfig", a("getBrokerConfig", "-b", brokerAddr), r -> {
            has(r, "brokerClusterName");
            has(r, "listenPort");
        }));
        t.add(cmd("updateBrokerConfig", a("updateBrokerConfig", "-b", brokerAddr, "-k", "fileReservedTime", "-v", "72"), r -> has(r, "success")));
        t.add(cmd("consumerStatus", a("consumerStatus", "-g", group), r -> has(r, "#ClientId")));
        t.add(cmd("statsAll", a("statsAll", "-t", topic), r -> {
            has(r, "#Topic");
            has(r, topic);
        }));
        t.add(cmd("brokerConsumeStats", a("brokerConsumeStats", "-b", brokerAddr), r -> has(r, "#Topic")));
        t.add(cmd("cloneGroupOffset", a("cloneGroupOffset", "-s", group, "-d", group2, "-t", topic), r -> has(r, "success")));
        t.add(cmd("resetOffsetByTime", a("resetOffsetByTime", "-g", group, "-t", topic, "-s", "now"), r -> has(r, topic)));
        t.add(cmd("getNamesrvConfig", a("getNamesrvConfig"), r -> has(r, "=====")));
        return t;
    }
}
