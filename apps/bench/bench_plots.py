"""The bench's gnuplot PNGs from bench_report.py's results and the raw CDF files."""
import os
import shutil
import subprocess
import sys

from bench_raw import g


def plots(r, raw, out):
    if not shutil.which("gnuplot"):
        print("bench_report: gnuplot not installed: no plots", file=sys.stderr)
        return []
    pd = f"{out}/plots"
    os.makedirs(pd, exist_ok=True)
    made = []
    term = "set terminal pngcairo size 1000,600 noenhanced font ',10'\n"

    def run(name, script, datafiles):
        if not any(os.path.exists(d) and os.path.getsize(d) for d in datafiles):
            return
        res = subprocess.run(["gnuplot"], input=term + f"set output '{pd}/{name}'\n" + script,
                             text=True, capture_output=True)
        if res.returncode == 0:
            made.append(f"{pd}/{name}")
        else:
            print(f"bench_report: gnuplot {name}: {res.stderr[-400:]}", file=sys.stderr)

    cdfs = [(f"{raw}/memif_latency.cdf", "homa-dp memif, 100 B, 1 outstanding"),
            (f"{raw}/null_latency.cdf", "homa-dp net_null (1 process), 100 B")]
    cdfs = [(p, t) for p, t in cdfs if os.path.exists(p)]
    if cdfs:
        plot = ", ".join(f"'{p}' using 1:2 with lines lw 2 title '{t}'" for p, t in cdfs)
        run("latency_cdf.png", "set title '100 B echo RTT CDF'\nset xlabel 'RTT (us)'\n"
            "set ylabel 'fraction <= RTT'\nset logscale x\nset key bottom right\nset grid\n"
            f"plot {plot}\n", [p for p, _ in cdfs])

    lines = []
    for w, e in (r["homa_memif"].get("workloads") or {}).items():
        for pct, ld in e["loads"].items():
            path = f"{pd}/slowdown_{w}_{pct}.dat"
            with open(path, "w") as f:
                for b in ld["by_size"]:
                    if b["slowdown_p99"] is not None:
                        f.write(f"{b['max_bytes']} {b['slowdown_p50']} {b['slowdown_p99']}\n")
            lines.append((path, f"{w.upper()} {pct}%"))
    if lines:
        plot = ", ".join(f"'{p}' using 1:3 with linespoints lw 2 title '{t} p99', "
                         f"'{p}' using 1:2 with linespoints dt 2 title '{t} p50'" for p, t in lines)
        run("slowdown.png", "set title 'homa-dp over memif: slowdown by message size (bucket upper bound)'\n"
            "set xlabel 'message size (bytes, bucket upper bound)'\nset ylabel 'slowdown'\n"
            "set logscale x\nset logscale y\nset grid\nset key outside right\n"
            f"plot {plot}\n", [p for p, _ in lines])

    series = [("scaling", "100 B echo"), ("scaling_100k", "100 KB echo")]
    rx = g(r, "rx_pipeline", "payload_64", "points") or []
    files, rates, cycles = [], [], []
    for key, label in series:
        sc = r["homa_memif"].get(key) or []
        if not sc:
            continue
        f1 = f"{pd}/{key}_memif.dat"
        with open(f1, "w") as f:
            for p in sc:
                cpp = p["busy_cycles_per_packet"]
                f.write(f"{p['live_rpcs']} {p['rpc_per_s'] / 1e6} {cpp if cpp else 'NaN'}\n")
        files.append(f1)
        rates.append(f"'{f1}' using 1:2 with linespoints lw 2 title 'homa-dp memif {label}: M RPC/s'")
        cycles.append(f"'{f1}' using 1:3 with linespoints lw 2 title 'homa-dp memif {label}: client busy cycles/packet'")
    if rx:
        f2 = f"{pd}/scaling_rx.dat"
        with open(f2, "w") as f:
            for p in rx:
                if p["mpps"] is not None:
                    f.write(f"{p['live_rpcs']} {p['mpps']} {p['cycles_per_packet']}\n")
        files.append(f2)
        rates.append(f"'{f2}' using 1:2 with linespoints lw 2 title 'RX DATA pipeline: Mpps'")
        cycles.append(f"'{f2}' using 1:3 with linespoints lw 2 title 'RX DATA pipeline: cycles/packet'")
    if files:
        run("scaling.png", "set multiplot layout 2,1 title 'Scaling with live RPCs (one core)'\n"
            "set logscale x\nset logscale y\nset grid\nset key outside right\n"
            "set xlabel 'live RPCs'\nset ylabel 'M RPC/s or Mpps'\n"
            f"plot {', '.join(rates)}\n"
            "set ylabel 'cycles per packet'\n"
            f"plot {', '.join(cycles)}\nunset multiplot\n", files)

    lines = []
    for w, o in (r["homa_memif"].get("overload") or {}).items():
        if not o["ran"] or not o["baseline_p99_us"]:
            continue
        path = f"{pd}/overload_{w}.dat"
        with open(path, "w") as f:
            for t, p99 in o["series"]:
                # A window with a lost arrival has no finite p99: plotted as a gap.
                f.write(f"{t} {p99 / o['baseline_p99_us'] if p99 is not None else 'NaN'}\n")
        lines.append((path, f"{w.upper()} (step {o['step_ms']:g} ms at {o['step_pct']:g} %)"))
    if lines:
        plot = ", ".join(f"'{p}' using 1:2 with lines lw 2 title '{t}'" for p, t in lines)
        run("overload.png", "set title 'homa-dp over memif: overload step, sliding-window p99 of short "
            "messages / baseline p99'\nset xlabel 'window start (ms since the step began)'\n"
            "set ylabel 'p99 / baseline p99'\nset logscale y\nset grid\nset key outside right\n"
            f"plot {plot}, 2 with lines dt 3 title 'recovered (2 x baseline)'\n", [p for p, _ in lines])

    gs = r["homa_memif"].get("goodput_by_size") or []
    if gs:
        f1 = f"{pd}/goodput_size.dat"
        with open(f1, "w") as f:
            for p in gs:
                f.write(f"{p['bytes']} {p['gbps']}\n")
        link = g(r, "limits", "testpmd_memif_1500", "gbps")
        extra = f", {link} with lines dt 3 title 'raw memif link, 1500 B frames (testpmd)'" if link else ""
        run("goodput_size.png", "set title 'homa-dp over memif: echo goodput by message size'\n"
            "set xlabel 'message size (bytes)'\nset ylabel 'Gbps (request + response payload)'\n"
            "set logscale x\nset grid\nset key top left\n"
            f"plot '{f1}' using 1:2 with linespoints lw 2 title 'homa-dp, 8 outstanding'{extra}\n", [f1])
    return made
