package dev.petrel.compat;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/** What differs between the 4.9.x and 5.x client APIs (packages moved in 5.0). 5.x side. */
final class Line {
    static final boolean FIVE = true;

    static void broadcasting(DefaultMQPushConsumer c) {
        c.setMessageModel(MessageModel.BROADCASTING);
    }

    static void createSubGroup(DefaultMQAdminExt admin, String addr, String group, int retryMax) throws Exception {
        SubscriptionGroupConfig cfg = new SubscriptionGroupConfig();
        cfg.setGroupName(group);
        cfg.setRetryMaxTimes(retryMax);
        cfg.setConsumeBroadcastEnable(true);
        admin.createAndUpdateSubscriptionGroupConfig(addr, cfg);
    }

    static void setDeliverTimeMs(Message m, long at) {
        m.setDeliverTimeMs(at);
    }
}
