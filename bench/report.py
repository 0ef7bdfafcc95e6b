#!/usr/bin/env python3
"""Turns the Google Benchmark JSON files of one ./run bench into one table of ratios.

usage: report.py DIR   (DIR holds bench_*.json; writes DIR/results.json and DIR/ratios.png)

Each row puts a qwire measurement next to its baseline from the same run, so the ratio
survives a noisy machine; rows without a baseline report a value against a fixed target.
"""
import datetime
import json
import os
import platform
import subprocess
import sys

# (group, label, file, benchmark, baseline, metric, scale, unit, better, target)
# metric: a counter name or bytes_per_second; better: "higher" or "lower" (ratio or value).
ROWS = [
    ("framing", "pipeline 84 KB whole", "framing", "json_framer/pipeline/whole", "memchr_lines/pipeline/whole", "bytes_per_second", 1e-9, "GB/s", "higher", 0.4),
    ("framing", "pipeline 84 KB, 4 KiB reads", "framing", "json_framer/pipeline/4KiB", "memchr_lines/pipeline/4KiB", "bytes_per_second", 1e-9, "GB/s", "higher", 0.4),
    ("framing", "pipeline x200 16 MiB whole", "framing", "json_framer/pipeline_16MiB/whole", "memchr_lines/pipeline_16MiB/whole", "bytes_per_second", 1e-9, "GB/s", "higher", 0.4),
    ("framing", "pipeline x200 16 MiB, 4 KiB reads", "framing", "json_framer/pipeline_16MiB/4KiB", "memchr_lines/pipeline_16MiB/4KiB", "bytes_per_second", 1e-9, "GB/s", "higher", 0.4),
    ("framing", "schema 207 KB whole", "framing", "json_framer/schema/whole", "memchr_lines/schema/whole", "bytes_per_second", 1e-9, "GB/s", "higher", None),
    ("framing", "schema 207 KB, 4 KiB reads", "framing", "json_framer/schema/4KiB", "memchr_lines/schema/4KiB", "bytes_per_second", 1e-9, "GB/s", "higher", None),
    ("framing", "pipeline whole, byte at a time (before)", "framing", "json_framer_bytewise/pipeline/whole", "memchr_lines/pipeline/whole", "bytes_per_second", 1e-9, "GB/s", "higher", None),
    ("client", "qmp::client vs json::parse", "qmp_client", "client_pipeline", "bare_parse", "replies", 1e-3, "k replies/s", "higher", 0.9),
    ("client", "allocations per reply", "qmp_client", "client_pipeline", "bare_parse", "allocs_per_reply", 1, "allocs", "lower", None),
    ("qemu", "sequential: sync_client vs raw", "qemu_roundtrip", "sync_client_sequential", "raw_sequential", "round_trips", 1e-3, "k/s", "higher", 0.95),
    ("qemu", "sequential: CPU per command", "qemu_roundtrip", "sync_client_sequential", "raw_sequential", "cpu_us_per_cmd", 1, "us", "lower", 1.5),
    ("qemu", "sequential: bytes per command", "qemu_roundtrip", "sync_client_sequential", "raw_sequential", "bytes_per_cmd", 1, "bytes", "lower", 1.0),
    ("qemu", "pipelined OOB: epoll vs raw", "qemu_roundtrip", "epoll_pipelined_oob", "raw_pipelined_oob", "commands", 1e-3, "k/s", "higher", 0.95),
    ("qemu", "pipelined OOB: CPU per command", "qemu_roundtrip", "epoll_pipelined_oob", "raw_pipelined_oob", "cpu_us_per_cmd", 1, "us", "lower", 1.5),
    ("qemu", "pipelined OOB: bytes per command", "qemu_roundtrip", "epoll_pipelined_oob", "raw_pipelined_oob", "bytes_per_cmd", 1, "bytes", "lower", 1.0),
    ("qemu", "qtest pipelined readl: epoll vs raw", "qtest", "qwire_epoll_readl", "raw_readl", "readl", 1e-3, "k/s", "higher", None),
    ("adapters", "asio callbacks vs epoll (pipelined)", "asio", "asio_callbacks_pipelined", "epoll_pipelined", "commands", 1e-3, "k/s", "higher", None),
    ("adapters", "asio coroutines vs epoll (pipelined)", "asio", "asio_coroutines_pipelined", "epoll_pipelined", "commands", 1e-3, "k/s", "higher", None),
    ("adapters", "Qt vs epoll (pipelined)", "qt", "qt_pipelined", "epoll_pipelined", "commands", 1e-3, "k/s", "higher", None),
    ("adapters", "Qt vs epoll (sequential)", "qt", "qt_sequential", "epoll_sequential", "commands", 1e-3, "k/s", "higher", None),
    ("scale", "{n} connections, one loop: handshakes", "scale", "epoll_10k_connections/10000", None, "handshake_s", 1, "s", "lower", None),
    ("scale", "{n} connections: 10 commands each", "scale", "epoll_10k_connections/10000", None, "commands_per_s", 1e-3, "k cmd/s", "higher", None),
    ("scale", "{n} connections: RSS per idle one", "scale", "epoll_10k_connections/10000", None, "idle_bytes_per_conn", 1, "bytes", "lower", 4096),
    ("latency", "round trip p50, 100 conns x 2k events/s vs idle", "latency", "round_trip_under_flood/100/2", "round_trip_under_flood/0/0", "p50_us", 1, "us", "lower", None),
    ("latency", "round trip p99, 100 conns x 2k events/s vs idle", "latency", "round_trip_under_flood/100/2", "round_trip_under_flood/0/0", "p99_us", 1, "us", "lower", None),
]


def load(directory):
    runs = {}
    for name in os.listdir(directory):
        if name.startswith("bench_") and name.endswith(".json") and name != "results.json":
            with open(os.path.join(directory, name)) as f:
                runs[name[len("bench_"):-len(".json")]] = json.load(f)
    return runs


def find(run, benchmark):
    """The median of the repetitions when there are several, else the one run."""
    found = None
    for entry in run.get("benchmarks", []):
        name = entry.get("run_name", entry["name"])
        if name != benchmark and not name.startswith(benchmark + "/"):
            continue
        if entry.get("aggregate_name") == "median":
            return entry
        if entry.get("run_type") != "aggregate" and found is None:
            found = entry
    return found


def value(run, benchmark, metric):
    entry = find(run, benchmark) if run and benchmark else None
    if entry is None or entry.get("error_occurred"):
        return None
    return entry.get(metric)


def verdict(measure, target, better):
    if target is None or measure is None:
        return ""
    met = measure >= target if better == "higher" else measure <= target
    return "met" if met else "MISSED"


def build_rows(runs):
    rows = []
    for group, label, file, bench, base, metric, scale, unit, better, target in ROWS:
        run = runs.get(file)
        ours, theirs = value(run, bench, metric), value(run, base, metric)
        ratio = ours / theirs if ours is not None and theirs not in (None, 0) else None
        measure = ratio if base else ours
        if "{n}" in label:
            n = value(run, bench, "connections")
            label = label.format(n="{:,}".format(int(n)) if n else "?")
        rows.append({
            "group": group, "measure": label, "unit": unit,
            "qwire": None if ours is None else ours * scale,
            "baseline": None if theirs is None else theirs * scale,
            "ratio": ratio,
            "target": None if target is None else ("%s %g" % (">=" if better == "higher" else "<=", target)),
            "target_of": "ratio" if base else "value",
            "verdict": verdict(measure, target, better) if run else "not run",
        })
    return rows


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def number(x, ratio=False):
    if x is None:
        return "-"
    if ratio and abs(x) < 10:
        return "%.3f" % x  # enough to see which side of a target it falls
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x


def print_table(rows, host):
    print("qwire benchmarks, %s: %s, %d cores, load average %s at the end" % (
        host["date"], host["cpu"], host["cores"], " ".join("%.2f" % x for x in host["load_average"])))
    head = ("group", "measure", "unit", "qwire", "baseline", "ratio", "target", "")
    cells = [head] + [(r["group"], r["measure"], r["unit"], number(r["qwire"]), number(r["baseline"]),
                       number(r["ratio"], ratio=True), r["target"] or "", r["verdict"]) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    for i, c in enumerate(cells):
        print("  ".join(s.ljust(w) if j < 3 else s.rjust(w) if j < 7 else s for j, (s, w) in enumerate(zip(c, widths))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def chart(rows, directory):
    """A bar per ratio row, with its target marked; needs gnuplot (Debian gnuplot-nox)."""
    data = os.path.join(directory, "ratios.dat")
    with open(data, "w") as f:
        for r in rows:
            if r["ratio"] is not None:
                target = r["target"].split()[1] if r["target"] and r["target_of"] == "ratio" else "NaN"
                f.write('"%s" %g %s\n' % (r["measure"].replace('"', "'"), r["ratio"], target))
    script = f"""
set terminal pngcairo size 1200,800 noenhanced font ",10"
set output "{os.path.join(directory, 'ratios.png')}"
set title "qwire / baseline, measured in the same run (log scale; targets as points)"
set style data histograms
set style fill solid 0.6
set boxwidth 0.8
set xtics rotate by -40 left
set logscale y
set yrange [0.05:*]
set grid ytics mytics
set key top right
set bmargin 14
plot "{data}" using 2:xtic(1) title "ratio", "" using 0:3 with points pt 7 ps 1.5 title "target", 1 with lines dt 2 notitle
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("report: no chart: %s" % e, file=sys.stderr)


def main():
    directory = sys.argv[1]
    rows = build_rows(load(directory))
    host = machine()
    with open(os.path.join(directory, "results.json"), "w") as f:
        json.dump({"machine": host, "rows": rows}, f, indent=2)
    print_table(rows, host)
    chart(rows, directory)
    print("\n%s/results.json, %s/ratios.png" % (directory, directory))


if __name__ == "__main__":
    main()
