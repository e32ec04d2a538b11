// Consumes a topic from the first offset with Apache's Java push consumer and prints how many
// distinct messages (by UNIQ_KEY message id) arrived, for scripts that check a consumer reads
// every message (scripts/replication-failover.sh reads them from a slave after the master died).
// Needs Apache's rocketmq-client on the classpath (e.g. the classpath scripts/apache-rocketmq.sh
// builds from compat/java/apache/pom.xml):
//
//   java -cp <classpath> ConsumeAll.java <namesrv> <topic> <expected count> <timeout seconds>
//
// Exits 0 once `expected` distinct messages arrived, 1 on timeout (printing the count).
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

public class ConsumeAll {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: ConsumeAll <namesrv> <topic> <expected> <timeout s>");
            System.exit(2);
        }
        String namesrv = args[0];
        String topic = args[1];
        long expected = Long.parseLong(args[2]);
        long deadline = System.currentTimeMillis() + Long.parseLong(args[3]) * 1000;
        Set<String> seen = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer =
                new DefaultMQPushConsumer("ConsumeAll_" + System.nanoTime());
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("ConsumeAll_" + System.nanoTime());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPollNameServerInterval(1000);
        consumer.setConsumeMessageBatchMaxSize(32);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                seen.add(m.getMsgId());
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        while (seen.size() < expected && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        consumer.shutdown();
        System.out.println("java consumer (rocketmq-client " + org.apache.rocketmq.common.MQVersion
                .getVersionDesc(org.apache.rocketmq.common.MQVersion.CURRENT_VERSION)
                + "): " + seen.size() + " of " + expected + " messages");
        System.exit(seen.size() >= expected ? 0 : 1);
    }
}
