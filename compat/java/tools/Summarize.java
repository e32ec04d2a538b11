// Reads Surefire XML reports of the compat suite and prints one summary line per run, plus
// (with --md FILE) a Markdown table test x run and the mqadmin output shapes side by side.
// JDK only: `java Summarize.java [--md FILE] LABEL::REPORT_DIR[::COMPAT_OUT_DIR] ...`
// Exit status: 0; the caller decides what a failure means.
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public class Summarize {
    record Result(String status, String message) {}

    public static void main(String[] args) throws Exception {
        String md = null;
        List<String[]> runs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--md")) md = args[++i];
            else runs.add(args[i].split("::", 3));
        }
        Map<String, Map<String, Result>> byTest = new LinkedHashMap<>();
        List<String> labels = new ArrayList<>();
        for (String[] run : runs) {
            String label = run[0];
            labels.add(label);
            int pass = 0, fail = 0, skip = 0;
            File[] files = new File(run[1]).listFiles((d, n) -> n.startsWith("TEST-") && n.endsWith(".xml"));
            if (files == null || files.length == 0) {
                System.out.println("java-compat " + label + ": no test reports (build or start failed)");
                continue;
            }
            java.util.Arrays.sort(files);
            for (File f : files) {
                var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(f);
                NodeList cases = doc.getElementsByTagName("testcase");
                for (int i = 0; i < cases.getLength(); i++) {
                    Element tc = (Element) cases.item(i);
                    String cls = tc.getAttribute("classname");
                    cls = cls.substring(cls.lastIndexOf('.') + 1);
                    String name = tc.getAttribute("name").replaceAll("\\(\\)$", "");
                    Result r;
                    Element bad = first(tc, "failure", "error");
                    if (bad != null) {
                        String msg = bad.getAttribute("message");
                        if (msg.isEmpty()) msg = bad.getAttribute("type");
                        r = new Result("FAIL", oneLine(msg));
                        fail++;
                    } else if (first(tc, "skipped") != null) {
                        r = new Result("skip", oneLine(first(tc, "skipped").getAttribute("message")));
                        skip++;
                    } else {
                        r = new Result("pass", "");
                        pass++;
                    }
                    byTest.computeIfAbsent(cls + "." + name, k -> new LinkedHashMap<>()).put(label, r);
                }
            }
            System.out.println("java-compat " + label + ": " + pass + " passed, " + fail + " failed, " + skip + " skipped");
        }
        if (md == null) return;

        StringBuilder sb = new StringBuilder();
        sb.append("| Test |");
        for (String l : labels) sb.append(' ').append(l).append(" |");
        sb.append("\n|---|");
        for (String ignored : labels) sb.append("---|");
        sb.append('\n');
        for (var e : byTest.entrySet()) {
            sb.append("| `").append(e.getKey()).append("` |");
            for (String l : labels) {
                Result r = e.getValue().get(l);
                sb.append(' ').append(r == null ? "–" : r.status().equals("FAIL") ? "**FAIL**" : r.status()).append(" |");
            }
            sb.append('\n');
        }
        sb.append("\n#### Failure messages\n\n");
        for (var e : byTest.entrySet())
            for (String l : labels) {
                Result r = e.getValue().get(l);
                if (r != null && r.status().equals("FAIL"))
                    sb.append("- ").append(l).append(" `").append(e.getKey()).append("`: ").append(r.message().replace("|", "\\|")).append('\n');
            }
        // mqadmin output shapes, per run
        Map<String, Map<String, String>> shapes = new LinkedHashMap<>();
        for (String[] run : runs) {
            if (run.length < 3) continue;
            Path p = Path.of(run[2], "mqadmin-shapes.tsv");
            if (!Files.exists(p)) continue;
            for (String line : Files.readAllLines(p)) {
                String[] f = line.split("\t", 3);
                if (f.length == 3) shapes.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).put(run[0], "exit " + f[1] + ": " + f[2]);
            }
        }
        if (!shapes.isEmpty()) {
            sb.append("\n#### mqadmin output shape (first line; `x` = a word, tokens = words on the next lines)\n\n| Command |");
            for (String l : labels) sb.append(' ').append(l).append(" |");
            sb.append("\n|---|");
            for (String ignored : labels) sb.append("---|");
            sb.append('\n');
            for (var e : shapes.entrySet()) {
                sb.append("| ").append(e.getKey()).append(" |");
                for (String l : labels) sb.append(' ').append(e.getValue().getOrDefault(l, "–").replace("|", "\\|")).append(" |");
                sb.append('\n');
            }
        }
        Files.writeString(Path.of(md), sb.toString());
    }

    static Element first(Element parent, String... names) {
        for (String n : names) {
            NodeList l = parent.getElementsByTagName(n);
            if (l.getLength() > 0) return (Element) l.item(0);
        }
        return null;
    }

    static String oneLine(String s) {
        s = s.replaceAll("\\s+", " ").trim();
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }
}
