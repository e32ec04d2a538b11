#!/usr/bin/env python3
"""Summarises scripts/compare-apache.sh's results.jsonl as Markdown tables (medians and ranges).

usage: scripts/compare-apache-report.py target/compare-apache/results.jsonl
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
machine = rows[0].get("machine", {}) if rows else {}
rows = [r for r in rows if "phase" in r]
SYSTEMS = ("petrel", "apache")


def pick(system, flush, phase, rounds_only=True):
    return [r for r in rows if r["system"] == system and r["flush"] == flush and r["phase"] == phase
            and (r["round"] > 0 or not rounds_only)]


def values(system, flush, phase, get):
    out = []
    for r in pick(system, flush, phase):
        try:
            v = get(r)
        except (KeyError, TypeError, ZeroDivisionError):
            continue
        if v is not None:
            out.append(v)
    return out


def med(vs):
    return statistics.median(vs) if vs else None


def fmt(v, unit=""):
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}{unit}"
    return f"{v:.2f}{unit}" if abs(v) < 10 else f"{v:.1f}{unit}"


def cell(vs, unit=""):
    if not vs:
        return "–"
    s = fmt(med(vs), unit)
    if len(vs) > 1:
        s += f" ({fmt(min(vs))}–{fmt(max(vs))})"
    return s


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def table(title, header, lines):
    print(f"\n**{title}**\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for line in lines:
        print("| " + " | ".join(line) + " |")


def rate(r):
    return r["result"]["msgs_per_sec"]


def compare_line(label, flush, phase, get, unit="", lower_is_better=False):
    p = values("petrel", flush, phase, get)
    a = values("apache", flush, phase, get)
    mp, ma = med(p), med(a)
    r = ratio(ma, mp) if lower_is_better else ratio(mp, ma)
    return [label, cell(p, unit), cell(a, unit), r]


print(f"Machine: {machine.get('cpus')} vCPU, {machine.get('mem_kib', 0) // 1048576} GiB; Petrel "
      f"{machine.get('petrel_commit')}, Apache RocketMQ {machine.get('apache_version')} "
      f"(broker heap {machine.get('apache_heap')}); {machine.get('rounds')} rounds, "
      f"{machine.get('secs')} s measured per phase after {machine.get('warmup')} s warm-up; {machine.get('date')}.")
print("Each cell: median of the rounds (lowest–highest).")

table("Throughput, msgs/s (ratio = Petrel / Apache)",
      ["Load", "Petrel", "Apache RocketMQ", "Ratio"],
      [compare_line("Java client, 1 KiB single sends, 64 threads", "ASYNC_FLUSH", "j_1k", rate),
       compare_line("Java client, 4 KiB single sends, 64 threads", "ASYNC_FLUSH", "j_4k", rate),
       compare_line("Java client, batches of 32 × 1 KiB, 16 threads", "ASYNC_FLUSH", "j_b32", rate),
       compare_line("petrel bench, 1 KiB single sends, 64 senders", "ASYNC_FLUSH", "p_1k", rate),
       compare_line("petrel bench, batches of 32 × 1 KiB, 16 senders", "ASYNC_FLUSH", "p_b32", rate),
       compare_line("SYNC_FLUSH: Java client, 1 KiB single, 64 threads", "SYNC_FLUSH", "j_1k", rate),
       compare_line("SYNC_FLUSH: Java client, batches of 32, 16 threads", "SYNC_FLUSH", "j_b32", rate),
       compare_line("Consume a backlog: Java push consumer (20 threads)", "ASYNC_FLUSH", "j_consume", rate),
       compare_line("Consume a backlog: petrel bench consume", "ASYNC_FLUSH", "p_consume", rate)])

sync_lines = []
for s in SYSTEMS:
    a = med(values(s, "ASYNC_FLUSH", "j_1k", rate))
    y = med(values(s, "SYNC_FLUSH", "j_1k", rate))
    ab = med(values(s, "ASYNC_FLUSH", "j_b32", rate))
    yb = med(values(s, "SYNC_FLUSH", "j_b32", rate))
    sync_lines.append([s, f"{100 * y / a:.0f} %" if a and y else "–", f"{100 * yb / ab:.0f} %" if ab and yb else "–"])
table("SYNC_FLUSH as a share of ASYNC_FLUSH (Java client)", ["System", "single sends", "batches of 32"], sync_lines)


def lat(key, q):
    return lambda r: r["result"][key][q] / 1000.0


lines = []
for label, phase, key in (("send, saturated (j_1k)", "j_1k", "latency_us"),
                          ("send, at half of own peak (j_e2e)", "j_e2e", "send_latency_us"),
                          ("end to end, at half of own peak (j_e2e)", "j_e2e", "end_to_end_latency_us"),
                          ("send, same fixed rate (j_e2e_fixed)", "j_e2e_fixed", "send_latency_us"),
                          ("end to end, same fixed rate (j_e2e_fixed)", "j_e2e_fixed", "end_to_end_latency_us")):
    if not values("petrel", "ASYNC_FLUSH", phase, rate) and not values("apache", "ASYNC_FLUSH", phase, rate):
        continue
    for q in ("p50", "p99", "p999"):
        lines.append(compare_line(f"{label} {q}", "ASYNC_FLUSH", phase, lat(key, q), " ms", lower_is_better=True))
lines.append(compare_line("rate of the half-peak run, msgs/s", "ASYNC_FLUSH", "j_e2e", rate))
if values("petrel", "ASYNC_FLUSH", "j_e2e_fixed", rate):
    lines.append(compare_line("rate of the fixed-rate run, msgs/s", "ASYNC_FLUSH", "j_e2e_fixed", rate))
table("Latency, Java client, 1 KiB, ASYNC_FLUSH (ratio = Apache / Petrel: above 1 means Petrel is faster)",
      ["Measure", "Petrel", "Apache RocketMQ", "Ratio"], lines)


def peak(kind):
    def per_round(system):
        out = []
        for rnd in sorted({r["round"] for r in rows if r["round"] > 0}):
            vs = [r[kind] for r in rows if r["system"] == system and r["round"] == rnd and kind in r
                  and r["flush"] == "ASYNC_FLUSH"]
            if vs:
                out.append(max(vs) / 1024.0)
        return out
    return per_round


def cpu_per_million(phase, count_key):
    def get(r):
        n = r["result"][count_key]
        return r["cpu_s"] / n * 1e6 if n else None
    return get


mem_lines = []
for label, kind in (("peak anonymous memory (RssAnon), MiB", "anon_peak_kib"), ("peak RSS, MiB", "rss_peak_kib")):
    p, a = peak(kind)("petrel"), peak(kind)("apache")
    mem_lines.append([label, cell(p), cell(a), ratio(med(p), med(a))])
mem_lines.append(compare_line("CPU s per million messages, Java 1 KiB single sends", "ASYNC_FLUSH", "j_1k",
                              cpu_per_million("j_1k", "acked_total"), lower_is_better=False))
mem_lines.append(compare_line("CPU s per million messages, petrel bench batches of 32", "ASYNC_FLUSH", "p_b32",
                              cpu_per_million("p_b32", "messages"), lower_is_better=False))
def other_cpu(count_key):
    def get(r):
        n = r["result"][count_key]
        return (r["machine_cpu_s"] - r["cpu_s"]) / n * 1e6 if n and "machine_cpu_s" in r else None
    return get


mem_lines.append(compare_line("CPU s per million messages outside the broker (load generator), Java 1 KiB single",
                              "ASYNC_FLUSH", "j_1k", other_cpu("acked_total")))
mem_lines.append(compare_line("restart after kill -9 (small store) until a send is acknowledged, ms",
                              "ASYNC_FLUSH", "restart", lambda r: r["result"]["ms"]))
table("Resources (broker processes: Apache = broker + name server JVMs; ratio = Petrel / Apache)",
      ["Measure", "Petrel", "Apache RocketMQ", "Ratio"], mem_lines)

store = [r for r in rows if r["round"] == 0]
if store:
    fills = {}
    for r in store:
        if r["phase"].startswith("fill_gib_"):
            g = int(r["phase"].rsplit("_", 1)[1])
            res = r["result"]
            n = res.get("messages", 0)
            fills.setdefault(g, {})[r["system"]] = (res.get("msgs_per_sec"), r["cpu_s"] / n * 1e6 if n else None)
    lines = []
    for g in sorted(fills):
        line = [str(g)]
        for s in SYSTEMS:
            v = fills[g].get(s, (None, None))
            line += [fmt(v[0]), fmt(v[1])]
        lines.append(line)
    table("Large store: filling the CommitLog 1 GiB at a time (petrel bench, batches of 32 × 1 KiB, 16 senders)",
          ["GiB", "Petrel msgs/s", "Petrel CPU s / M msgs", "Apache msgs/s", "Apache CPU s / M msgs"], lines)
    lines = []
    for label, phase, get in (("memory after the fill: anonymous, MiB", "store_memory", lambda r: r["result"]["anon_kib"] / 1024),
                              ("memory after the fill: RSS, MiB", "store_memory", lambda r: r["result"]["rss_kib"] / 1024),
                              ("restart after kill -9, page cache dropped, until a send is acknowledged, ms", "store_restart", lambda r: r["result"]["ms"]),
                              ("reading the whole store back from disk, msgs/s", "store_consume", lambda r: r["result"]["msgs_per_sec"])):
        p = [get(r) for r in store if r["system"] == "petrel" and r["phase"] == phase]
        a = [get(r) for r in store if r["system"] == "apache" and r["phase"] == phase]
        lines.append([label, cell(p), cell(a)])
    table("Large store", ["Measure", "Petrel", "Apache RocketMQ"], lines)
