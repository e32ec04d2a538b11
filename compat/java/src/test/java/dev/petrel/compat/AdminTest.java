package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/** DefaultMQAdminExt from rocketmq-tools. */
class AdminTest extends CompatBase {

    @Test
    void clusterInfoListsTheBroker() throws Exception {
        var info = Env.admin().examineBrokerClusterInfo();
        assertEquals(1, info.getClusterAddrTable().size(), "clusters: " + info.getClusterAddrTable());
        var cluster = info.getClusterAddrTable().entrySet().iterator().next();
        assertEquals(1, cluster.getValue().size());
        String brokerName = cluster.getValue().iterator().next();
        var bd = info.getBrokerAddrTable().get(brokerName);
        assertNotNull(bd, "brokerAddrTable has " + brokerName);
        assertEquals(cluster.getKey(), bd.getCluster());
        assertEquals(brokerName, bd.getBrokerName());
        assertEquals(Set.of(0L), bd.getBrokerAddrs().keySet(), "one master, id 0");
        assertTrue(bd.getBrokerAddrs().get(0L).startsWith("127.0.0.1:"), bd.getBrokerAddrs().toString());
        note("cluster=" + cluster.getKey() + " broker=" + brokerName + " addrs=" + bd.getBrokerAddrs());
    }

    @Test
    void topicRouteAndUpdateTopicConfig() throws Exception {
        String topic = Env.name("route");
        DefaultMQAdminExt admin = Env.admin();
        String addr = Env.brokerAddr();
        Env.createTopic(topic, 4);
        var route = admin.examineTopicRouteInfo(topic);
        assertEquals(1, route.getBrokerDatas().size());
        assertEquals(1, route.getQueueDatas().size());
        var qd = route.getQueueDatas().get(0);
        assertEquals(4, qd.getReadQueueNums());
        assertEquals(4, qd.getWriteQueueNums());
        assertEquals(6, qd.getPerm());
        assertEquals(route.getBrokerDatas().get(0).getBrokerName(), qd.getBrokerName());
        note("route: brokerDatas=" + route.getBrokerDatas() + " queueDatas=" + route.getQueueDatas()
                + " orderTopicConf=" + route.getOrderTopicConf() + " filterServerTable=" + route.getFilterServerTable());

        // update: 8 write / 6 read queues, read-only perm 4
        admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 6, 8, 4));
        Env.await(() -> {
            try {
                var r = admin.examineTopicRouteInfo(topic);
                return r.getQueueDatas().get(0).getWriteQueueNums() == 8;
            } catch (Exception e) {
                return false;
            }
        }, 15_000, "updated route");
        var qd2 = admin.examineTopicRouteInfo(topic).getQueueDatas().get(0);
        assertEquals(6, qd2.getReadQueueNums());
        assertEquals(8, qd2.getWriteQueueNums());
        assertEquals(4, qd2.getPerm());
        TopicConfig tc = admin.examineTopicConfig(addr, topic);
        assertEquals(6, tc.getReadQueueNums());
        assertEquals(8, tc.getWriteQueueNums());
        assertEquals(4, tc.getPerm());
        assertTrue(admin.fetchAllTopicList().getTopicList().contains(topic), "topic list");
    }

    @Test
    void subscriptionGroupCreateAndRead() throws Exception {
        String group = Env.name("sg");
        DefaultMQAdminExt admin = Env.admin();
        String addr = Env.brokerAddr();
        Line.createSubGroup(admin, addr, group, 5);
        var cfg = admin.examineSubscriptionGroupConfig(addr, group);
        assertNotNull(cfg, "group config read back");
        assertEquals(group, cfg.getGroupName());
        assertEquals(5, cfg.getRetryMaxTimes());
        assertTrue(cfg.isConsumeBroadcastEnable());
        assertTrue(cfg.isConsumeEnable());
        note("group config: retryQueueNums=" + cfg.getRetryQueueNums() + " brokerId=" + cfg.getBrokerId()
                + " whichBrokerWhenConsumeSlowly=" + cfg.getWhichBrokerWhenConsumeSlowly());
    }

    @Test
    void consumeStatsCountsConsumedMessages() throws Exception {
        String topic = Env.name("stats");
        String group = Env.name("stg");
        Env.createTopic(topic, 2);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        for (int i = 0; i < 10; i++) p.send(new Message(topic, "S", utf8("s-" + i)));
        List<MessageExt> got = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer c = Env.pushConsumer(group);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            got.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        started(c);
        Env.await(() -> got.size() >= 10, 20_000, "10 messages consumed");
        // offsets are committed every 5 s; wait until the broker has them
        Env.await(() -> {
            try {
                var cs = Env.admin().examineConsumeStats(group);
                long consumer = 0;
                for (var w : cs.getOffsetTable().values()) consumer += w.getConsumerOffset();
                return consumer == 10;
            } catch (Exception e) {
                return false;
            }
        }, 20_000, "consumer offsets 10 at the broker");
        var cs = Env.admin().examineConsumeStats(group);
        long broker = 0, consumer = 0;
        Set<Integer> queues = new HashSet<>();
        for (var e : cs.getOffsetTable().entrySet()) {
            assertEquals(topic, e.getKey().getTopic());
            queues.add(e.getKey().getQueueId());
            broker += e.getValue().getBrokerOffset();
            consumer += e.getValue().getConsumerOffset();
            assertTrue(e.getValue().getLastTimestamp() > 0, "lastTimestamp of " + e.getKey());
        }
        assertEquals(Set.of(0, 1), queues);
        assertEquals(10, broker);
        assertEquals(10, consumer);
        assertEquals(0, cs.computeTotalDiff());
        StringBuilder sb = new StringBuilder("consumeTps=" + cs.getConsumeTps());
        for (var e : cs.getOffsetTable().entrySet()) sb.append(" q").append(e.getKey().getQueueId()).append("{broker=")
                .append(e.getValue().getBrokerOffset()).append(",consumer=").append(e.getValue().getConsumerOffset())
                .append(",lastTimestamp>0=").append(e.getValue().getLastTimestamp() > 0).append('}');
        note(sb.toString());
    }

    @Test
    void queryByKeyAndViewById() throws Exception {
        String topic = Env.name("query");
        Env.createTopic(topic, 2);
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        String key = "qk-" + Env.RUN;
        SendResult r = p.send(new Message(topic, "Q", key, utf8("find-me")));
        for (int i = 0; i < 3; i++) p.send(new Message(topic, "Q", "other-" + i, utf8("other")));
        long now = System.currentTimeMillis();
        QueryResult[] q = new QueryResult[1];
        Env.await(() -> {
            try {
                q[0] = Env.admin().queryMessage(topic, key, 32, now - 3_600_000, now + 3_600_000);
                return !q[0].getMessageList().isEmpty();
            } catch (Exception e) {
                return false;
            }
        }, 15_000, "query by key");
        assertEquals(1, q[0].getMessageList().size());
        MessageExt byKey = q[0].getMessageList().get(0);
        assertEquals("find-me", str(byKey.getBody()));
        assertEquals(key, byKey.getKeys());

        MessageExt byUniq = Env.admin().viewMessage(topic, r.getMsgId());
        assertEquals("find-me", str(byUniq.getBody()));
        assertEquals(r.getQueueOffset(), byUniq.getQueueOffset());

        MessageExt byOffsetId = Env.admin().viewMessage(topic, r.getOffsetMsgId());
        assertEquals("find-me", str(byOffsetId.getBody()));
        assertEquals(topic, byOffsetId.getTopic());
        assertEquals(r.getOffsetMsgId(), Env.offsetMsgId(byOffsetId));
    }

    @Test
    void resetOffsetByTimestampRewindsALiveConsumer() throws Exception {
        String topic = Env.name("reset");
        String group = Env.name("rsg");
        Env.createTopic(topic, 2);
        long before = System.currentTimeMillis() - 1000;
        DefaultMQProducer p = started(Env.producer(Env.name("pg")));
        for (int i = 0; i < 10; i++) p.send(new Message(topic, "R", utf8("r-" + i)));
        List<MessageExt> got = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer c = Env.pushConsumer(group);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            got.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        started(c);
        Env.await(() -> got.size() >= 10, 20_000, "first pass");
        Thread.sleep(1000);
        int firstPass = got.size();
        Map<MessageQueue, Long> reset = Env.admin().resetOffsetByTimestamp(topic, group, before, true);
        note("reset answer: " + reset);
        assertEquals(2, reset.size(), "one offset per queue");
        for (Long off : reset.values()) assertEquals(0L, off);
        Env.await(() -> got.size() >= firstPass + 10, 20_000, "messages again after the reset");
        Set<String> again = new HashSet<>();
        for (MessageExt m : got.subList(firstPass, got.size())) again.add(str(m.getBody()));
        assertEquals(10, again.size());
        assertFalse(again.isEmpty());
    }
}
