#!/usr/bin/env python3
"""Writes docs/PERFORMANCE.md and its chart from one `bench/run` (docs/bench.md).

Usage: report.py WORK_DIR REPORT.md

Reads WORK_DIR/results.jsonl (one JSON line per run: tuttle_e2e and the peers), micro.json
(Google Benchmark, optional) and expect.json (`tuttle generate --expect`). Every number in the
report comes from those files; the chart is drawn by gnuplot next to the report
(performance.png). Prints the table to stdout.
"""
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p'") or platform.processor()
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores visible"),
        ("Memory", f"{mem_kb / 1024 / 1024:.1f} GiB"),
        ("OS", sh(". /etc/os-release && echo $PRETTY_NAME") + ", Linux " + platform.release()),
        ("Compiler", sh("c++ --version | head -1")),
        ("Peers", ", ".join(v for v in (
            sh("rg --version | head -1"),
            "SEC " + sh("dpkg-query -W -f='${Version}' sec"),
            "syslog-ng " + sh("dpkg-query -W -f='${Version}' syslog-ng-core"),
        ) if v)),
        ("Tuttle", sh("git rev-parse --short HEAD") + (" (modified)" if sh("git status --porcelain") else "")),
    ]


def k(n):
    return f"{n / 1000:,.0f}K" if n >= 10000 else f"{n:,.0f}"


def num(v):
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def ms(v):
    return "" if v is None or v < 0 else f"{v:.1f}"


def main():
    work = pathlib.Path(sys.argv[1])
    report = pathlib.Path(sys.argv[2])
    runs = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()
            if line.strip()]
    by = {r["label"]: r for r in runs}
    expect = {}
    if (work / "expect.json").exists():
        expect = json.loads((work / "expect.json").read_text())
    ceiling = by.get("simdjson ceiling", {}).get("events_per_s")
    t1 = by.get("tuttle files, 1 thread", {})
    t2 = by.get("tuttle files, 2 threads", {})

    rows = []
    for r in runs:
        per_core = r.get("events_per_s_per_core", 0)
        check = r.get("check")
        check_text = ""
        if check is not None:
            check_text = "ok" if check.get("ok") else "FAILED: " + "; ".join(check.get("errors", []))
        elif r.get("mode") == "peer":
            out = r.get("output", [])
            check_text = (f"{int(out[0]):,} lines matched" if "rg" in r["label"] and out
                          else f"{r.get('output_lines', 0):,} alerts")
        rows.append([
            r["label"], str(r.get("threads", "")), f"{r.get('events', 0):,}",
            k(r.get("events_per_s", 0)), k(per_core),
            f"{per_core / ceiling:.0%}" if ceiling and r.get("mode") != "ceiling" else "",
            ms(r.get("latency_p50_ms")),
            ms(r.get("latency_p99_ms")) + (f" ({ms(r['latency_warmup_p99_ms'])} in the first "
                                           f"{r['latency_warmup_s']:g} s)"
                                           if r.get("latency_warmup_s") and
                                           r.get("latency_warmup_p99_ms", -1) >= 0 else ""),
            f"{r['rss_kb'] / 1024:,.0f}" if "rss_kb" in r and r.get("mode") not in ("ceiling", "peer") else "",
            f"{r['peak_open_groups']:,}" if "peak_open_groups" in r else "",
            f"{r['alerts']:,}" if "alerts" in r else "", check_text,
        ])
    header = ["run", "threads", "events", "events/s", "events/s per core", "of ceiling",
              "p50 ms", "p99 ms", "peak RSS MB", "peak open groups", "alerts", "check"]

    def table(head, body):
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(out)

    # Ratios against the peers, per core.
    ratios = []
    base = t1.get("events_per_s_per_core")
    for label in [r["label"] for r in runs if r.get("mode") in ("peer", "ceiling")]:
        other = by[label]["events_per_s_per_core"]
        if base and other:
            ratios.append([label, k(other), f"{base / other:.2f}x"])

    # Alerts agreement on the threshold rule every engine ran.
    agreement = []
    burst = expect.get("bursts")
    if burst is not None:
        agreement.append(["planted bursts (tuttle generate)", f"{burst}"])
        for label in ("tuttle files, 1 thread", "tuttle files, 2 threads", "tuttle kafka, 2 threads"):
            if label in by and by[label].get("check"):
                agreement.append([label, f"{by[label]['check'].get('burst_alerts')}"])
        for label in [r["label"] for r in runs if r.get("mode") == "peer" and "burst" in r["label"]]:
            agreement.append([label, f"{by[label].get('output_lines')}"])

    # Targets (issue 9), each with the measured value and the margin.
    targets = []

    def target(name, measured, goal, higher_better=True, unit=""):
        if measured is None:
            targets.append([name, "not run", f"{num(goal)}{unit}", ""])
            return
        met = measured >= goal if higher_better else measured <= goal
        margin = measured / goal if goal else 0
        targets.append([name, f"{num(measured)}{unit}", f"{'>=' if higher_better else '<='} {num(goal)}{unit}",
                        "met" if met else f"missed ({margin:.0%} of target)" if higher_better
                        else f"missed ({margin:.1f}x the limit)"])

    best_files = max((r.get("events_per_s_per_core", 0) for r in (t1, t2)), default=0) or None
    target("pipeline from files, events/s per core", best_files, 1_000_000)
    target("pipeline from files, share of the simdjson ceiling (per core)",
           best_files / ceiling * 100 if best_files and ceiling else None, 50, unit="%")
    corpus = [r for r in runs if "SigmaHQ" in r["label"]]
    target("with the SigmaHQ corpus, events/s per core",
           max((r["events_per_s_per_core"] for r in corpus), default=None), 300_000)
    kafka = [r for r in runs if r.get("mode") == "kafka" and r.get("rate", 0) == 0]
    target("from the Kafka mock cluster, events/s",
           max((r["events_per_s"] for r in kafka), default=None), 500_000)
    half = [r for r in runs if r.get("rate", 0) > 0 and r.get("latency_p99_ms", -1) >= 0]
    target("p99 event-to-alert latency at half the maximum rate",
           max((r["latency_p99_ms"] for r in half), default=None), 50, higher_better=False, unit=" ms")
    groups = by.get("tuttle 1M groups, 2 threads")
    target("peak RSS with 1M open correlation groups",
           groups["rss_kb"] / 1024 if groups and groups.get("peak_open_groups", 0) >= 1_000_000 else None,
           1024, higher_better=False, unit=" MB")
    target("speed-up from 1 to 2 threads (files)",
           t2["events_per_s"] / t1["events_per_s"] if t1 and t2 else None, 1.7, unit="x")

    micro = []
    if (work / "micro.json").exists():
        for b in json.loads((work / "micro.json").read_text()).get("benchmarks", []):
            if b.get("run_type") == "aggregate":
                continue
            items = b.get("items_per_second")
            bps = b.get("bytes_per_second")
            micro.append([b["name"] + (f" ({b['label']})" if b.get("label") else ""),
                          k(items) if items else "", f"{bps / 1e6:,.0f}" if bps else ""])

    chart = report.with_name("performance.png")
    data = work / "chart.dat"
    charted = [r for r in runs if r.get("events_per_s_per_core") and not r.get("rate")]
    with open(data, "w") as f:
        for r in charted:
            f.write(f"\"{r['label']}\" {r['events_per_s_per_core']:.0f}\n")
    top = max((r["events_per_s_per_core"] for r in charted), default=1)
    gp = f"""set terminal pngcairo size 1100,{140 + 28 * len(charted)} font 'sans,10'
set output '{chart}'
set title 'Events per second per core at full speed, one bench run ({datetime.date.today()})'
set style fill solid 0.8
set yrange [-0.5:{len(charted) - 0.5}]
set ytics scale 0
set xtics format '%.1s%c'
set grid xtics
set key off
set xrange [0:{top * 1.15:.0f}]
plot '{data}' using ($2*0.5):0:($2*0.5):(0.35):yticlabels(1) with boxxyerror lc rgb '#3a7bd5', \\
     '' using 2:0:(sprintf(' %.0fK', $2/1000)) with labels left font 'sans,9'
"""
    subprocess.run(["gnuplot"], input=gp, text=True, check=True)

    md = []
    md.append("# Performance\n")
    md.append("Written by `make bench` (`bench/run`, then `bench/report.py`) on "
              f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. Every number "
              "below comes from that run's results (`build/bench-work/results.jsonl`); nothing "
              "is typed by hand. How the bench works, and what each run means: "
              "[docs/bench.md](bench.md).\n")
    md.append("## Machine\n")
    md.append(table(["", ""], [[a, b] for a, b in machine()]) + "\n")
    md.append("## Commands\n")
    md.append("```sh\nmake bench            # the whole thing (about 10 minutes here)\n"
              "BENCH_RECORDS=500000 BENCH_MICRO=0 bench/run   # quicker\n```\n")
    gen = expect.get("records")
    md.append(f"Records: `tuttle generate -n {gen or '?'} --seed 1 --match-rate 0.01 --groups 10000` "
              f"(planted: {len(expect.get('alerts', []))} story alerts, {burst} denied-invocation "
              "bursts); the 1M-groups run uses `--seed 2 --match-rate 1 --groups 1000000 "
              "--events-per-second 50000`, with `--max-groups 4000000 --lateness 1`.\n")
    md.append("## Results\n")
    md.append(f"![events per second per core](performance.png)\n")
    md.append(table(header, rows) + "\n")
    md.append("*of ceiling*: events/s per core over the simdjson-only loop's. Latency: from the "
              "moment a record entered Tuttle (read from the file, or its Kafka timestamp) to its "
              "alert reaching the sinks; the half-rate runs report the alerts of their first 3 s (a consumer's "
              "fetches ramping up after the group joined) apart, in brackets; none for the pre-filled Kafka runs, whose records waited for "
              "the consumer group to join. Peak RSS is the whole process's: for the Kafka runs it "
              "includes the in-process broker and producer; none for the ceiling, which holds the "
              "whole file in memory so as not to measure reading it.\n")
    md.append("## Targets\n")
    md.append(table(["target", "measured", "goal", ""], targets) + "\n")
    md.append("## Against the ceiling and the peers (Tuttle from files, 1 thread)\n")
    md.append(table(["baseline", "events/s per core", "Tuttle is"], ratios) + "\n")
    if agreement:
        md.append("Alerts of the threshold rule (`mr_aws_lambda_invoke_denied_burst`: 10 denied "
                  "Lambda invocations from one address within 5 minutes) each engine raised:\n")
        md.append(table(["engine", "alerts"], agreement) + "\n")
    if micro:
        md.append("## Micro benchmarks (Google Benchmark, `build/bench/tuttle_bench`)\n")
        md.append(table(["benchmark", "items/s", "MB/s"], micro) + "\n")
    report.write_text("\n".join(md))
    print(table(header, rows))
    print()
    print(table(["target", "measured", "goal", ""], targets))
    print()
    print(table(["baseline", "events/s per core", "Tuttle is"], ratios))


if __name__ == "__main__":
    main()
