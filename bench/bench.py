#!/usr/bin/env python3
"""bench.py CFG.json - the measurements of `make bench` (started by bench/run.sh).

run.sh starts named (plaintext and native XoT), xotproxy, haproxy and dnsdist
and describes them in CFG.json; this script measures, prints the tables and
writes results/latest.tsv and results/latest.md. Stdlib only.

CPU: utime+stime of /proc/PID/stat (all threads), read after the server has
gone quiet; ticks are 10 ms, so per-operation CPU is the sum over all runs
divided by the number of operations. Peak RSS: `echo 5 > clear_refs` before a
run, VmHWM after it.
"""
import datetime
import json
import os
import platform
import selectors
import statistics
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "xotbench.py")

CFG = json.load(open(sys.argv[1]))
QUICK = CFG["quick"]
RUNS = 1 if QUICK else CFG.get("runs", 5)
W = CFG["workdir"]
CA = CFG["ca"]
PY = sys.executable

LABELS = {
    "a": "(a) direct TCP",
    "b": "(b) xotproxy",
    "c": "(c) haproxy",
    "d": "(d) dnsdist",
    "e": "(e) BIND XoT",
    "f": "(f) chain: xotproxy outbound + inbound",
    "g": "(g) xotproxy outbound -> BIND XoT",
}
PLAIN = "afg"           # contenders the client reaches over plaintext TCP/UDP

TSV = []          # rows: section, item, contender, metric, value, unit, target, status
NOTES = []
MISSED = []


def log(msg):
    print("%s %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def tsv(section, item, cont, metric, value, unit, target="", status=""):
    if value is None:
        value = ""
    elif isinstance(value, float):
        value = "%.6g" % value
    TSV.append([section, item, cont, metric, str(value), unit, target, status])


# ------------------------------------------------------------ /proc helpers

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return False
    return s[s.rindex(")") + 2] != "Z"


def ticks2(pid):
    """(utime, stime) in ticks, all threads."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()     # rest[0] is field 3 (state)
    return int(rest[11]), int(rest[12])      # fields 14, 15: utime, stime


def ticks(pid):
    return sum(ticks2(pid))


def user_ticks(pid):
    return ticks2(pid)[0]


def settled_ticks(pid, limit=3.0):
    """CPU ticks once the process has stopped accumulating CPU (bounded)."""
    end = time.monotonic() + limit
    last = ticks(pid)
    while time.monotonic() < end:
        time.sleep(0.05)
        cur = ticks(pid)
        if cur == last:
            return cur
        last = cur
    return last


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def clear_refs(pid):
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def settled_rss(pid, limit=20.0):
    """VmRSS (KiB) once three reads 0.3 s apart agree within 64 KiB (bounded)."""
    end = time.monotonic() + limit
    vals = [status_kb(pid, "VmRSS")]
    while time.monotonic() < end:
        time.sleep(0.3)
        vals.append(status_kb(pid, "VmRSS"))
        if len(vals) >= 3 and max(vals[-3:]) - min(vals[-3:]) <= 64:
            break
    return vals[-1]


def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


# ------------------------------------------------------------ contenders

class Cont:
    def __init__(self, key, d):
        self.key = key
        self.label = LABELS[key]
        self.port = d.get("port")
        self.tls = key not in PLAIN
        self.pid = d.get("pid")               # the TLS side (None for (a))
        self.error = d.get("error")

    def client_args(self):
        a = ["--port", str(self.port)]
        if self.tls:
            a += ["--tls", "--ca", CA]
        return a


CONTS = {k: Cont(k, CFG["contenders"][k]) for k in CFG["contenders"]}
NAMED_PID = CFG["named_pid"]


def ok_conts(keys):
    return [CONTS[k] for k in keys if not CONTS[k].error]


def run_client(args, timeout):
    p = subprocess.run([PY, CLIENT] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True)
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError("client failed (rc %d): %s" % (p.returncode, p.stderr.strip()[-300:]))


def probe():
    """Every contender answers a small AXFR with ALPN dot; else it is left out."""
    for c in CONTS.values():
        if c.error:
            continue
        try:
            r = run_client(["xfr", "--zone", "small.test", "--timeout", "10"] + c.client_args(), 30)
            if r["complete"] != 1:
                c.error = "probe AXFR of small.test failed: %s" % "; ".join(r["errors"])
        except Exception as e:  # noqa: BLE001
            c.error = "probe failed: %s" % e
        if c.error:
            log("%s left out: %s" % (c.label, c.error))


# ------------------------------------------------------------ formatting

def fmt(v, spec="%.3g"):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, int) and spec == "%.3g":
        return str(v)
    return spec % v


def ratio(x, y):
    if x is None or y is None or y == 0:
        return None
    return x / y


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(fmt(x) for x in r) + " |")
    return "\n".join(out)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ------------------------------------------------------------ 1. AXFR

def kdig_axfr(c, zone, out):
    cmd = ["kdig", "@127.0.0.1", "-p", str(c.port), "+time=20", "+retry=0"]
    if c.tls:
        cmd += ["+tls-ca=" + CA, "+tls-hostname=xot.test", "+nopadding"]
    else:
        cmd += ["+tcp"]
    cmd += [zone, "AXFR"]
    with open(out, "w") as f:
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, timeout=300)
        wall = time.perf_counter() - t0
    with open(out, "rb") as f:
        f.seek(max(0, os.path.getsize(out) - 4096))
        tail = f.read().decode(errors="replace")
    recs = msgs = nbytes = None
    for line in tail.splitlines():
        if line.startswith(";; Received "):
            parts = line.split()
            nbytes = int(parts[2])
            msgs = int(parts[4].lstrip("("))
            recs = int(parts[6])
    return wall, recs, msgs, nbytes, p.returncode


def bench_axfr():
    sizes = CFG["zones"]                       # [[zone, records], ...]
    conts = ok_conts("abcde")
    res = {z: {c.key: [] for c in conts} for z, _ in sizes}
    out = os.path.join(W, "kdig.out")
    for c in conts:                            # warm-up, not measured
        try:
            kdig_axfr(c, sizes[0][0], out)
        except subprocess.TimeoutExpired:
            pass
    for r in range(RUNS):
        for zone, n in sizes:
            order = conts[r % len(conts):] + conts[:r % len(conts)]
            for c in order:
                if c.pid:
                    clear_refs(c.pid)
                t0, n0 = (settled_ticks(c.pid) if c.pid else 0), settled_ticks(NAMED_PID)
                u0 = user_ticks(c.pid) if c.pid else 0
                try:
                    wall, recs, msgs, nbytes, rc = kdig_axfr(c, zone, out)
                except subprocess.TimeoutExpired:
                    wall, recs, msgs, nbytes, rc = None, None, None, None, "timeout"
                t1 = settled_ticks(c.pid) if c.pid else 0
                u1 = user_ticks(c.pid) if c.pid else 0
                n1 = settled_ticks(NAMED_PID)
                ok = recs == n + 1
                res[zone][c.key].append({
                    "ok": ok, "wall": wall if ok else None, "tls": t1 - t0, "user": u1 - u0, "named": n1 - n0,
                    "hwm": status_kb(c.pid, "VmHWM") if c.pid else None, "bytes": nbytes, "msgs": msgs,
                })
                log("axfr %s %-15s run %d: %s s, %s records (rc %s)" % (
                    zone, c.label, r + 1, fmt(wall, "%.3f"), recs, rc))
        os.unlink(out) if os.path.exists(out) else None

    rows = []
    summary = {}
    for zone, n in sizes:
        rr = res[zone]
        a, cc = rr.get("a"), rr.get("c")
        named_a = sum(x["named"] for x in a) / len(a) / HZ if a else None
        for c in conts:
            runs = rr[c.key]
            nok = sum(1 for x in runs if x["ok"])
            wall = med(x["wall"] for x in runs)
            # ratios: median over runs of the per-round ratio (interleaved pairs)
            ra = med(ratio(x["wall"], y["wall"]) for x, y in zip(runs, a)) if a else None
            rc = med(ratio(x["wall"], y["wall"]) for x, y in zip(runs, cc)) if cc else None
            named = sum(x["named"] for x in runs) / len(runs) / HZ
            user = None
            if c.key == "a":
                cpu = hwm = None
            elif c.key == "e":
                # the TLS side is named itself: its CPU beyond what (a) cost it
                cpu = named - named_a if named_a is not None else None
                hwm = med(x["hwm"] for x in runs)
            else:
                cpu = sum(x["tls"] for x in runs) / len(runs) / HZ
                user = sum(x["user"] for x in runs) / len(runs) / HZ
                hwm = med(x["hwm"] for x in runs)
            summary[(zone, c.key)] = {"wall": wall, "ra": ra, "rc": rc, "cpu": cpu, "hwm": hwm,
                                      "user": user}
            res_tick = 1.0 / HZ / len(runs)
            if cpu is None:
                cpu_s = "-"
            elif c.key == "e":
                cpu_s = fmt(cpu, "%.3f") if cpu > res_tick else "~0 (noise)"
            elif cpu < 0.5 * res_tick:
                cpu_s = "< %.3f" % res_tick                    # no tick in all the runs
            else:
                cpu_s = "%.3f (%.3f user)" % (cpu, user)
            rows.append([zone, c.label, "%d/%d" % (nok, len(runs)), fmt(wall, "%.3f"),
                         fmt(ra, "%.2f"), fmt(rc, "%.2f"), cpu_s, None,
                         (fmt(hwm / 1024, "%.1f") + (" (all of named)" if c.key == "e" else ""))
                         if hwm else "-", None, fmt(named, "%.2f")])
            item = "axfr %s (%d rr)" % (zone, n)
            tsv("axfr", item, c.key, "complete", "%d/%d" % (nok, len(runs)), "runs")
            tsv("axfr", item, c.key, "wall_median", wall, "s")
            walls = [x["wall"] for x in runs if x["wall"] is not None]
            tsv("axfr", item, c.key, "wall_min", min(walls) if walls else None, "s")
            tsv("axfr", item, c.key, "wall_max", max(walls) if walls else None, "s")
            tsv("axfr", item, c.key, "wall_ratio_to_a", ra, "x")
            tsv("axfr", item, c.key, "wall_ratio_to_c", rc, "x")
            tsv("axfr", item, c.key, "tls_side_cpu", cpu, "s/axfr")
            tsv("axfr", item, c.key, "tls_side_cpu_user", user, "s/axfr")
            tsv("axfr", item, c.key, "tls_side_peak_rss", hwm / 1024 if hwm else None, "MiB")
            tsv("axfr", item, c.key, "named_cpu", named, "s/axfr")
        # CPU and RSS ratios to (c)
        base = summary.get((zone, "c"), {})
        for row in rows[-len(conts):]:
            key = [k for k in LABELS if LABELS[k] == row[1]][0]
            s = summary[(zone, key)]
            shown = (s["cpu"] or 0) > (1.0 / HZ / RUNS if key == "e" else 0)
            s["cpu_rc"] = ratio(s["cpu"], base.get("cpu")) if shown else None
            s["hwm_rc"] = ratio(s["hwm"], base.get("hwm")) if key != "e" else None
            row[7] = fmt(s["cpu_rc"], "%.2f")
            row[9] = fmt(s["hwm_rc"], "%.2f")
            tsv("axfr", "axfr %s (%d rr)" % (zone, n), key, "tls_side_cpu_ratio_to_c", s["cpu_rc"], "x")
            tsv("axfr", "axfr %s (%d rr)" % (zone, n), key, "tls_side_peak_rss_ratio_to_c", s["hwm_rc"], "x")
    head = ["zone", "contender", "ok", "wall s", "/(a)", "/(c)", "TLS-side CPU s", "/(c)",
            "TLS-side peak RSS MiB", "/(c)", "named CPU s"]
    text = md_table(head, rows)
    text += ("\n\nOne AXFR by kdig (+nopadding); median of %d interleaved runs; wall ratios are "
             "medians of the per-round ratios. CPU: mean per AXFR (ticks summed over the runs). "
             "(e): TLS-side CPU = named's CPU for an XoT AXFR minus its CPU for a plaintext one; "
             "its RSS is named's whole peak RSS (zones included). 'user': the user-space part of the "
             "TLS side's CPU; the rest is kernel time (syscalls, TCP, wake-ups)." % RUNS)
    return text, summary


# ------------------------------------------------------------ 2. parallel

def bench_parallel():
    zone, n = CFG["par_zone"]
    npar = CFG["par_n"]
    ref = run_client(["xfr", "--zone", zone] + CONTS["a"].client_args(), 120)
    if ref["complete"] != 1 or ref["records"] != [n + 1]:
        raise RuntimeError("reference AXFR of %s failed: %s" % (zone, ref))
    digest = ref["digests"][0]
    conts = ok_conts("bc")
    res = {c.key: [] for c in conts}
    for r in range(RUNS):
        order = conts if r % 2 == 0 else conts[::-1]
        for c in order:
            clear_refs(c.pid)
            t0 = settled_ticks(c.pid)
            u0 = user_ticks(c.pid)
            try:
                x = run_client(["xfr", "--zone", zone, "--n", str(npar), "--expect", str(n + 1),
                                "--timeout", "60"] + c.client_args(), 180)
            except Exception as e:  # noqa: BLE001
                x = {"complete": 0, "wall": None, "digests": [], "errors": [str(e)]}
            t1 = settled_ticks(c.pid)
            x["cpu"] = (t1 - t0) / HZ
            x["user"] = (user_ticks(c.pid) - u0) / HZ
            x["hwm"] = status_kb(c.pid, "VmHWM")
            x["identical"] = x["digests"] == [digest]
            res[c.key].append(x)
            log("parallel %s run %d: %d/%d complete, identical %s, %s s, CPU %.2f s, HWM %d KiB%s" % (
                c.label, r + 1, x["complete"], npar, x["identical"], fmt(x["wall"], "%.2f"), x["cpu"],
                x["hwm"], (" errors: %s" % x["errors"]) if x.get("errors") else ""))
    rows, summary = [], {}
    for c in conts:
        runs = res[c.key]
        comp = sum(x["complete"] for x in runs)
        ident = all(x["identical"] and x["complete"] == npar for x in runs)
        wall = med(x["wall"] for x in runs)
        cpu = sum(x["cpu"] for x in runs) / len(runs)
        user = sum(x["user"] for x in runs) / len(runs)
        hwm = med(x["hwm"] for x in runs)
        summary[c.key] = {"cpu": cpu, "hwm": hwm, "wall": wall, "ok": ident, "user": user}
        rows.append([c.label, "%d/%d" % (comp, npar * len(runs)), "yes" if ident else "NO",
                     fmt(wall, "%.2f"), "%.3f (%.3f user)" % (cpu, user), None,
                     fmt(hwm / 1024, "%.1f"), fmt(max(x["hwm"] for x in runs) / 1024, "%.1f"), None])
        item = "%d parallel AXFR %s" % (npar, zone)
        tsv("parallel", item, c.key, "complete", "%d/%d" % (comp, npar * len(runs)), "axfrs")
        tsv("parallel", item, c.key, "identical", "yes" if ident else "no", "")
        tsv("parallel", item, c.key, "wall_median", wall, "s")
        tsv("parallel", item, c.key, "proxy_cpu", cpu, "s")
        tsv("parallel", item, c.key, "proxy_cpu_user", user, "s")
        tsv("parallel", item, c.key, "proxy_peak_rss", hwm / 1024, "MiB")
    for row, c in zip(rows, conts):
        base = summary.get("c", {})
        row[5] = fmt(ratio(summary[c.key]["cpu"], base.get("cpu")), "%.2f")
        row[8] = fmt(ratio(summary[c.key]["hwm"], base.get("hwm")), "%.2f")
    head = ["contender", "complete", "identical", "total s", "proxy CPU s", "/(c)",
            "peak RSS MiB (median)", "(max)", "/(c)"]
    text = md_table(head, rows)
    text += ("\n\n%d simultaneous AXFRs of %s (%d records each, %.1f MB in all) from one Python "
             "client process (threads); identical = record count and SHA-256 of every answer "
             "(DNS ID zeroed) equal the direct transfer's; %d interleaved runs." % (
                 npar, zone, n + 1, ref["bytes"] * npar / 1e6, RUNS))
    return text, summary


# ------------------------------------------------------------ 3. latency

def bench_latency():
    kept = CFG["lat_kept"]
    new = CFG["lat_new"]
    conts = ok_conts("abcde")
    res = {(c.key, q): [] for c in conts for q in ("SOA", "IXFR")}
    skipped = {}
    for r in range(RUNS):
        order = conts[r % len(conts):] + conts[:r % len(conts)]
        for q in ("SOA", "IXFR"):
            args = ["latmulti", "--ca", CA, "--zone", "small.test", "--qtype", q, "--kept", str(kept),
                    "--new", str(new)]
            for c in order:
                args += ["--target", "%s:%d:%s" % (c.key, c.port, "tls" if c.tls else "plain")]
            if q == "IXFR" and "d" in [c.key for c in conts]:
                # dnsdist 1.7 closes a DoT connection at the next query after an IXFR;
                # seen here: named then resets the other clients' TCP connections too.
                args += ["--skip-kept", "d"]
                skipped[("d", q)] = "n/a: closes the connection at the next query after an IXFR"
            args += ["--serial", str(CFG["small_serial"])]
            try:
                x = run_client(args, 600)
            except Exception as e:  # noqa: BLE001
                x = {c.key: {"kept_error": str(e), "new_error": str(e)} for c in conts}
            for c in conts:
                y = x.get(c.key, {})
                for k in ("kept_error", "new_error"):
                    if k in y:
                        log("latency %s %s: %s" % (c.label, q, y[k]))
                if (c.key, q) in skipped:
                    y = dict(y, kept_error=skipped[(c.key, q)])
                res[(c.key, q)].append(y)
        log("latency round %d done" % (r + 1))
    rows, summary = [], {}
    for c in conts:
        row = [c.label]
        for q in ("SOA", "IXFR"):
            runs = res[(c.key, q)]
            k = med(x.get("kept_us") for x in runs)
            nw = med(x.get("new_ms") for x in runs)
            # per round: this contender's median minus (a)'s, same round
            dk = med((x.get("kept_us") - y.get("kept_us"))
                     if x.get("kept_us") is not None and y.get("kept_us") is not None else None
                     for x, y in zip(runs, res.get(("a", q), [])))
            summary[(c.key, q)] = {"kept": k, "new": nw, "kept_delta": dk}
            kerr = next((x["kept_error"] for x in runs if "kept_error" in x), None)
            nerr = next((x["new_error"] for x in runs if "new_error" in x), None)
            row += [fmt(k, "%.0f") if k is not None else (kerr if kerr and kerr.startswith("n/a") else "fails: %s" % kerr),
                    fmt(dk, "%+.0f") if c.key != "a" else "-",
                    fmt(nw, "%.2f") if nw is not None else "fails: %s" % nerr]
            item = "%s small.test" % q
            tsv("latency", item, c.key, "kept_open_per_query", k, "us")
            tsv("latency", item, c.key, "kept_open_minus_direct", dk, "us")
            tsv("latency", item, c.key, "new_connection", nw, "ms")
        rows.append(row)
    head = ["contender", "SOA kept-open us", "minus (a)", "SOA new conn ms",
            "IXFR (up to date) kept-open us", "minus (a)", "IXFR new conn ms"]
    text = md_table(head, rows)
    text += ("\n\nClient-side, one Python process (TCP_NODELAY) alternating query by query between "
             "the contenders, so all see the same load: kept-open = median of %d sequential queries "
             "per contender on one connection each (after 20 warm-up); new conn = median of %d x "
             "(TCP connect + TLS 1.3 full handshake with chain check + query + answer); median over "
             "%d rounds; 'minus (a)' = median over rounds of (this - direct TCP). Zone small.test "
             "(40 records). On this VM a query that finds the CPUs idle pays ~60 us more in "
             "wake-ups than one that finds them busy, so absolute kept-open figures move between "
             "~20 and ~120 us with the foreign load." % (kept, new, RUNS))
    return text, summary


# ------------------------------------------------------------ 4. idle

def bench_idle():
    rows, summary = [], {}
    nprocs = 4
    for key in ("b", "c"):
        d = CFG["idle"].get(key)
        if not d or d.get("error"):
            rows.append([LABELS[key], "-", "-", "-", "-", (d or {}).get("error", "not run")])
            continue
        pid, port, want = d["pid"], d["port"], d["n"]
        rss0 = settled_rss(pid)
        per = [want // nprocs + (1 if i < want % nprocs else 0) for i in range(nprocs)]
        procs = [subprocess.Popen([PY, CLIENT, "idle", "--port", str(port), "--ca", CA, "--n", str(k)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for k in per]
        sel = selectors.DefaultSelector()
        for p in procs:
            sel.register(p.stdout, selectors.EVENT_READ, p)
        held, errs, pending = 0, [], len(procs)
        t0 = time.monotonic()
        end = t0 + 300
        while pending and time.monotonic() < end:
            for k, _ in sel.select(timeout=1):
                line = k.fileobj.readline()
                sel.unregister(k.fileobj)
                pending -= 1
                if line.startswith("ready "):
                    parts = line.split()
                    held += int(parts[1])
                    if len(parts) > 2:
                        errs.append(" ".join(parts[2:]))
                else:
                    errs.append("client ended: " + k.data.stderr.read()[-200:])
        setup = time.monotonic() - t0
        rss1 = settled_rss(pid)
        fds = nfds(pid)
        for p in procs:
            try:
                p.stdin.close()
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # bounded wait for the server to drop the connections
        end = time.monotonic() + 30
        while nfds(pid) > 64 and time.monotonic() < end:
            time.sleep(0.2)
        per_conn = (rss1 - rss0) / held if held else None
        summary[key] = {"per_conn": per_conn, "held": held, "want": want}
        note = "; ".join(errs[:2]) if errs else ("%.0f s to open, %d fds" % (setup, fds))
        rows.append([LABELS[key], "%d/%d" % (held, want), fmt(rss0 / 1024, "%.1f"), fmt(rss1 / 1024, "%.1f"),
                     fmt(per_conn, "%.1f"), note])
        tsv("idle", "idle TLS connections", key, "held", held, "conns")
        tsv("idle", "idle TLS connections", key, "rss_0", rss0 / 1024, "MiB")
        tsv("idle", "idle TLS connections", key, "rss_n", rss1 / 1024, "MiB")
        tsv("idle", "idle TLS connections", key, "rss_per_conn", per_conn, "KiB")
        log("idle %s: %d held, RSS %d -> %d KiB, %s KiB/conn" % (LABELS[key], held, rss0, rss1,
                                                                  fmt(per_conn, "%.1f")))
    head = ["contender", "connections held", "RSS with 0 MiB", "RSS with N MiB", "KiB per conn", "note"]
    text = md_table(head, rows)
    text += ("\n\nFresh server instances; N TLS 1.3 connections opened by %d Python processes "
             "(handshake done, ALPN dot), then held idle; per conn = (VmRSS with N - VmRSS with 0) / N. "
             "(c) needs 2 fds per connection (it connects to its backend at once; here a "
             "sink that accepts and holds) and this machine's hard fd limit is %s, so it holds "
             "fewer." % (nprocs, CFG["fd_limit"]))
    return text, summary


# ------------------------------------------------------------ 5. handshakes

def bench_handshakes():
    total = CFG["hs_n"]
    cases = [(c, None) for c in ok_conts("bcde")]
    if not CONTS["b"].error:
        cases.insert(1, (CONTS["b"], "prime256v1"))
    res = {(c.key, g): [0, 0, 0.0] for c, g in cases}      # handshakes, ticks, client wall
    per = max(1, total // RUNS)
    for r in range(RUNS):
        order = cases[r % len(cases):] + cases[:r % len(cases)]
        for c, g in order:
            t0 = settled_ticks(c.pid)
            args = ["hs", "--port", str(c.port), "--ca", CA, "--n", str(per)]
            if g:
                args += ["--group", g]
            try:
                x = run_client(args, 300)
            except Exception as e:  # noqa: BLE001
                log("handshakes %s: %s" % (c.label, e))
                continue
            t1 = settled_ticks(c.pid)
            acc = res[(c.key, g)]
            acc[0] += x["ok"]
            acc[1] += t1 - t0
            acc[2] += x["wall"]
            if x.get("error"):
                log("handshakes %s: %d/%d ok, last error %s" % (c.label, x["ok"], per, x["error"]))
        log("handshake round %d done" % (r + 1))
    rows, summary = [], {}
    for c, g in cases:
        n, t, wall = res[(c.key, g)]
        ms = (t / HZ) / n * 1000 if n else None
        rate = n / (t / HZ) if t else None
        share = "P-256" if g else "X25519 (client default)"
        summary[(c.key, g)] = {"ms": ms, "rate": rate}
        rows.append([c.label, share, n, fmt(t / HZ, "%.2f"), fmt(ms, "%.3f"), fmt(rate, "%.0f"),
                     fmt(wall / n * 1000 if n else None, "%.2f")])
        item = "full TLS 1.3 handshakes, key share %s" % share
        tsv("handshake", item, c.key, "handshakes", n, "")
        tsv("handshake", item, c.key, "server_cpu_per_hs", ms, "ms")
        tsv("handshake", item, c.key, "hs_per_cpu_s", rate, "1/s")
    head = ["contender", "key share", "handshakes", "server CPU s", "server CPU ms/hs",
            "hs per CPU-s", "client wall ms/hs"]
    text = md_table(head, rows)
    text += ("\n\nECDSA P-256 certificate; Python client verifies the chain, no resumption, "
             "connects, completes the handshake, closes; server CPU summed over %d interleaved "
             "rounds. (c) also opens a backend connection to named per client connection." % RUNS)
    return text, summary


# ------------------------------------------------------------ 6. outbound

def udp_soa_latency(port, n, zone="small.test"):
    """Median seconds of n sequential UDP SOA queries (after 20 warm-up)."""
    import socket
    import struct
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    qname = b"".join(bytes([len(x)]) + x.encode() for x in zone.split(".") if x) + b"\0"
    times = []
    for i in range(n + 20):
        qid = i & 0xFFFF
        q = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", 6, 1)
        t0 = time.perf_counter()
        s.send(q)
        while True:
            m = s.recv(4096)
            if struct.unpack("!H", m[:2])[0] == qid:
                break
        if m[3] & 0x0F:
            raise RuntimeError("UDP SOA rcode %d" % (m[3] & 0x0F))
        if i >= 20:
            times.append(time.perf_counter() - t0)
    s.close()
    return statistics.median(times)


def bench_outbound():
    """Issue 8: the outbound side, as (f) in front of our inbound (b) and as
    (g) in front of BIND's native XoT (e); (a) direct plaintext and (b) are
    measured in the same rounds."""
    conts = ok_conts("abfg")
    keys = [c.key for c in conts]
    if "f" not in keys:
        raise RuntimeError("the outbound chain (f) is not running")
    zone, n = CFG["zones"][-1]
    ax = {c.key: [] for c in conts}
    out = os.path.join(W, "kdig-out.out")
    for r in range(RUNS):
        order = conts[r % len(conts):] + conts[:r % len(conts)]
        for c in order:
            pids = [x for x in (c.pid, CONTS["b"].pid if c.key == "f" else None) if x]
            t0 = [settled_ticks(p) for p in pids]
            try:
                wall, recs, msgs, nbytes, rc = kdig_axfr(c, zone, out)
            except subprocess.TimeoutExpired:
                wall, recs, rc = None, None, "timeout"
            t1 = [settled_ticks(p) for p in pids]
            ok = recs == n + 1
            ax[c.key].append({"ok": ok, "wall": wall if ok else None,
                              "cpu": [(b - a) / HZ for a, b in zip(t0, t1)]})
            log("outbound axfr %s %-40s run %d: %s s, %s records (rc %s)" % (
                zone, c.label, r + 1, fmt(wall, "%.3f"), recs, rc))
    if os.path.exists(out):
        os.unlink(out)
    summ = {}
    rows = []
    for c in conts:
        runs = ax[c.key]
        ra = med(ratio(x["wall"], y["wall"]) for x, y in zip(runs, ax["a"]))
        cpu = (sum(x["cpu"][0] for x in runs) / len(runs)) if c.pid else None
        cpu_in = (sum(x["cpu"][1] for x in runs) / len(runs)) if c.key == "f" else None
        summ[c.key] = {"ra": ra, "cpu": cpu, "cpu_in": cpu_in, "wall": med(x["wall"] for x in runs)}
        rows.append([c.label, "%d/%d" % (sum(1 for x in runs if x["ok"]), len(runs)),
                     fmt(summ[c.key]["wall"], "%.3f"), fmt(ra, "%.3f"), fmt(cpu, "%.3f"),
                     fmt(cpu_in, "%.3f")])
        tsv("outbound", "AXFR %s" % zone, c.key, "wall_over_direct", ra, "x")
        tsv("outbound", "AXFR %s" % zone, c.key, "proxy_cpu", cpu, "s")
    text = md_table(["contender", "ok", "wall s", "/(a)", "CPU s (outbound; b: inbound)",
                     "inbound CPU in the chain s"], rows)

    # UDP SOA poll over the pooled session, interleaved with direct UDP.
    lat = {"a": [], "f": []}
    for r in range(RUNS):
        for k in (("a", "f") if r % 2 == 0 else ("f", "a")):
            lat[k].append(udp_soa_latency(CONTS[k].port, CFG["lat_kept"] // 4))
    da = med(x - y for x, y in zip(lat["f"], lat["a"]))
    summ["udp"] = {"direct_us": med(lat["a"]) * 1e6, "chain_us": med(lat["f"]) * 1e6,
                   "added_us": da * 1e6 if da is not None else None}
    tsv("outbound", "UDP SOA small.test", "f", "added_over_direct", summ["udp"]["added_us"], "us")

    # Peak RSS of the outbound side under parallel transfers (plaintext client side).
    pz, pn = CFG["par_zone"]
    npar = CFG["par_n"]
    f = CONTS["f"]
    clear_refs(f.pid)
    x = run_client(["xfr", "--zone", pz, "--n", str(npar), "--expect", str(pn + 1),
                    "--timeout", "120"] + f.client_args(), 300)
    summ["par"] = {"complete": x["complete"], "hwm": status_kb(f.pid, "VmHWM")}
    tsv("outbound", "%d parallel AXFR %s" % (npar, pz), "f", "outbound_peak_rss",
        summ["par"]["hwm"] / 1024, "MiB")
    text += ("\n\nOne AXFR of %s through (f) plaintext TCP -> xotproxy outbound -> TLS 1.3 -> "
             "xotproxy inbound -> named, and (g) outbound -> BIND's XoT; median of %d interleaved "
             "runs, ratio per round against (a) direct plaintext.\n\nUDP SOA poll (small.test): "
             "direct %.0f us, through the outbound side on its pooled TLS session %.0f us, added %s us "
             "(median over rounds of the per-round difference).\n\n%d parallel AXFRs of %s through "
             "(f): %d/%d complete; outbound peak RSS %.1f MiB (max-sessions raised to 64 for this "
             "run: one TLS session per transfer)." % (
                 zone, RUNS, summ["udp"]["direct_us"], summ["udp"]["chain_us"],
                 fmt(summ["udp"]["added_us"], "%.0f"), npar, pz, x["complete"], npar,
                 summ["par"]["hwm"] / 1024))
    return text, summ


# ------------------------------------------------------------ 7. zones

def bench_zones():
    """Issue 9: a 100,000-zone zones-file: `-t` wall time and peak RSS, and
    the stall an open session sees when that configuration is reloaded."""
    z = CFG.get("zones100k")
    if not z:
        raise RuntimeError("no 100,000-zone configuration")
    walls, rss = [], []
    for _ in range(max(RUNS, 3)):
        t0 = time.perf_counter()
        p = subprocess.Popen([z["bin"], "-t", "-c", z["ini"]], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t0)
        rss.append(ru.ru_maxrss / 1024.0)
        if status != 0:
            raise RuntimeError("xotproxy -t failed on the 100,000-zone configuration")
    stalls = []
    for _ in range(max(RUNS, 3)):
        x = run_client(["reload", "--port", str(z["port"]), "--tls", "--ca", CA, "--zone", "small.test",
                        "--pid", str(z["pid"]), "--seconds", "4", "--hup-at", "1.5"], 60)
        stalls.append(x)
        time.sleep(0.5)
    summ = {"t_wall": med(walls), "t_rss": max(rss),
            "stall_ms": max(x["max_during_ms"] for x in stalls if x["max_during_ms"] is not None),
            "base_ms": med(x["median_before_ms"] for x in stalls)}
    for k, u in (("t_wall", "s"), ("t_rss", "MiB"), ("stall_ms", "ms"), ("base_ms", "ms")):
        tsv("zones", "100000 zones", "b", k, summ[k], u)
    text = ("`xotproxy -t` on a zones-file of 100,000 zones: median %.2f s wall, peak RSS %.1f MiB "
            "(%d runs). SOA on a kept-open session while that configuration is reloaded (SIGHUP): "
            "worst wait %.1f ms in the 2 s after the signal, against a median of %.2f ms before it "
            "(%d reloads)." % (summ["t_wall"], summ["t_rss"], len(walls), summ["stall_ms"],
                               summ["base_ms"], len(stalls)))
    return text, summ


def zones_targets(zs):
    rows = []
    for fig, tgt, val, vf, ok in (
            ("-t on 100,000 zones, wall (s)", "<= 1", zs.get("t_wall"), "%.2f", lambda v: v <= 1),
            ("-t on 100,000 zones, peak RSS (MB)", "<= 64",
             zs["t_rss"] * 1.048576 if zs.get("t_rss") else None, "%.1f", lambda v: v <= 64),
            ("SOA wait during a reload of 100,000 zones (ms)", "<= 100", zs.get("stall_ms"), "%.1f",
             lambda v: v <= 100)):
        status = "n/a" if val is None else ("met" if ok(val) else "missed")
        if status == "missed":
            MISSED.append("%s: %s against %s" % (fig, fmt(val, vf), tgt))
        rows.append([fig, tgt, fmt(val, vf), status])
        tsv("target", fig, "b", "value", fmt(val, vf), "", tgt, status)
    return md_table(["figure", "target", "xotproxy", "status"], rows)


def outbound_targets(ob):
    rows = []

    def add(fig, tgt, val, vfmt, ok):
        status = "n/a" if val is None else ("met" if ok(val) else "missed")
        if status == "missed":
            MISSED.append("%s: %s against %s" % (fig, fmt(val, vfmt), tgt))
        rows.append([fig, tgt, fmt(val, vfmt), status])
        tsv("target", fig, "f", "value", fmt(val, vfmt), "", tgt, status)

    f = ob.get("f", {})
    add("AXFR through the full chain, wall / direct%s" % (" (1M records)" if not QUICK else " (quick: not 1M)"),
        "<= 1.05", f.get("ra"), "%.3f", lambda v: v <= 1.05)
    cpu, cpu_in = f.get("cpu"), f.get("cpu_in")
    add("outbound CPU / inbound CPU, same AXFR", "<= 1.20", ratio(cpu, cpu_in), "%.2f",
        lambda v: v <= 1.20)
    add("UDP SOA poll over a pooled session, added over direct (us)", "<= 150",
        ob.get("udp", {}).get("added_us"), "%.0f", lambda v: v <= 150)
    hwm = ob.get("par", {}).get("hwm")
    add("outbound peak RSS, %d parallel transfers (MB)" % CFG["par_n"], "<= 10",
        hwm * 1.024 / 1000 if hwm else None, "%.1f", lambda v: v <= 10)
    return md_table(["figure", "target", "xotproxy", "status"], rows)


# ------------------------------------------------------------ targets

def targets(ax, par, lat, idle, hs):
    def peers(vals):
        return ", ".join("%s %s" % (LABELS[k][4:], v) for k, v in vals if v != "-")

    rows = []
    extra = {}                                  # figure -> note appended to the value
    one_m = CFG["zones"][-1][0] if not QUICK else None

    def add(fig, tgt, val, unit_fmt, cmp, peer_vals, unit):
        if val is None:
            status = "n/a"
        else:
            status = "met" if cmp(val) else "missed"
        if status == "missed":
            limit = float(tgt.split()[-1])
            MISSED.append("%s: %s against %s, %.2fx the target" % (fig, fmt(val, unit_fmt), tgt,
                                                                   val / limit))
        v = fmt(val, unit_fmt)
        rows.append([fig, tgt, v + extra.get(fig, ""), status, peers(peer_vals)])
        tsv("target", fig, "b", "value", v, unit, tgt, status)

    if one_m:
        s = lambda k, f: ax.get((one_m, k), {}).get(f)          # noqa: E731
        add("1M-record AXFR wall, xotproxy / direct", "<= 1.03", s("b", "ra"), "%.3f",
            lambda v: v <= 1.03, [(k, fmt(s(k, "ra"), "%.2f")) for k in "cde"], "x")
        add("proxy CPU, one 1M-record AXFR (s)", "<= 0.03", s("b", "cpu"), "%.3f",
            lambda v: v <= 0.03, [(k, fmt(s(k, "cpu"), "%.3f")) for k in "cde"], "s")
    else:
        rows.append(["1M-record AXFR wall, xotproxy / direct", "<= 1.03", "-", "n/a (quick)", ""])
        rows.append(["proxy CPU, one 1M-record AXFR (s)", "<= 0.03", "-", "n/a (quick)", ""])
    p = lambda k, f: par.get(k, {}).get(f)                     # noqa: E731
    add("proxy CPU, %d parallel 100k AXFRs (s)" % CFG["par_n"], "<= 0.4", p("b", "cpu"), "%.2f",
        lambda v: v <= 0.4, [("c", fmt(p("c", "cpu"), "%.2f"))], "s")
    hwm = p("b", "hwm")
    add("proxy peak RSS, %d parallel AXFRs (MB)" % CFG["par_n"], "<= 10", hwm * 1.024 / 1000 if hwm else None,
        "%.1f", lambda v: v <= 10, [("c", fmt(p("c", "hwm") * 1.024 / 1000 if p("c", "hwm") else None,
                                          "%.1f"))], "MB")
    lv = lambda k, f: lat.get((k, "SOA"), {}).get(f)            # noqa: E731
    if lv("b", "kept_delta") is not None:
        extra["SOA on a kept-open TLS connection, per query (us)"] = " (direct %+.0f)" % lv("b", "kept_delta")
    add("SOA on a kept-open TLS connection, per query (us)", "<= 90", lv("b", "kept"), "%.0f",
        lambda v: v <= 90, [(k, fmt(lv(k, "kept"), "%.0f")) for k in "acde"], "us")
    add("SOA on a new TLS connection, client-side (ms)", "<= 3", lv("b", "new"), "%.2f",
        lambda v: v <= 3, [(k, fmt(lv(k, "new"), "%.2f")) for k in "acde"], "ms")
    iv = lambda k: idle.get(k, {}).get("per_conn")              # noqa: E731
    ib = idle.get("b", {})
    fig = "RSS per idle TLS connection (KiB), N=%s" % ib.get("held", "-")
    add(fig, "<= 16", iv("b"), "%.1f", lambda v: v <= 16, [("c", fmt(iv("c"), "%.1f"))], "KiB")
    hv = lambda k, g=None: hs.get((k, g), {}).get("ms")         # noqa: E731
    add("server CPU per full TLS 1.3 handshake, ECDSA P-256 (ms)", "<= 0.33", hv("b"), "%.3f",
        lambda v: v <= 0.33, [("b", "%s (P-256 share)" % fmt(hv("b", "prime256v1"), "%.3f"))] +
        [(k, fmt(hv(k), "%.3f")) for k in "cde"], "ms")
    head = ["figure", "target", "xotproxy", "status", "peers, this run"]
    return md_table(head, rows)


# ------------------------------------------------------------ main

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return model


def main():
    started = time.monotonic()
    probe()
    if CONTS["a"].error:
        log("direct named does not answer: nothing to compare against")
        return 1
    sections = [
        ("1. AXFR: one transfer", bench_axfr),
        ("2. Parallel AXFRs", bench_parallel),
        ("3. Small-answer latency", bench_latency),
        ("5. Full TLS 1.3 handshakes", bench_handshakes),
        ("4. Idle TLS connections", bench_idle),
        ("6. Outbound", bench_outbound),
        ("7. Zone table", bench_zones),
    ]
    texts, sums = {}, {}
    for title, fn in sections:
        log("== %s" % title)
        try:
            texts[title], sums[title] = fn()
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            texts[title], sums[title] = "not measured: %s" % e, {}
            NOTES.append("%s: %s" % (title, e))
    tt = targets(sums["1. AXFR: one transfer"], sums["2. Parallel AXFRs"], sums["3. Small-answer latency"],
                 sums["4. Idle TLS connections"], sums["5. Full TLS 1.3 handshakes"])
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    head = [
        "## xotproxy benchmark (`make bench`%s)" % (", BENCH_QUICK=1: 1 run each, no 1M zone, "
                                                  "small idle test" if QUICK else ""),
        "",
        "%s; %s CPUs (`nproc`), %s; Linux %s; load before: %s." % (
            now, os.cpu_count(), machine(), platform.release(), CFG["loadavg"]),
        "%s; peers: %s." % (CFG["xot_version"], CFG["peer_versions"]),
        "",
    ]
    left_out = ["%s: %s" % (c.label, c.error) for c in CONTS.values() if c.error]
    body = ["### Targets (issue 3)", "", tt, "", "### Targets (issue 8, outbound)", "",
            outbound_targets(sums.get("6. Outbound", {})), "", "### Targets (issue 9, zone table)", "",
            zones_targets(sums.get("7. Zone table", {})), ""]
    if MISSED:
        body += ["Missed: " + "; ".join(MISSED) + ".", ""]
    for title in sorted(texts):
        body += ["### " + title, "", texts[title], ""]
    if left_out or NOTES:
        body += ["### Not measured", ""] + ["- " + x for x in left_out + NOTES] + [""]
    body.append("Bench run time %.0f s." % (time.monotonic() - started))
    md = "\n".join(head + body) + "\n"
    os.makedirs(CFG["results"], exist_ok=True)
    with open(os.path.join(CFG["results"], "latest.md"), "w") as f:
        f.write(md)
    with open(os.path.join(CFG["results"], "latest.tsv"), "w") as f:
        f.write("# xotproxy bench %s; %s CPUs, %s; quick=%d\n" % (now, os.cpu_count(), machine(), QUICK))
        f.write("section\titem\tcontender\tmetric\tvalue\tunit\ttarget\tstatus\n")
        for r in TSV:
            f.write("\t".join("" if x is None else str(x) for x in r) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
