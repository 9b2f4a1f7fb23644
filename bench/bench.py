#!/usr/bin/env python3
"""dteq's benchmarks (not tests). See bench/README.md.

usage: bench/bench.py [--profile short|full] [--dteq PATH] [--readme]
                      [--workspace NAME]... [--repeat N] [BENCHMARK ...]

BENCHMARK is any of throughput, latency, overhead, makespan, scale, nx,
tools (default: all, in that order; nx and tools only in the full profile
unless named). --workspace and --repeat choose the tools benchmark's
workspaces (ws39, nx23-large) and turns (bench/tools.py). Each one
starts its own redis-server on a unix socket in a temporary directory and
stops it by pid; prints its figures and the ratio against the baseline
it measured in the same invocation; and writes
bench/results/NAME-PROFILE.json. --readme rewrites the results tables of
bench/README.md from the JSON files.

Needs: python3 (standard library only), redis-server, xargs, node + npm
for the BullMQ baseline (bench/node: `npm ci` is run when node_modules is
missing; without node the BullMQ columns are skipped), perf for the exact
dispatch latency (optional: without it the results' ms timestamps are
used).
"""

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import dag  # noqa: E402
import tools  # noqa: E402

RESULTS = os.path.join(HERE, "results")
NODE_DIR = os.path.join(HERE, "node")
TICK = os.sysconf("SC_CLK_TCK")

PROFILES = {
    "short": {
        "tp_tasks": 5000, "tp_repeat": 2, "lat_chain": 2000,
        "lat_events": 300,
        "ovh_tasks": 3000, "ovh_monitor": 300,
        "mk_seeds": [11, 26], "mk_target": 8.0,
        "scale_tasks": 100000, "scale_agents": 200, "idle_window": 10,
        "tools_workspaces": ["ws39"], "tools_repeat": 1,
        "tools_warm_repeat": 3,
    },
    "full": {
        "tp_tasks": 20000, "tp_repeat": 3, "lat_chain": 2000,
        "lat_events": 2000,
        "ovh_tasks": 20000, "ovh_monitor": 1000,
        "mk_seeds": [11, 26, 12, 22, 6], "mk_target": 60.0,
        "scale_tasks": 100000, "scale_agents": 200, "idle_window": 30,
        "tools_workspaces": ["ws39", "nx23-large"], "tools_repeat": 3,
        "tools_warm_repeat": 3,
    },
}

TARGETS = {
    "throughput_vs_xargs": 1.3, "throughput_vs_bullmq": 3.5,
    "latency_p50_ms": 0.3, "latency_p99_ms": 2.0,
    "cpu_us_per_task": 100.0, "commands_per_task": 12.0,
    "makespan_vs_lb": 1.10,
    "first_dispatch_s": 2.0, "producer_rss_mb": 200.0,
    "idle_agent_rss_mb": 4.0, "idle_redis_cpu_pct": 1.0,
}


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Redis: a private server and a minimal RESP client.

class Redis:
    """A blocking RESP2 client over a unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.f = self.sock.makefile("rb")

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def cmd(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def proc_cpu(pid):
    """utime + stime of pid itself (all threads, children excluded), s."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_pss(pid):
    """Proportional set size of pid (shared pages divided among their
    users), in MB: what one more process of the kind really costs."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def proc_status(pid, field):
    """A kB field of /proc/PID/status (VmRSS, VmHWM, RssAnon), in MB."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


class Server:
    """A private redis-server on a unix socket, stopped by its pid."""

    def __init__(self, tmp):
        self.dir = tempfile.mkdtemp(prefix="redis.", dir=tmp)
        self.path = os.path.join(self.dir, "redis.sock")
        self.url = "unix://" + self.path
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.path,
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--daemonize", "no", "--loglevel", "warning",
             "--maxclients", "10000"],
            stdout=open(os.path.join(self.dir, "redis.log"), "w"),
            stderr=subprocess.STDOUT)
        for _ in range(500):
            if os.path.exists(self.path):
                try:
                    self.r = Redis(self.path)
                    self.r.cmd("PING")
                    return
                except OSError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited at start")
            time.sleep(0.01)
        raise RuntimeError("redis-server did not answer")

    @property
    def pid(self):
        return self.proc.pid

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def info(self, section):
        out = {}
        for line in self.r.cmd("INFO", section).decode().splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def commandstats(self):
        calls = {}
        for k, v in self.info("commandstats").items():
            if k.startswith("cmdstat_"):
                calls[k[8:]] = int(re.search(r"calls=(\d+)", v).group(1))
        return calls

    def reset_stats(self):
        self.r.cmd("CONFIG", "RESETSTAT")

    def used_memory(self):
        return int(self.info("memory")["used_memory"])

    def stop(self):
        self.r.close()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proc:
    """A child whose own CPU time (children excluded) and peak RSS are read
    when it exits, before it is reaped."""

    def __init__(self, argv, env=None, stdout=None, stderr=None):
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, env=env, stdout=stdout or
                                  subprocess.DEVNULL,
                                  stderr=stderr or subprocess.DEVNULL)
        self.pid = self.p.pid
        self.cpu = None
        self.maxrss_mb = None
        self.rc = None
        self.t1 = None
        self.done = threading.Event()
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self):
        os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        self.t1 = time.monotonic()
        try:
            self.cpu = proc_cpu(self.pid)
        except OSError:
            self.cpu = 0.0
        _, status, ru = os.wait4(self.pid, 0)
        self.p.returncode = os.waitstatus_to_exitcode(status)
        self.rc = self.p.returncode
        self.maxrss_mb = ru.ru_maxrss / 1024.0
        self.done.set()

    def wait(self, timeout=None):
        if not self.done.wait(timeout):
            raise TimeoutError("pid %d still running" % self.pid)
        return self.rc

    def alive(self):
        return not self.done.is_set()

    def signal(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, grace=5):
        self.signal(signal.SIGTERM)
        try:
            self.wait(grace)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            self.wait()

    @property
    def wall(self):
        return self.t1 - self.t0


# --------------------------------------------------------------------------
# dteq runs: agents and one submit against a server.

class Bench:
    def __init__(self, args):
        self.args = args
        self.profile = PROFILES[args.profile]
        self.tmp = tempfile.mkdtemp(prefix="dteq-bench.")
        self.dteq = os.path.join(self.tmp, "dteq")
        shutil.copy2(args.dteq, self.dteq)     # rebuilds don't touch it
        self.logdir = os.path.join(RESULTS, "tmp")
        os.makedirs(self.logdir, exist_ok=True)
        self.nrun = 0
        # Only these benchmarks have a BullMQ baseline.
        self.bullmq = bool(set(args.benchmarks) & {
            "throughput", "latency", "overhead", "scale"}) and \
            self._node_ready()
        self.floor = self._build_floor()

    def _build_floor(self):
        """bench/floor.c: the bare spawn loop (no Redis), for reference."""
        out = os.path.join(self.tmp, "floor")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                                "libevent", "hiredis"], capture_output=True,
                               text=True).stdout.split()
        if subprocess.call(["cc", "-O2", "-D_GNU_SOURCE", "-o", out,
                            os.path.join(HERE, "floor.c")] + flags) != 0:
            log("cannot build bench/floor.c: the floor is skipped")
            return None
        return out

    def run_floor(self, n, procs=4, slots=2, sock=None):
        """procs bare loops side by side (like the agents), n tasks in
        all: their rate and CPU per task. With sock (a redis-server's
        unix socket), each task waits for one Redis command's reply."""
        if self.floor is None:
            return None
        t0 = time.monotonic()
        argv = [self.floor, str(n // procs), str(slots)]
        if sock:
            argv += ["true", sock]
        ps = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
              for _ in range(procs)]
        outs = [p.communicate()[0] for p in ps]
        wall = time.monotonic() - t0
        if any(p.returncode != 0 for p in ps):
            return None
        rs = [json.loads(o) for o in outs]
        done = sum(r["tasks"] for r in rs)
        return {"procs": procs, "slots": slots, "tasks": done,
                "wall_s": wall, "rate": done / wall,
                "cpu_us_per_task": sum(r["cpu_us_per_task"] * r["tasks"]
                                       for r in rs) / done}

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _node_ready(self):
        if shutil.which("node") is None:
            log("node not found: the BullMQ baselines are skipped")
            return False
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules",
                                          "bullmq")):
            log("installing BullMQ into bench/node (npm ci)")
            cmd = ["npm", "ci", "--no-audit", "--no-fund"]
            if not os.path.exists(os.path.join(NODE_DIR,
                                               "package-lock.json")):
                cmd[1] = "install"
            if subprocess.call(cmd, cwd=NODE_DIR) != 0:
                log("npm failed: the BullMQ baselines are skipped")
                return False
        return True

    def machine(self):
        def first(cmd):
            try:
                return subprocess.run(cmd, capture_output=True, text=True,
                                      timeout=10).stdout.strip()
            except (OSError, subprocess.TimeoutExpired):
                return None
        model = None
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        bullmq = None
        try:
            with open(os.path.join(NODE_DIR, "node_modules", "bullmq",
                                   "package.json")) as f:
                bullmq = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            pass
        return {
            "cpus": os.cpu_count(), "cpu_model": model,
            "kernel": platform.release(),
            "loadavg": os.getloadavg()[0],
            "redis": (first(["redis-server", "--version"]) or "").split()[2:3],
            "node": first(["node", "--version"]),
            "bullmq": bullmq,
            "dteq": first(["git", "-C", ROOT, "describe", "--always",
                           "--dirty"]),
        }

    def write_taskfile(self, name, obj):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def run_id(self, what):
        self.nrun += 1
        return "bench-%s-%d-%d" % (what, os.getpid(), self.nrun)

    def start_agents(self, srv, run, n, parallel, env=None, prefix="agent"):
        agents = []
        for k in range(n):
            agents.append(Proc([self.dteq, "work", "--redis", srv.url,
                                "--run", run, "--parallel", str(parallel),
                                "--name", "%s-%d" % (prefix, k + 1),
                                "--wait", "120"], env=env))
        return agents

    def dteq_run(self, srv, taskfile, what, agents=4, parallel=2, env=None,
                 submit_args=()):
        """One run: agents first (waiting for the run), then submit.
        Returns the submit wall time, CPU of each side, results."""
        run = self.run_id(what)
        env = dict(os.environ, **(env or {}))
        ags = self.start_agents(srv, run, agents, parallel, env)
        time.sleep(0.3)                 # let them connect and subscribe
        out = open(os.path.join(self.logdir, run + ".out"), "w")
        err = open(os.path.join(self.logdir, run + ".err"), "w")
        redis_cpu0 = srv.cpu()
        sub = Proc([self.dteq, "submit", "--redis", srv.url, "--run", run,
                    "--agent-wait", "60"] + list(submit_args) + [taskfile],
                   env=env, stdout=out, stderr=err)
        sub.wait()
        redis_cpu = srv.cpu() - redis_cpu0
        for a in ags:
            try:
                a.wait(15)
            except TimeoutError:
                a.stop()
        out.close()
        err.close()
        if sub.rc != 0:
            raise RuntimeError("submit exited %d (see %s)" %
                               (sub.rc, err.name))
        return {"run": run, "wall": sub.wall, "submit": sub,
                "agents": ags, "cpu_submit": sub.cpu,
                "cpu_agents": sum(a.cpu for a in ags),
                "cpu_redis": redis_cpu}

    def results(self, srv, run):
        raw = srv.r.cmd("HGETALL", "dteq:{%s}:results" % run)
        out = {}
        for k in range(0, len(raw), 2):
            out[raw[k].decode()] = json.loads(raw[k + 1])
        return out

    def bullmq_run(self, srv, *args, timeout=900):
        p = subprocess.run(["node", os.path.join(NODE_DIR, "bullmq.js")] +
                           [str(a) for a in args[:1]] + [srv.path] +
                           [str(a) for a in args[1:]],
                           capture_output=True, text=True, cwd=NODE_DIR,
                           timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("bullmq.js failed: %s" % p.stderr[-2000:])
        return json.loads(p.stdout.strip().splitlines()[-1])

    def save(self, name, data):
        data = dict(benchmark=name, profile=self.args.profile,
                    date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    machine=self.machine(), **data)
        path = os.path.join(RESULTS, "%s-%s.json" % (name, self.args.profile))
        with open(path, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        log("  -> %s" % os.path.relpath(path, ROOT))
        return data


def pct(xs, p):
    s = sorted(xs)
    if not s:
        return None
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def ratio(a, b):
    return a / b if a and b else None


def fmt_ratio(r):
    return "%.2fx" % r if r is not None else "n/a"


# --------------------------------------------------------------------------
# 1. Throughput

def run_xargs(n, tmp, shell=True):
    """xargs -P 8 running `true` n times: through `/bin/sh -c` (the peer),
    or executed directly (-I: one line, one `true`), as an agent executes
    a command of plain words (for reference)."""
    path = os.path.join(tmp, "xargs.in")
    with open(path, "w") as f:
        f.write("true\n" * n)
    if shell:
        cmd = ["xargs", "-P", "8", "-n", "1", "/bin/sh", "-c"]
    else:
        cmd = ["xargs", "-P", "8", "-I", "{}", "true"]
    t0 = time.monotonic()
    with open(path) as f:
        rc = subprocess.call(cmd, stdin=f)
    wall = time.monotonic() - t0
    if rc != 0:
        raise RuntimeError("xargs failed")
    return wall


def bench_throughput(b):
    n = b.profile["tp_tasks"]
    log("throughput: %d tasks of `true`, 4 agents x --parallel 2" % n)
    tf = b.write_taskfile("tp.json", {"tasks": [
        {"id": "t%05d" % i, "command": "true"} for i in range(n)]})
    rep = b.profile["tp_repeat"]
    srv = Server(b.tmp)
    try:
        # dteq, xargs and BullMQ take turns, rep times each, and the best
        # run of each counts: neighbours on a shared machine only ever
        # slow a run down, and taking turns lets each peer meet the same
        # spells of it.
        runs, xruns, bruns, druns = [], [], [], []
        for _ in range(rep):
            srv.reset_stats()
            r = b.dteq_run(srv, tf, "tp")
            cmds = sum(srv.commandstats().values())
            res = b.results(srv, r["run"])
            starts = [v["start"] for v in res.values()]
            ends = [v["end"] for v in res.values()]
            span = (max(ends) - min(starts)) / 1000.0
            d = {"wall_s": r["wall"], "rate": n / r["wall"],
                 "span_s": span, "rate_span": n / span if span else None,
                 "cpu_submit_s": r["cpu_submit"],
                 "cpu_agents_s": r["cpu_agents"],
                 "cpu_redis_s": r["cpu_redis"],
                 "cpu_us_per_task": 1e6 * (r["cpu_submit"] +
                                           r["cpu_agents"] +
                                           r["cpu_redis"]) / n,
                 "redis_calls_per_task": cmds / n,
                 "loadavg": os.getloadavg()[0]}
            runs.append(d)
            log("  dteq     %7.0f tasks/s (%.2f s; %.0f us CPU/task, "
                "%.1f Redis calls/task; load %.1f)" % (
                    d["rate"], r["wall"], d["cpu_us_per_task"],
                    d["redis_calls_per_task"], d["loadavg"]))
            xw = run_xargs(n, b.tmp)
            xruns.append({"wall_s": xw, "rate": n / xw,
                          "loadavg": os.getloadavg()[0]})
            log("  xargs -P 8 sh -c true  %7.0f tasks/s (%.2f s)" %
                (n / xw, xw))
            dw = run_xargs(n, b.tmp, shell=False)
            druns.append({"wall_s": dw, "rate": n / dw})
            log("  (xargs -P 8 true, no shell  %7.0f tasks/s)" % (n / dw))
            if not b.bullmq:
                continue
            srv.reset_stats()
            c0 = srv.cpu()
            bl = b.bullmq_run(srv, "throughput", n, 4, 2)
            bl["cpu_redis_s"] = srv.cpu() - c0
            bl["redis_calls_per_task"] = \
                sum(srv.commandstats().values()) / n
            bl["cpu_us_per_task"] = 1e6 * (
                bl["cpu_producer_s"] + bl["cpu_workers_s"] +
                bl["cpu_redis_s"]) / n
            bruns.append(bl)
            log("  BullMQ   %7.0f jobs/s (%.2f s; %.0f us CPU/job)" %
                (bl["rate"], bl["wall_s"], bl["cpu_us_per_task"]))
        dteq = dict(max(runs, key=lambda d: d["rate"]),
                    runs=[d["rate"] for d in runs])
        xargs = dict(max(xruns, key=lambda d: d["rate"]),
                     runs=[d["rate"] for d in xruns])
        xdirect = dict(max(druns, key=lambda d: d["rate"]),
                       runs=[d["rate"] for d in druns])
        bull = None
        if bruns:
            bull = dict(max(bruns, key=lambda d: d["rate"]),
                        runs=[d["rate"] for d in bruns])
        floor = b.run_floor(n)
        if floor:
            log("  (floor: 4 bare libevent loops x 2 slots spawning the "
                "same tasks, no Redis: %.0f tasks/s, %.0f us CPU/task)" %
                (floor["rate"], floor["cpu_us_per_task"]))
    finally:
        srv.stop()
    rx = ratio(dteq["rate"], xargs["rate"])
    rb = ratio(dteq["rate"], bull["rate"]) if bull else None
    log("  ratio: %s xargs (target >= %.1fx), %s BullMQ (target >= %.1fx)" %
        (fmt_ratio(rx), TARGETS["throughput_vs_xargs"], fmt_ratio(rb),
         TARGETS["throughput_vs_bullmq"]))
    return b.save("throughput", {
        "tasks": n, "dteq": dteq, "xargs": xargs, "bullmq": bull,
        "floor": floor, "xargs_no_shell": xdirect,
        "ratio_vs_xargs": rx, "ratio_vs_bullmq": rb,
        "target": {"vs_xargs": TARGETS["throughput_vs_xargs"],
                   "vs_bullmq": TARGETS["throughput_vs_bullmq"]}})


# --------------------------------------------------------------------------
# 2. Dispatch latency

class PerfSpawns:
    """perf record of process forks and exits, system-wide, on
    CLOCK_MONOTONIC: the exact kernel times at which an agent spawned a
    task and the task exited."""

    def __init__(self, tmp):
        self.data = os.path.join(tmp, "perf.data")
        self.p = None
        if shutil.which("perf") is None:
            return
        self.p = subprocess.Popen(
            ["perf", "record", "-q", "-a", "-k", "CLOCK_MONOTONIC",
             "-e", "sched:sched_process_fork", "-e",
             "sched:sched_process_exit", "-o", self.data],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        if self.p.poll() is not None:
            log("  perf record failed: %s" %
                self.p.stderr.read().decode().strip()[:200])
            self.p = None

    def stop(self):
        if self.p is None:
            return None
        self.p.send_signal(signal.SIGINT)
        self.p.wait(30)
        out = subprocess.run(["perf", "script", "-i", self.data, "-F",
                              "pid,time,event,trace"],
                             capture_output=True, text=True).stdout
        forks, exits = [], {}
        for line in out.splitlines():
            m = re.match(r"\s*(\d+)\s+([\d.]+):\s+(\S+):\s+(.*)", line)
            if not m:
                continue
            pid, ts, ev, tr = int(m.group(1)), float(m.group(2)), \
                m.group(3), m.group(4)
            if "sched_process_fork" in ev:
                pp = re.search(r"pid=(\d+) child_comm=\S* child_pid=(\d+)",
                               tr)
                if pp:
                    forks.append((ts, int(pp.group(1)), int(pp.group(2))))
            elif "sched_process_exit" in ev:
                exits[pid] = ts
        return forks, exits


def bench_latency(b):
    n = b.profile["lat_chain"]
    log("latency: a chain of %d dependent tasks on 4 agents x 2" % n)
    tasks = []
    for i in range(n):
        t = {"id": "c%05d" % i, "command": "true"}
        if i:
            t["deps"] = ["c%05d" % (i - 1)]
        tasks.append(t)
    tf = b.write_taskfile("chain.json", {"tasks": tasks})
    srv = Server(b.tmp)
    bull = events = None
    try:
        perf = PerfSpawns(b.tmp)
        r = b.dteq_run(srv, tf, "lat")
        spawns = perf.stop()
        res = b.results(srv, r["run"])
        agent_pids = {a.pid: k for k, a in enumerate(r["agents"])}
        # From the results: start (k+1) - end (k), as each agent saw it.
        order = ["c%05d" % i for i in range(n)]
        us = all("start_us" in res[t] for t in order)
        key_s, key_e, scale = ("start_us", "end_us", 1e-3) if us else \
            ("start", "end", 1.0)
        gaps_res = [(res[order[i + 1]][key_s] - res[order[i]][key_e]) * scale
                    for i in range(n - 1)]
        cross = sum(res[order[i + 1]]["agent"] != res[order[i]]["agent"]
                    for i in range(n - 1))
        dteq = {"wall_s": r["wall"], "links": n - 1,
                "cross_agent_links": cross,
                "results_resolution": "us" if us else "ms",
                "results_end_to_start_ms": {
                    "p50": pct(gaps_res, 50), "p99": pct(gaps_res, 99),
                    "mean": statistics.mean(gaps_res)}}
        if spawns:
            forks, exits = spawns
            # The chain's tasks are the agents' children, one at a time.
            mine = sorted((ts, par, ch) for ts, par, ch in forks
                          if par in agent_pids)
            gaps, gaps_x = [], []
            for k in range(len(mine) - 1):
                ch = mine[k][2]
                if ch not in exits:
                    continue
                g = (mine[k + 1][0] - exits[ch]) * 1000.0
                gaps.append(g)
                if mine[k + 1][1] != mine[k][1]:
                    gaps_x.append(g)
            if len(mine) >= n:
                dteq["kernel_exit_to_spawn_ms"] = {
                    "p50": pct(gaps, 50), "p99": pct(gaps, 99),
                    "mean": statistics.mean(gaps), "links": len(gaps)}
                if gaps_x:
                    dteq["kernel_exit_to_spawn_cross_agent_ms"] = {
                        "p50": pct(gaps_x, 50), "p99": pct(gaps_x, 99),
                        "links": len(gaps_x)}
        best = dteq.get("kernel_exit_to_spawn_ms") or \
            dteq["results_end_to_start_ms"]
        dteq["p50_ms"], dteq["p99_ms"] = best["p50"], best["p99"]
        dteq["method"] = ("perf: child exit -> next spawn (kernel, "
                          "CLOCK_MONOTONIC)" if "kernel_exit_to_spawn_ms"
                          in dteq else "results %s timestamps" %
                          dteq["results_resolution"])
        log("  dteq     p50 %.3f ms  p99 %.3f ms  (%s; %d of %d links "
            "cross-agent; results: p50 %.1f p99 %.1f ms)" %
            (dteq["p50_ms"], dteq["p99_ms"], dteq["method"], cross, n - 1,
             dteq["results_end_to_start_ms"]["p50"],
             dteq["results_end_to_start_ms"]["p99"]))
        if b.bullmq:
            bull = b.bullmq_run(srv, "chain", n, 4, 2, "flow")
            log("  BullMQ flow (child end -> parent start): p50 %.3f ms "
                "p99 %.3f ms (%d of %d links cross-worker)" %
                (bull["end_to_start_us"]["p50"] / 1e3,
                 bull["end_to_start_us"]["p99"] / 1e3,
                 bull["cross_worker"], bull["links"]))
            ne = b.profile["lat_events"]
            # A secondary figure: QueueEvents sometimes stops reporting
            # completions and the chain stalls; give up on it then.
            try:
                events = b.bullmq_run(srv, "chain", ne, 4, 2, "events",
                                      timeout=max(120, ne // 10))
            except subprocess.TimeoutExpired as e:
                events = {"stalled_after_s": e.timeout}
                log("  BullMQ producer-driven: the chain stalled (no "
                    "end within %d s); skipped" % e.timeout)
            else:
                log("  BullMQ producer-driven (QueueEvents -> add): end "
                    "-> start p50 %.3f p99 %.3f ms; add -> start p50 "
                    "%.3f p99 %.3f ms" % (
                        events["end_to_start_us"]["p50"] / 1e3,
                        events["end_to_start_us"]["p99"] / 1e3,
                        events["add_to_start_us"]["p50"] / 1e3,
                        events["add_to_start_us"]["p99"] / 1e3))
    finally:
        srv.stop()
    r50 = ratio(bull["end_to_start_us"]["p50"] / 1e3, dteq["p50_ms"]) \
        if bull else None
    r99 = ratio(bull["end_to_start_us"]["p99"] / 1e3, dteq["p99_ms"]) \
        if bull else None
    log("  BullMQ flow / dteq: p50 %s, p99 %s (targets: p50 <= %.1f ms, "
        "p99 <= %.1f ms)" % (fmt_ratio(r50), fmt_ratio(r99),
                             TARGETS["latency_p50_ms"],
                             TARGETS["latency_p99_ms"]))
    return b.save("latency", {
        "chain": n, "dteq": dteq, "bullmq_flow": bull,
        "bullmq_events": events, "bullmq_over_dteq_p50": r50,
        "bullmq_over_dteq_p99": r99,
        "target": {"p50_ms": TARGETS["latency_p50_ms"],
                   "p99_ms": TARGETS["latency_p99_ms"]}})


# --------------------------------------------------------------------------
# 3. Overhead per task

class Monitor:
    """Count the commands Redis runs (MONITOR): those clients sent, and
    those Lua scripts ran."""

    def __init__(self, path):
        self.r = Redis(path)
        self.r.cmd("MONITOR")
        self.client = {}
        self.lua = {}
        self.stopped = False
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        pat = re.compile(rb'^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"')
        while True:
            try:
                line = self.r.f.readline()
            except (OSError, ValueError):
                return
            if not line:
                return
            m = pat.match(line)
            if not m:
                continue
            name = m.group(2).decode().upper()
            d = self.lua if m.group(1) == b"lua" else self.client
            d[name] = d.get(name, 0) + 1

    def stop(self):
        time.sleep(0.2)
        try:
            self.r.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.t.join(5)
        self.r.close()


def bench_overhead(b):
    n = b.profile["ovh_tasks"]
    nm = b.profile["ovh_monitor"]
    log("overhead: CPU and Redis commands per task (%d tasks; MONITOR on "
        "%d)" % (n, nm))
    tf = b.write_taskfile("ovh.json", {"tasks": [
        {"id": "t%05d" % i, "command": "true"} for i in range(n)]})
    tfm = b.write_taskfile("ovhm.json", {"tasks": [
        {"id": "t%05d" % i, "command": "true"} for i in range(nm)]})
    srv = Server(b.tmp)
    bull = None
    try:
        srv.reset_stats()
        r = b.dteq_run(srv, tf, "ovh")
        stats = srv.commandstats()
        cpu = r["cpu_submit"] + r["cpu_agents"] + r["cpu_redis"]
        dteq = {"tasks": n, "cpu_submit_us": 1e6 * r["cpu_submit"] / n,
                "cpu_agents_us": 1e6 * r["cpu_agents"] / n,
                "cpu_redis_us": 1e6 * r["cpu_redis"] / n,
                "cpu_us_per_task": 1e6 * cpu / n,
                "redis_calls_per_task": sum(stats.values()) / n,
                "commandstats_per_task": {k: round(v / n, 3) for k, v in
                                          sorted(stats.items())}}
        floor = b.run_floor(n)
        if floor:
            dteq["floor_cpu_us_per_task"] = floor["cpu_us_per_task"]
        # The same loops, each task waiting for one Redis command: what
        # any design with a round trip per task pays, agents plus Redis.
        c0 = srv.cpu()
        rfloor = b.run_floor(n, sock=srv.path)
        if rfloor:
            rfloor["cpu_redis_us"] = 1e6 * (srv.cpu() - c0) / rfloor["tasks"]
            rfloor["cpu_total_us"] = rfloor["cpu_us_per_task"] + \
                rfloor["cpu_redis_us"]
            dteq["floor_one_command"] = rfloor
        mon = Monitor(srv.path)
        b.dteq_run(srv, tfm, "ovhm")
        mon.stop()
        dteq["sent_per_task"] = sum(mon.client.values()) / nm
        dteq["in_scripts_per_task"] = sum(mon.lua.values()) / nm
        dteq["sent_by_command"] = {k: round(v / nm, 3) for k, v in
                                   sorted(mon.client.items())}
        dteq["in_scripts_by_command"] = {k: round(v / nm, 3) for k, v in
                                         sorted(mon.lua.items())}
        log("  dteq     %.0f us CPU/task (submit %.0f, agents %.0f, redis "
            "%.0f); %.1f commands sent/task, %.1f more inside scripts" %
            (dteq["cpu_us_per_task"], dteq["cpu_submit_us"],
             dteq["cpu_agents_us"], dteq["cpu_redis_us"],
             dteq["sent_per_task"], dteq["in_scripts_per_task"]))
        if floor:
            log("           floor: a bare libevent loop spawning the same "
                "tasks costs %.0f us CPU/task here" %
                floor["cpu_us_per_task"])
        if rfloor:
            log("           with one Redis command per task: %.0f us "
                "(loops %.0f, redis %.0f)" % (rfloor["cpu_total_us"],
                                              rfloor["cpu_us_per_task"],
                                              rfloor["cpu_redis_us"]))
        log("           sent: %s" % ", ".join(
            "%s %.2f" % kv for kv in dteq["sent_by_command"].items()))
        if b.bullmq:
            srv.reset_stats()
            c0 = srv.cpu()
            bq = b.bullmq_run(srv, "throughput", n, 4, 2)
            stats = srv.commandstats()
            bull = {"tasks": n,
                    "cpu_producer_us": 1e6 * bq["cpu_producer_s"] / n,
                    "cpu_workers_us": 1e6 * bq["cpu_workers_s"] / n,
                    "cpu_redis_us": 1e6 * (srv.cpu() - c0) / n,
                    "redis_calls_per_task": sum(stats.values()) / n}
            bull["cpu_us_per_task"] = bull["cpu_producer_us"] + \
                bull["cpu_workers_us"] + bull["cpu_redis_us"]
            mon = Monitor(srv.path)
            b.bullmq_run(srv, "throughput", nm, 4, 2)
            mon.stop()
            bull["sent_per_task"] = sum(mon.client.values()) / nm
            bull["in_scripts_per_task"] = sum(mon.lua.values()) / nm
            log("  BullMQ   %.0f us CPU/job (producer %.0f, workers %.0f, "
                "redis %.0f); %.1f commands sent/job, %.1f more inside "
                "scripts" % (bull["cpu_us_per_task"],
                             bull["cpu_producer_us"], bull["cpu_workers_us"],
                             bull["cpu_redis_us"], bull["sent_per_task"],
                             bull["in_scripts_per_task"]))
    finally:
        srv.stop()
    rc = ratio(bull["cpu_us_per_task"], dteq["cpu_us_per_task"]) \
        if bull else None
    log("  BullMQ / dteq CPU per task: %s (target: dteq <= %.0f us CPU, "
        "<= %.0f commands per task)" % (fmt_ratio(rc),
                                        TARGETS["cpu_us_per_task"],
                                        TARGETS["commands_per_task"]))
    return b.save("overhead", {
        "dteq": dteq, "bullmq": bull, "bullmq_over_dteq_cpu": rc,
        "target": {"cpu_us_per_task": TARGETS["cpu_us_per_task"],
                   "commands_per_task": TARGETS["commands_per_task"]}})


# --------------------------------------------------------------------------
# 4. Makespan

def measured_lb(g, res, prefix, slots):
    """The lower bound from the durations this run measured."""
    dur = [res["%s%03d" % (prefix, i)]["duration"] / 1000.0
           for i in range(g["n"])]
    return dag.lower_bound(dur, g["deps"], slots), dur


def bench_makespan(b):
    seeds = b.profile["mk_seeds"]
    target = b.profile["mk_target"]
    slots = 8
    log("makespan: random DAGs of 500 tasks, depth 10-30, Pareto "
        "durations, lower bound %.0f s, 4 agents x 2" % target)
    graphs = []
    srv = Server(b.tmp)
    try:
        for seed in seeds:
            g = dag.gen_dag(seed, target=target, slots=slots)
            tf = b.write_taskfile("dag%d.json" % seed, dag.to_taskfile(g))
            ws = "bench-makespan-%d-%d-%d" % (seed, os.getpid(),
                                              int(time.time()))
            row = {"seed": seed, "depth": g["depth"],
                   "nominal_lb_s": dag.lower_bound(g["dur"], g["deps"],
                                                   slots),
                   "nominal_cp_s": dag.critical_path(g["dur"], g["deps"]),
                   "max_task_s": max(g["dur"]), "min_task_s": min(g["dur"]),
                   "simulated_vs_lb": {
                       p: dag.simulate(g, slots, p) /
                       dag.lower_bound(g["dur"], g["deps"], slots)
                       for p in ("fifo", "mean", "sorted", "ideal")}}
            for mode, env in (("cp_cold", {}),
                              ("fifo", {"DTEQ_SCHED": "fifo"}),
                              ("cp_history", {})):
                env = dict(env, DTEQ_WORKSPACE=ws)
                r = b.dteq_run(srv, tf, "mk", env=env)
                res = b.results(srv, r["run"])
                lb, _ = measured_lb(g, res, "t", slots)
                span = (max(v["end"] for v in res.values()) -
                        min(v["start"] for v in res.values())) / 1000.0
                row[mode] = {"span_s": span, "wall_s": r["wall"],
                             "lb_s": lb, "vs_lb": span / lb}
                log("  graph %d (depth %d) %-10s makespan %6.2f s, lower "
                    "bound %6.2f s: %.3fx" % (seed, g["depth"], mode, span,
                                              lb, span / lb))
            row["fifo_over_cp_history"] = row["fifo"]["span_s"] / \
                row["cp_history"]["span_s"]
            graphs.append(row)
    finally:
        srv.stop()
    summary = {m: statistics.mean(g[m]["vs_lb"] for g in graphs)
               for m in ("cp_cold", "fifo", "cp_history")}
    worst = max(g["cp_history"]["vs_lb"] for g in graphs)
    log("  mean vs lower bound: FIFO %.3fx, critical path (no history) "
        "%.3fx, critical path with history %.3fx (worst %.3fx; target <= "
        "%.2fx)" % (summary["fifo"], summary["cp_cold"],
                    summary["cp_history"], worst, TARGETS["makespan_vs_lb"]))
    return b.save("makespan", {
        "graphs": graphs, "mean_vs_lb": summary, "worst_cp_history": worst,
        "fifo_over_cp_history": statistics.mean(
            g["fifo_over_cp_history"] for g in graphs),
        "target": {"vs_lb": TARGETS["makespan_vs_lb"]}})


# --------------------------------------------------------------------------
# 5. Scale

def big_graph(n, seed=7):
    """n tasks: a tenth are roots, the rest need one or two earlier."""
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        t = {"id": "p%06d:build" % i, "command": "true"}
        if i >= n // 10:
            deps = {rng.randrange(i)}
            if rng.random() < 0.5:
                deps.add(rng.randrange(i))
            t["deps"] = ["p%06d:build" % j for j in sorted(deps)]
        tasks.append(t)
    return {"tasks": tasks}, n // 10


def first_dispatch(b, srv, tf, n, nroots, ws):
    """Submit tf with no agent: the time until the first message lands in
    the queue (a watcher's blocking pop sees it), until every root is
    queued, the producer's memory and Redis's."""
    run = b.run_id("big")
    mem0 = srv.used_memory()
    watch = Redis(srv.path)
    queue = "dteq:{%s}:queue" % run
    watch.send("BLMOVE", queue, "bench:first", "RIGHT", "LEFT", "60")
    err = open(os.path.join(b.logdir, run + ".err"), "w")
    env = dict(os.environ, DTEQ_WORKSPACE=ws)
    t0 = time.monotonic()
    sub = Proc([b.dteq, "submit", "--redis", srv.url, "--run", run,
                "--agent-wait", "120", tf], env=env,
               stdout=subprocess.DEVNULL, stderr=err)
    watch.read()
    first = time.monotonic() - t0
    while srv.r.cmd("LLEN", queue) < nroots - 1 and \
            time.monotonic() - t0 < 60:
        time.sleep(0.005)
    all_roots = time.monotonic() - t0
    time.sleep(1.0)
    rss = proc_status(sub.pid, "VmRSS")
    hwm = proc_status(sub.pid, "VmHWM")
    mem1 = srv.used_memory()
    key_mem = {}
    for k in ("queue", "attempts", "meta"):
        try:
            key_mem[k] = srv.r.cmd("MEMORY", "USAGE",
                                   "dteq:{%s}:%s" % (run, k), "SAMPLES", "0")
        except RuntimeError:
            pass
    sub.stop(10)
    err.close()
    watch.close()
    srv.r.cmd("DEL", "bench:first")
    r = {"history": ws != "none",
         "first_dispatch_s": first, "all_roots_queued_s": all_roots,
         "producer_rss_mb": rss, "producer_peak_rss_mb": hwm,
         "redis_bytes_per_task": (mem1 - mem0) / n,
         "redis_bytes_per_queued_task": (mem1 - mem0) / nroots,
         "redis_key_bytes": key_mem}
    log("  %d tasks%s: first dispatch %.3f s, all %d roots queued %.3f s; "
        "producer RSS %.1f MB (peak %.1f); Redis %.0f bytes/task (%.0f per "
        "queued task)" % (n, " with a full history" if r["history"] else
                          "", first, nroots, all_roots, rss or 0, hwm or 0,
                          r["redis_bytes_per_task"],
                          r["redis_bytes_per_queued_task"]))
    return r


def bench_scale(b):
    n = b.profile["scale_tasks"]
    na = b.profile["scale_agents"]
    window = b.profile["idle_window"]
    log("scale: submit of a %d-task graph; %d idle agents" % (n, na))
    graph, nroots = big_graph(n)
    tf = b.write_taskfile("big.json", graph)
    out = {"tasks": n, "roots": nroots}
    srv = Server(b.tmp)
    try:
        # (a) Time to first dispatch, with no history and then with a
        # history of every task of the graph.
        out["submit"] = first_dispatch(b, srv, tf, n, nroots, "none")
        ws = "bench-scale-%d" % os.getpid()
        rng = random.Random(3)
        ids = [t["id"] for t in graph["tasks"]]
        for k in range(0, n, 1000):
            args = ["HSET", "dteq:history:" + ws]
            for i in ids[k:k + 1000]:
                args += [i, "%.1f" % rng.paretovariate(1.16)]
            srv.r.cmd(*args)
        out["submit_with_history"] = first_dispatch(b, srv, tf, n, nroots,
                                                    ws)
        srv.r.cmd("DEL", "dteq:history:" + ws)

        # (b) One agent running 8 tasks, then na - 1 idle agents.
        run = b.run_id("idle")
        tf2 = b.write_taskfile("sleep8.json", {"tasks": [
            {"id": "s%d" % i, "command": "sleep 600"} for i in range(8)]})
        busy = b.start_agents(srv, run, 1, 8, prefix="busy")[0]
        err = open(os.path.join(b.logdir, run + ".err"), "w")
        sub = Proc([b.dteq, "submit", "--redis", srv.url, "--run", run,
                    "--agent-wait", "120", tf2],
                   stdout=subprocess.DEVNULL, stderr=err)
        t0 = time.monotonic()
        while srv.r.cmd("LLEN", "dteq:{%s}:running:busy-1" % run) < 8 and \
                time.monotonic() - t0 < 30:
            time.sleep(0.05)
        time.sleep(0.5)
        busy_rss = proc_status(busy.pid, "VmRSS")
        busy_anon = proc_status(busy.pid, "RssAnon")
        busy_pss = proc_pss(busy.pid)
        mem0 = srv.used_memory()
        idle = b.start_agents(srv, run, na - 1, 2, prefix="idle")
        t0 = time.monotonic()
        while int(srv.r.cmd("SCARD", "dteq:{%s}:agents" % run)) < na and \
                time.monotonic() - t0 < 60:
            time.sleep(0.1)
        time.sleep(6.0)                 # past the first heartbeats
        srv.reset_stats()
        c0, s0, a0 = srv.cpu(), proc_cpu(sub.pid), \
            sum(proc_cpu(a.pid) for a in idle)
        t0 = time.monotonic()
        time.sleep(window)
        dt = time.monotonic() - t0
        rcpu = (srv.cpu() - c0) / dt
        scpu = (proc_cpu(sub.pid) - s0) / dt
        acpu = (sum(proc_cpu(a.pid) for a in idle) - a0) / dt
        stats = srv.commandstats()
        mem1 = srv.used_memory()
        clients = int(srv.info("clients")["connected_clients"])
        rss = [proc_status(a.pid, "VmRSS") for a in idle]
        anon = [proc_status(a.pid, "RssAnon") for a in idle]
        pss = [proc_pss(a.pid) for a in idle]
        pss = [x for x in pss if x is not None]
        rss = [x for x in rss if x is not None]
        anon = [x for x in anon if x is not None]
        sub.stop(10)
        err.close()
        for a in idle + [busy]:
            try:
                a.wait(15)
            except TimeoutError:
                a.stop()
        out["idle"] = {
            "agents": na, "window_s": dt,
            "redis_cpu_pct": 100 * rcpu, "submit_cpu_pct": 100 * scpu,
            "idle_agents_cpu_pct": 100 * acpu,
            "redis_commands_per_s": sum(stats.values()) / dt,
            "redis_commands_per_s_by_command": {
                k: round(v / dt, 1) for k, v in sorted(stats.items())},
            "redis_clients": clients,
            "redis_bytes_per_agent": (mem1 - mem0) / (na - 1),
            "idle_agent_rss_mb": statistics.mean(rss) if rss else None,
            "idle_agent_rss_max_mb": max(rss) if rss else None,
            "idle_agent_anon_mb": statistics.mean(anon) if anon else None,
            "idle_agent_pss_mb": statistics.mean(pss) if pss else None,
            "busy_agent_rss_mb": busy_rss, "busy_agent_anon_mb": busy_anon,
            "busy_agent_pss_mb": busy_pss}
        log("  %d idle agents: Redis %.2f %% CPU, %.0f commands/s, %d "
            "clients, %.0f KB/agent; submit %.2f %% CPU; agents %.2f %% "
            "CPU in all" % (na, 100 * rcpu, out["idle"]
                            ["redis_commands_per_s"], clients,
                            out["idle"]["redis_bytes_per_agent"] / 1024,
                            100 * scpu, 100 * acpu))
        log("  agent RSS: idle %.2f MB (PSS %.2f, private %.2f), with 8 "
            "running tasks %.2f MB (PSS %.2f, private %.2f)" %
            (out["idle"]["idle_agent_rss_mb"] or 0,
             out["idle"]["idle_agent_pss_mb"] or 0,
             out["idle"]["idle_agent_anon_mb"] or 0, busy_rss or 0,
             busy_pss or 0, busy_anon or 0))
        if b.bullmq:
            bq = b.bullmq_run(srv, "idle")
            out["bullmq_idle_worker"] = bq
            log("  BullMQ: one idle worker process RSS %.1f MB (PSS %.1f)" %
                (bq["rss_mb"], bq["pss_mb"] or 0))
    finally:
        srv.stop()
    out["target"] = {k: TARGETS[k] for k in (
        "first_dispatch_s", "producer_rss_mb", "idle_agent_rss_mb",
        "idle_redis_cpu_pct")}
    return b.save("scale", out)


# --------------------------------------------------------------------------
# 6. Nx workspace

NX_ENV = {"NX_DAEMON": "false", "NX_NO_CLOUD": "true", "NX_TUI": "false",
          "TURBO_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1"}
NX_TARGETS = "lint,test,build"


def nx_workspace(b, tools, name):
    ws = os.path.join(b.tmp, name)
    if subprocess.call([os.path.join(ROOT, "tests", "nx", "gen_workspace.sh"),
                        ws, tools], stdout=subprocess.DEVNULL) != 0:
        raise RuntimeError("tests/nx/gen_workspace.sh failed")
    return ws


def nx_dteq_run(b, srv, tools, env, name, out):
    """One `dteq submit --nx` with 4 local agents x 2 on a fresh copy of
    the workspace; its figures go into out under name."""
    ws = nx_workspace(b, tools, "nx-" + name)
    run = b.run_id("nx")
    here = os.getcwd()
    os.chdir(ws)
    try:
        ags = b.start_agents(srv, run, 4, 2, env=env)
        time.sleep(0.3)
        err = open(os.path.join(b.logdir, run + ".err"), "w")
        sub = Proc([b.dteq, "submit", "--redis", srv.url, "--run", run,
                    "--agent-wait", "60", "--nx", "run-many -t " +
                    NX_TARGETS], env=env, stdout=subprocess.DEVNULL,
                   stderr=err)
        sub.wait()
        for a in ags:
            a.wait(30)
        err.close()
    finally:
        os.chdir(here)
    if sub.rc != 0:
        raise RuntimeError("dteq submit --nx exited %d (see %s)" %
                           (sub.rc, err.name))
    res = b.results(srv, run)
    out[name + "_s"] = sub.wall
    out[name + "_load"] = os.getloadavg()[0]
    out[name + "_tasks"] = len(res)
    out[name + "_task_time_s"] = sum(
        v.get("duration", 0) for v in res.values()) / 1000.0
    log("  dteq, 4 agents x 2, %s %6.2f s (%d tasks, %.1f s of task "
        "time; load %.1f)" % ("empty caches     " if name == "dteq" else
                              "remote cache warm", sub.wall, len(res),
                              out[name + "_task_time_s"],
                              out[name + "_load"]))


def bench_nx(b):
    if b.args.profile != "full" and "nx" not in b.args.benchmarks:
        log("nx: skipped in the short profile (each Nx task costs seconds; "
            "run `make bench BENCH=full` or `bench/bench.py nx`)")
        return None
    log("nx: the 13-project workspace of tests/nx, -t %s, fresh copies: "
        "each side with empty caches, then warm" % NX_TARGETS)
    setup = os.path.join(ROOT, "tests", "nx", "setup.sh")
    p = subprocess.run([setup], capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        log("  tests/nx/setup.sh failed (npm?): skipped")
        return b.save("nx", {"skipped": "tests/nx/setup.sh failed"})
    tools = p.stdout.strip().splitlines()[-1]
    env = dict(os.environ, **NX_ENV)
    out = {"targets": NX_TARGETS}

    # nx run-many twice in one copy: with its cache empty, then full.
    ws = nx_workspace(b, tools, "nx-run-many")
    for name in ("nx_run_many", "nx_run_many_warm"):
        t0 = time.monotonic()
        rc = subprocess.call(["npx", "--no", "nx", "run-many", "-t",
                              NX_TARGETS, "--parallel=8"], cwd=ws, env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        out[name + "_s"] = time.monotonic() - t0
        out[name + "_load"] = os.getloadavg()[0]
        if rc != 0:
            raise RuntimeError("nx run-many failed")
        log("  nx run-many --parallel=8, %s %6.2f s (load %.1f)" %
            ("empty cache" if name == "nx_run_many" else "cache warm ",
             out[name + "_s"], out[name + "_load"]))

    # Two dteq runs with dteq's defaults, each on a fresh copy of the
    # workspace: the first on a new Redis (the agents' remote cache is
    # empty, as Nx's own cache is for `nx run-many`: the comparable run),
    # the second on the same Redis, whose cache now holds every task's
    # outputs (what a pipeline's next run gets from a Redis that keeps
    # them; no dteq run may come after the first on one server and count
    # as cold).
    # The agents share one copy, as `dteq run`'s do, so like `dteq run`
    # they run each task without restoring its dependencies' outputs
    # (DTEQ_TOOL_DEPS=exclude): those are in the copy already.
    denv = dict(env, DTEQ_TOOL_DEPS="exclude")
    out["tool_deps"] = "exclude"
    srv = Server(b.tmp)
    try:
        for name in ("dteq", "dteq_warm"):
            nx_dteq_run(b, srv, tools, denv, name, out)
    finally:
        srv.stop()
    out["ratio"] = ratio(out["nx_run_many_s"], out["dteq_s"])
    out["ratio_warm"] = ratio(out["nx_run_many_warm_s"],
                              out["dteq_warm_s"])
    log("  nx run-many / dteq: %s with empty caches (dteq's second run, "
        "remote cache warm, against nx's second: %s); above 1x dteq is "
        "faster" %
        (fmt_ratio(out["ratio"]), fmt_ratio(out["ratio_warm"])))
    return b.save("nx", out)


# --------------------------------------------------------------------------
# 7. Nx and Turborepo side by side (bench/tools.py)

def bench_tools(b):
    if b.args.profile != "full" and "tools" not in b.args.benchmarks:
        log("tools: skipped in the short profile (minutes of Nx and "
            "Turborepo runs; `bench/bench.py tools` runs it)")
        return None
    return b.save("tools", tools.bench_tools(b, Server, ROOT, b.logdir))


BENCHMARKS = {
    "throughput": bench_throughput, "latency": bench_latency,
    "overhead": bench_overhead, "makespan": bench_makespan,
    "scale": bench_scale, "nx": bench_nx, "tools": bench_tools,
}


# --------------------------------------------------------------------------
# The README table.

def load(name):
    for prof in ("full", "short"):
        path = os.path.join(RESULTS, "%s-%s.json" % (name, prof))
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)
    return None


def machine_cell(d):
    m = d["machine"]
    return "%s, %d cores, load %.1f (%s)" % (
        d["profile"], m["cpus"], m["loadavg"], d["date"][:10])


def table():
    rows = ["| figure | dteq | peer | peer figure | ratio | target | "
            "profile, machine |", "|---|---|---|---|---|---|---|"]

    def ok(cond):
        return "" if cond is None else (" (met)" if cond else " (not met)")

    tp = load("throughput")
    if tp:
        d = tp["dteq"]
        rows.append("| throughput, %d x `true`, 4 agents x 2 | %.0f/s | "
                    "xargs -P 8 | %.0f/s | %s | >= 1.3x%s | %s |" % (
                        tp["tasks"], d["rate"], tp["xargs"]["rate"],
                        fmt_ratio(tp["ratio_vs_xargs"]),
                        ok(tp["ratio_vs_xargs"] >= 1.3), machine_cell(tp)))
        if tp.get("floor"):
            fl = tp["floor"]
            rows.append("| throughput | %.0f/s | %d bare libevent loop%s x %d "
                        "spawning the same tasks, no Redis (bench/floor.c) "
                        "| %.0f/s | %s | | %s |" % (
                            d["rate"], fl.get("procs", 1),
                            "s" if fl.get("procs", 1) > 1 else "",
                            fl["slots"], fl["rate"],
                            fmt_ratio(ratio(d["rate"], tp["floor"]["rate"])),
                            machine_cell(tp)))
        if tp.get("xargs_no_shell"):
            rows.append("| throughput | %.0f/s | xargs -P 8 executing `true` "
                        "itself, no shell (reference) | %.0f/s | %s | | %s |"
                        % (d["rate"], tp["xargs_no_shell"]["rate"],
                           fmt_ratio(ratio(d["rate"],
                                           tp["xargs_no_shell"]["rate"])),
                           machine_cell(tp)))
        if tp.get("bullmq"):
            rows.append("| throughput | %.0f/s | BullMQ %s, 4 x conc. 2 | "
                        "%.0f/s | %s | >= 3.5x%s | %s |" % (
                            d["rate"], tp["machine"]["bullmq"],
                            tp["bullmq"]["rate"],
                            fmt_ratio(tp["ratio_vs_bullmq"]),
                            ok(tp["ratio_vs_bullmq"] >= 3.5),
                            machine_cell(tp)))
    lt = load("latency")
    if lt:
        d = lt["dteq"]
        bf = lt.get("bullmq_flow")
        for p, tgt in (("p50", 0.3), ("p99", 2.0)):
            rows.append("| dispatch latency %s, chain of %d | %.3f ms | "
                        "BullMQ flow (child end -> parent start) | %s | %s "
                        "| <= %.1f ms%s | %s |" % (
                            p, lt["chain"], d[p + "_ms"],
                            "%.3f ms" % (bf["end_to_start_us"][p] / 1e3)
                            if bf else "n/a",
                            fmt_ratio(lt.get("bullmq_over_dteq_" + p)),
                            tgt, ok(d[p + "_ms"] <= tgt), machine_cell(lt)))
    ov = load("overhead")
    if ov:
        d, bq = ov["dteq"], ov.get("bullmq")
        rows.append("| CPU per task (submit + agents + redis) | %.0f us | "
                    "BullMQ | %s | %s | <= 100 us%s | %s |" % (
                        d["cpu_us_per_task"],
                        "%.0f us" % bq["cpu_us_per_task"] if bq else "n/a",
                        fmt_ratio(ov.get("bullmq_over_dteq_cpu")),
                        ok(d["cpu_us_per_task"] <= 100), machine_cell(ov)))
        if d.get("floor_cpu_us_per_task"):
            rows.append("| CPU per task | %.0f us | 4 bare libevent loops "
                        "x 2 spawning the same tasks, no Redis "
                        "(bench/floor.c) | %.0f us | %s | | %s |" % (
                            d["cpu_us_per_task"],
                            d["floor_cpu_us_per_task"],
                            fmt_ratio(ratio(d["cpu_us_per_task"],
                                            d["floor_cpu_us_per_task"])),
                            machine_cell(ov)))
        rf = d.get("floor_one_command")
        if rf:
            rows.append("| CPU per task | %.0f us | the same loops, each "
                        "task waiting for one Redis command (loops %.0f + "
                        "redis %.0f) | %.0f us | %s | | %s |" % (
                            d["cpu_us_per_task"], rf["cpu_us_per_task"],
                            rf["cpu_redis_us"], rf["cpu_total_us"],
                            fmt_ratio(ratio(d["cpu_us_per_task"],
                                            rf["cpu_total_us"])),
                            machine_cell(ov)))
        rows.append("| Redis commands per task (sent + inside scripts) | "
                    "%.1f + %.1f | BullMQ | %s | | <= 12%s | %s |" % (
                        d["sent_per_task"], d["in_scripts_per_task"],
                        "%.1f + %.1f" % (bq["sent_per_task"],
                                         bq["in_scripts_per_task"])
                        if bq else "n/a",
                        ok(d["sent_per_task"] + d["in_scripts_per_task"]
                           <= 12), machine_cell(ov)))
    mk = load("makespan")
    if mk:
        m = mk["mean_vs_lb"]
        rows.append("| makespan / lower bound, %d DAGs of 500 | %.3fx "
                    "(history), %.3fx (none) | FIFO | %.3fx | FIFO %s "
                    "slower | <= 1.10x%s | %s |" % (
                        len(mk["graphs"]), m["cp_history"], m["cp_cold"],
                        m["fifo"], fmt_ratio(mk["fifo_over_cp_history"]),
                        ok(mk["worst_cp_history"] <= 1.10),
                        machine_cell(mk)))
    sc = load("scale")
    if sc:
        s, i = sc["submit"], sc["idle"]
        sh = sc.get("submit_with_history") or s
        rows.append("| first dispatch, %d-task graph (with a full history) "
                    "| %.2f s (%.2f s) | | | | <= 2 s%s | %s |" % (
                        sc["tasks"], s["first_dispatch_s"],
                        sh["first_dispatch_s"],
                        ok(max(s["first_dispatch_s"],
                               sh["first_dispatch_s"]) <= 2),
                        machine_cell(sc)))
        rows.append("| producer RSS, %d tasks | %.0f MB | | | | <= 200 MB%s "
                    "| %s |" % (sc["tasks"], s["producer_rss_mb"],
                                ok(s["producer_rss_mb"] <= 200),
                                machine_cell(sc)))
        rows.append("| Redis memory per task (%d queued of %d) | %.0f B | | "
                    "| | | %s |" % (sc["roots"], sc["tasks"],
                                    s["redis_bytes_per_task"],
                                    machine_cell(sc)))
        bq = sc.get("bullmq_idle_worker")
        rows.append("| idle agent RSS (PSS; private) | %.2f MB (%.2f; %.2f) "
                    "| BullMQ idle worker process | %s | %s | <= 4 MB%s | "
                    "%s |" % (
                        i["idle_agent_rss_mb"], i.get("idle_agent_pss_mb")
                        or 0, i["idle_agent_anon_mb"],
                        "%.1f MB (%.1f)" % (bq["rss_mb"], bq["pss_mb"] or 0)
                        if bq else "n/a",
                        fmt_ratio(ratio(bq["rss_mb"], i["idle_agent_rss_mb"]))
                        if bq else "n/a",
                        ok(i["idle_agent_rss_mb"] <= 4), machine_cell(sc)))
        rows.append("| agent RSS with 8 running tasks (PSS; private) | "
                    "%.2f MB (%.2f; %.2f) | | | | | %s |" % (
                        i["busy_agent_rss_mb"], i.get("busy_agent_pss_mb")
                        or 0, i["busy_agent_anon_mb"], machine_cell(sc)))
        rows.append("| Redis CPU, %d idle agents | %.2f %% (%.0f cmd/s) | | "
                    "| | < 1 %%%s | %s |" % (
                        i["agents"], i["redis_cpu_pct"],
                        i["redis_commands_per_s"],
                        ok(i["redis_cpu_pct"] < 1), machine_cell(sc)))
    nx = load("nx")
    if nx and "dteq_warm_s" in nx:
        rows.append("| Nx workspace (tests/nx, %d tasks), wall, empty "
                    "caches (second run, caches warm) | %.1f s (%.1f s) "
                    "| `nx run-many --parallel=8` | %.1f s (%.1f s) | "
                    "%s (%s) | | %s |" % (
                        nx["dteq_tasks"], nx["dteq_s"], nx["dteq_warm_s"],
                        nx["nx_run_many_s"], nx["nx_run_many_warm_s"],
                        fmt_ratio(nx["ratio"]),
                        fmt_ratio(nx["ratio_warm"]), machine_cell(nx)))
    else:
        rows.append("| Nx workspace: 4 agents x 2 vs `nx run-many "
                    "--parallel=8` | | | | | | not run (full profile "
                    "only) |")
    return "\n".join(rows)


def update_readme():
    path = os.path.join(HERE, "README.md")
    with open(path) as f:
        text = f.read()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    if begin not in text or end not in text:
        log("bench/README.md has no results markers")
        return
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    text = head + begin + "\n" + table() + "\n" + end + tail
    begin, end = "<!-- tools:begin -->", "<!-- tools:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + begin + "\n" + tools.table(load("tools"),
                                                  machine_cell) + \
            "\n" + end + tail
    with open(path, "w") as f:
        f.write(text)
    log("bench/README.md: results tables updated")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="short")
    ap.add_argument("--dteq", default=os.path.join(ROOT, "build", "dteq"))
    ap.add_argument("--readme", action="store_true",
                    help="rewrite the README table from bench/results")
    ap.add_argument("--workspace", action="append", metavar="NAME",
                    help="tools: a workspace to run (ws39, nx23-large; "
                    "repeat the option for more; default: the profile's)")
    ap.add_argument("--repeat", type=int, metavar="N",
                    help="tools: turns of each cold and warm comparison "
                    "(default: the profile's)")
    ap.add_argument("benchmarks", nargs="*")
    args = ap.parse_args()
    names = args.benchmarks or ([] if args.readme and not args.benchmarks
                                else list(BENCHMARKS))
    for n in names:
        if n not in BENCHMARKS:
            ap.error("unknown benchmark %s (one of: %s)" %
                     (n, ", ".join(BENCHMARKS)))
    args.benchmarks = names
    if args.repeat:
        for k in ("tools_repeat", "tools_warm_repeat"):
            PROFILES[args.profile][k] = args.repeat
    if names:
        if shutil.which("redis-server") is None:
            sys.exit("bench: redis-server not found")
        b = Bench(args)
        t0 = time.monotonic()
        log("dteq benchmarks, profile %s, %d CPUs, load %.2f" %
            (args.profile, os.cpu_count(), os.getloadavg()[0]))
        try:
            for n in names:
                BENCHMARKS[n](b)
        finally:
            b.cleanup()
        log("done in %.0f s" % (time.monotonic() - t0))
    if args.readme or names:
        update_readme()


if __name__ == "__main__":
    main()
