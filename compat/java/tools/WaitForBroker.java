// Waits until a RocketMQ name server lists a broker address in its cluster info.
// JDK only (run as `java WaitForBroker.java ...`), so scripts need no client jar and no Python.
//
//   java WaitForBroker.java <namesrv host:port> <broker host:port> <timeout seconds>
//
// Sends GET_BROKER_CLUSTER_INFO (request code 106) with a JSON header and exits 0 once the
// answer is SUCCESS (0) and its body names the broker address; exits 1 on timeout.
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

public class WaitForBroker {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: WaitForBroker <namesrv host:port> <broker host:port> <timeout s>");
            System.exit(2);
        }
        String[] ns = args[0].split(":");
        String broker = args[1];
        long deadline = System.currentTimeMillis() + Long.parseLong(args[2]) * 1000;
        String last = "no answer";
        int opaque = 1;
        while (System.currentTimeMillis() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(ns[0], Integer.parseInt(ns[1])), 1000);
                s.setSoTimeout(3000);
                byte[] header = ("{\"code\":106,\"extFields\":{},\"flag\":0,\"language\":\"JAVA\",\"opaque\":"
                        + (opaque++) + ",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":479}")
                        .getBytes(StandardCharsets.UTF_8);
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.writeInt(4 + header.length);
                out.writeInt(header.length); // serialize type JSON (0) in the high byte
                out.write(header);
                out.flush();
                DataInputStream in = new DataInputStream(s.getInputStream());
                int total = in.readInt();
                int mark = in.readInt();
                int headerLen = mark & 0xFFFFFF;
                byte[] h = new byte[headerLen];
                in.readFully(h);
                byte[] body = new byte[total - 4 - headerLen];
                in.readFully(body);
                String hs = new String(h, StandardCharsets.UTF_8);
                String bs = new String(body, StandardCharsets.UTF_8);
                if ((mark >>> 24) == 0 && hs.contains("\"code\":0") && bs.contains("\"" + broker + "\"")) {
                    System.out.println("registered: " + broker);
                    return;
                }
                last = hs + " " + bs;
            } catch (Exception e) {
                last = e.toString();
            }
            Thread.sleep(500);
        }
        System.err.println("timed out waiting for " + broker + " at " + args[0] + ": " + last);
        System.exit(1);
    }
}
