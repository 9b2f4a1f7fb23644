"""The `tools` benchmark: dteq against Nx and Turborepo on one machine.

Issue 18, point 6. For each workspace, in one invocation and side by
side, taking turns:

  cold   `dteq run --agents 2 --nx "run-many -t T"` against `nx run-many
         -t T --parallel=2` (and, on a workspace with a turbo.json, `dteq
         run --agents 2 --turbo "run ..."` against `turbo run ...
         --concurrency=2`), each in a fresh copy with empty caches: wall
         time, and the CPU of everything the run started.
  CPU    the tool's CPU per task beyond the task's own command: the CPU of
         the whole run (every process it started, reaped: redis-server,
         agents, submit, runners, Nx, the tasks) less the CPU of the
         tasks' own commands run one by one outside any tool (`npm run
         build` in the project for Nx's run-script executor, the command
         of a run-commands target in its cwd), over the tasks that ran.
  warm   every task's outputs already in a Redis (filled by one untimed
         `dteq submit` with two agents on copies of their own), a fresh
         copy with an empty local cache: `dteq submit` with two `dteq
         work` agents, each on a fresh copy of its own, against the tool
         reading the same remote cache (`dteq cache` on that Redis:
         NX_SELF_HOSTED_REMOTE_CACHE_*, TURBO_API/TURBO_TOKEN/TURBO_TEAM).
         `dteq run` cannot be warm: it starts an empty private Redis each
         time; and it sets DTEQ_TOOL_DEPS=exclude, under which Turborepo's
         hashes (--only) are not the dry run's, so its tasks are not
         skipped. The submit's wall time is the figure (the agents are
         other machines' time on CI).

Each figure is the median of the repeats. The machine's load average and
the share of its CPU that other processes used during each run are
recorded with it.

Workspaces:
  ws39        tests/nx/gen_workspace.sh (13 projects, lint, test, build:
              39 tasks), Nx and Turborepo pinned by tests/nx/setup.sh.
  nx23-large  tests/nx/real/gen.sh nx23-large (create-nx-workspace 23.2.1
              --preset=ts, 16 libraries and an app; build, test, lint,
              typecheck: 68 tasks), Nx only. DTEQ_BENCH_GEN names another
              gen.sh (e.g. one of a branch not merged yet). Copied per run
              (cp -a); the generated one is never touched.

The benchmark makes itself the subreaper of what it starts, so processes
that a run leaves behind (Nx runners, Nx's plugin workers) are reaped
into its CPU too; a run that leaves one alive after 30 s has it killed
and the count recorded.
"""

import ctypes
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import time

TICK = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36

TARGETS = {"cold_ratio": 1.15, "cpu_per_task_s": 0.4, "warm_ratio": 2.0}

NX_ENV = {"NX_DAEMON": "false", "NX_NO_CLOUD": "true", "NX_TUI": "false",
          "TURBO_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1"}
# Variables of the caller that would change what is measured. Among
# them NODE_EXTRA_CA_CERTS: every Node.js process that starts with it
# reads the certificates, about 0.1 s of CPU each on the machine of
# bench/README.md, and Turborepo's strict environment keeps it from its
# tasks while Nx and dteq pass it on: unset, the sides are alike.
UNSET = ("NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "NX_CACHE_DIRECTORY", "NX_WORKSPACE_DATA_DIRECTORY",
         "NX_SKIP_NX_CACHE", "NX_SELF_HOSTED_REMOTE_CACHE_SERVER",
         "NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN", "TURBO_API",
         "TURBO_TOKEN", "TURBO_TEAM", "TURBO_CACHE_DIR", "TURBO_FORCE",
         "DTEQ_TOOL_DEPS", "DTEQ_NX_COMMAND", "DTEQ_TURBO_COMMAND",
         "DTEQ_NX_RUNNER", "DTEQ_REDIS_URL", "DTEQ_RUN", "DTEQ_SECRET",
         "DTEQ_AGENT_PID", "CI")

RUN_TIMEOUT = 900

def log(msg):
    print(msg, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# --------------------------------------------------------------------------
# Process trees: wall time, and the CPU of every process a run started.

def set_subreaper(on):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def my_children():
    """The pids whose parent is this process (orphans handed to it)."""
    me, out = os.getpid(), []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            out.append(int(d))
    return out


def machine_busy():
    """Busy and total clock ticks of all CPUs (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def reap_orphans(keep, grace=30.0):
    """Wait for the children of this process not in keep (what a run left
    behind) to exit, up to grace seconds, then kill them. Returns how
    many were still alive at the deadline."""
    deadline = time.monotonic() + grace
    killed = 0
    while True:
        pids = [p for p in my_children() if p not in keep]
        for p in pids:
            try:
                os.waitpid(p, os.WNOHANG)
            except ChildProcessError:
                pass
        pids = [p for p in my_children() if p not in keep]
        if not pids:
            return killed
        if time.monotonic() > deadline:
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            killed += len(pids)
            deadline = time.monotonic() + 5
        time.sleep(0.1)


def run_tree(argv, cwd, env, logpath, keep=(), timeout=RUN_TIMEOUT,
             reap=True):
    """Run argv to its end and reap what it left: its wall time (start to
    its exit), the CPU of every process of its tree, the load. With reap
    false, what it left is not waited for (nor counted)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, all0 = machine_busy()
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    with open(logpath, "wb") as out:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            rc = "timeout"
    wall = time.monotonic() - t0
    left = reap_orphans(set(keep)) if reap else 0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, all1 = machine_busy()
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    span = (all1 - all0) / TICK or 1e-9       # CPU-seconds of the machine
    others = max(0.0, (busy1 - busy0) / TICK - cpu)
    return {"rc": rc, "wall_s": wall, "cpu_s": cpu,
            "load": (load0 + os.getloadavg()[0]) / 2,
            "others_cpu_share": others / span, "left_behind": left,
            "log": logpath}


def check(r, what):
    if r["rc"] != 0:
        with open(r["log"], "rb") as f:
            tail = f.read()[-3000:].decode(errors="replace")
        raise RuntimeError("%s exited %s (log %s):\n%s" %
                           (what, r["rc"], r["log"], tail))


def read(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


# --------------------------------------------------------------------------
# Workspaces.

class Workspace:
    def __init__(self, name, pristine, targets, turbo_args, top):
        self.name = name
        self.pristine = pristine
        self.targets = targets              # nx -t
        self.turbo_args = turbo_args        # None: no turbo.json
        self.top = top                      # where copies go
        self.n = 0
        self.ntasks = None
        self.tasks = None                   # [(id, argv or None, cwd)]
        self.dteq_env = {}                  # what dteq's side needs

    def fresh(self, what):
        self.n += 1
        d = os.path.join(self.top, "%s-%s-%d" % (self.name, what, self.n))
        if subprocess.call(["cp", "-a", self.pristine, d]) != 0:
            raise RuntimeError("cp -a %s %s failed" % (self.pristine, d))
        return d

    def remove(self, *dirs):
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def env_for(copy, extra=None):
    """The environment of a tool or dteq process in copy: no caller
    settings that change the run, the tools quiet and local, the local
    caches inside the copy (empty in a fresh one)."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(NX_ENV)
    env["NX_CACHE_DIRECTORY"] = os.path.join(copy, ".nx", "cache")
    env["NX_WORKSPACE_DATA_DIRECTORY"] = os.path.join(copy, ".nx",
                                                      "workspace-data")
    env["TURBO_CACHE_DIR"] = os.path.join(copy, ".turbo", "cache")
    env.update(extra or {})
    return env


def nx_bin(copy):
    return os.path.join(copy, "node_modules", ".bin", "nx")


def turbo_bin(copy):
    return os.path.join(copy, "node_modules", ".bin", "turbo")


def task_commands(ws, logdir):
    """The tasks of `nx run-many -t TARGETS` in dependency order, each
    with the command its executor runs (None for an executor that runs no
    command of its own) and the folder it runs in, from Nx's --graph."""
    copy = ws.fresh("graph")
    gfile = os.path.join(copy, "dteq-bench-graph.json")
    try:
        r = run_tree([nx_bin(copy), "run-many", "-t", ws.targets,
                      "--graph=" + gfile], copy, env_for(copy),
                     os.path.join(logdir, ws.name + "-graph.log"))
        check(r, "nx run-many --graph")
        with open(gfile) as f:
            g = json.load(f)
    finally:
        ws.remove(copy)
    nodes = g["graph"]["nodes"]
    tasks = g["tasks"]["tasks"]
    deps = g["tasks"]["dependencies"]
    order, seen = [], set()

    def visit(t):
        if t in seen:
            return
        seen.add(t)
        for d in deps.get(t, []):
            visit(d["id"] if isinstance(d, dict) else d)
        order.append(t)
    for t in sorted(tasks):
        visit(t)
    out = []
    for tid in order:
        t = tasks[tid]
        proj, tgt = t["target"]["project"], t["target"]["target"]
        conf = nodes[proj]["data"]["targets"][tgt]
        root = nodes[proj]["data"]["root"]
        opts = conf.get("options", {})
        ex = conf.get("executor", "")
        argv, cwd = None, root
        if ex == "nx:run-script":
            argv = ["npm", "run", opts["script"]]
        elif ex == "nx:run-commands":
            cmds = opts.get("commands") or [opts.get("command")]
            cmds = [c["command"] if isinstance(c, dict) else c
                    for c in cmds if c]
            if cmds:
                line = " && ".join(cmds)
                if opts.get("args"):
                    a = opts["args"]
                    line += " " + (" ".join(a) if isinstance(a, list)
                                   else a)
                argv = ["sh", "-c", line]
                cwd = opts.get("cwd", ".")
                cwd = cwd.replace("{projectRoot}", root)
                cwd = cwd.replace("{workspaceRoot}", ".")
        out.append({"id": tid, "executor": ex, "argv": argv, "cwd": cwd,
                    "env": opts.get("env") or {}})
    return out


def commands_cpu(ws, logdir):
    """Every task's own command, one at a time in dependency order, in a
    fresh copy: the CPU of each (its whole tree) and their sum."""
    copy = ws.fresh("commands")
    total, n, none = 0.0, 0, []
    t0 = time.monotonic()
    try:
        path = os.path.join(copy, "node_modules", ".bin")
        for t in ws.tasks:
            if t["argv"] is None:
                none.append(t["id"])
                continue
            env = env_for(copy, {k: str(v) for k, v in t["env"].items()})
            env["PATH"] = path + os.pathsep + env.get("PATH", "")
            r = run_tree(t["argv"], os.path.join(copy, t["cwd"]), env,
                         os.path.join(logdir, "%s-cmd-%d.log" %
                                      (ws.name, n)))
            check(r, "%s: %s" % (t["id"], " ".join(t["argv"])))
            total += r["cpu_s"]
            n += 1
    finally:
        ws.remove(copy)
    return {"cpu_s": total, "commands": n, "no_command": none,
            "wall_s": time.monotonic() - t0, "load": os.getloadavg()[0]}


# --------------------------------------------------------------------------
# The runs.

SUMMARY = re.compile(r"^(\d+) tasks: (\d+) succeeded(?: \((\d+) cached\))?,"
                     r" (\d+) failed, (\d+) skipped", re.M)
RESTORED = re.compile(r"^Restored here from the remote cache before the "
                      r"run: (\d+) of (\d+) tasks", re.M)
NX_HITS = re.compile(r"from the cache instead of running the command for "
                     r"(\d+) out of (\d+) tasks")
NX_CACHE = re.compile(r"Cache:\s+(\d+)/(\d+) hit")      # Nx 24
REPLAY = re.compile(r"^\s+\w+\s+replay\s+([\d.]+)(m?s)\b", re.M)
TURBO_HITS = re.compile(r"Cached:\s+(\d+) cached, (\d+) total")
TURBO_TASKS = re.compile(r"Tasks:\s+(\d+) successful, (\d+) total")


def dteq_summary(text):
    m = SUMMARY.search(text)
    if not m:
        return None
    return {"tasks": int(m.group(1)), "succeeded": int(m.group(2)),
            "cached": int(m.group(3) or 0), "failed": int(m.group(4)),
            "skipped": int(m.group(5))}


def replay_s(text):
    """The replay's duration in a dteq summary, s (None: no replay)."""
    m = REPLAY.search(text)
    if not m:
        return None
    return float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)


def tool_cold(b, ws, tool, logdir):
    copy = ws.fresh(tool + "-cold")
    try:
        if tool == "nx":
            argv = [nx_bin(copy), "run-many", "-t", ws.targets,
                    "--parallel=2"]
        else:
            argv = [turbo_bin(copy)] + ws.turbo_args.split() + \
                ["--concurrency=2"]
        r = run_tree(argv, copy, env_for(copy),
                     os.path.join(logdir, "%s-%s-cold-%d.log" %
                                  (ws.name, tool, ws.n)))
        check(r, " ".join(argv[1:]))
        text = read(r["log"])
        r["tasks"] = tool_tasks(tool, text)
        r["cached"] = tool_hits(tool, text)
        return r
    finally:
        ws.remove(copy)


def tool_tasks(tool, text):
    """The tasks the tool's summary counts (None: it says not)."""
    for rx in ((NX_CACHE, NX_HITS) if tool == "nx" else (TURBO_TASKS,)):
        m = rx.search(text)
        if m:
            return int(m.group(2))
    return None


def tool_hits(tool, text):
    """The tasks the tool's summary says it read from a cache."""
    for rx in ((NX_CACHE, NX_HITS) if tool == "nx" else (TURBO_HITS,)):
        m = rx.search(text)
        if m:
            return int(m.group(1))
    return 0


def tool_flag(tool, args):
    return ["--nx", "run-many -t " + args] if tool == "nx" else \
        ["--turbo", args]


def dteq_cold(b, ws, tool, logdir):
    copy = ws.fresh("dteq-" + tool + "-cold")
    try:
        args = ws.targets if tool == "nx" else ws.turbo_args
        argv = [b.dteq, "run", "--agents", "2"] + tool_flag(tool, args)
        r = run_tree(argv, copy, env_for(copy, ws.dteq_env if tool == "nx"
                                          else None),
                     os.path.join(logdir, "%s-dteq-%s-cold-%d.log" %
                                  (ws.name, tool, ws.n)))
        check(r, "dteq run --agents 2 --%s" % tool)
        text = read(r["log"])
        s = dteq_summary(text)
        if not s or s["succeeded"] != s["tasks"]:
            raise RuntimeError("dteq run: not every task succeeded (%s)" %
                               r["log"])
        r["tasks"] = s["tasks"]
        r["cached"] = s["cached"]
        r["replay_s"] = replay_s(text)
        return r
    finally:
        ws.remove(copy)


class CacheServer:
    """`dteq cache` on a bench Redis, stopped by its pid."""

    def __init__(self, b, url, logpath):
        self.token = "bench-%d" % os.getpid()
        self.log = open(logpath, "wb")
        self.p = subprocess.Popen([b.dteq, "cache", "--redis", url,
                                   "--token", self.token],
                                  stdout=subprocess.PIPE, stderr=self.log,
                                  stdin=subprocess.DEVNULL)
        self.url = self.p.stdout.readline().decode().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError("dteq cache printed no URL (%s)" % logpath)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()

    def env(self):
        return {"NX_SELF_HOSTED_REMOTE_CACHE_SERVER": self.url,
                "NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN": self.token,
                "TURBO_API": self.url, "TURBO_TOKEN": self.token,
                "TURBO_TEAM": "ci"}


def dteq_submit(b, srv, ws, tool, what, logdir, keep):
    """`dteq submit` in a fresh copy with two `dteq work --parallel 1`
    agents, each on a fresh copy of its own (DTEQ_TOOL_DEPS: submit's
    default, restore), on the bench's Redis: the submit's wall time, the
    CPU of the whole run (submit, agents, every Nx runner, the tasks),
    its summary, the tasks the agents ran.

    The agents' Nx runners are orphans handed to this process (the
    subreaper), and each runs until its agent is gone (a zombie agent is
    not): run_tree reaps the agents, which end once the run releases
    them, and then the runners."""
    run = b.run_id("tools-" + what)
    main = ws.fresh("dteq-" + what)
    copies = [ws.fresh("agent-%d" % k) for k in (1, 2)]
    agents, errs = [], []
    try:
        for k, c in enumerate(copies):
            errs.append(open(os.path.join(logdir, "%s.a%d.err" %
                                          (run, k + 1)), "wb"))
            agents.append(subprocess.Popen(
                [b.dteq, "work", "--redis", srv.url, "--run", run,
                 "--parallel", "1", "--name", "a%d" % (k + 1), "--wait",
                 "120"], cwd=c, env=env_for(c),
                stdout=subprocess.DEVNULL, stderr=errs[-1],
                stdin=subprocess.DEVNULL))
        time.sleep(0.5)                 # let them connect and subscribe
        args = ws.targets if tool == "nx" else ws.turbo_args
        argv = [b.dteq, "submit", "--redis", srv.url, "--run", run,
                "--agent-wait", "120"] + tool_flag(tool, args)
        r = run_tree(argv, main, env_for(main, ws.dteq_env if tool == "nx"
                                          else None),
                     os.path.join(logdir, run + ".out"),
                     keep=keep)
        check(r, "dteq submit --%s (%s)" % (tool, what))
        for a in agents:
            try:
                a.wait(60)
            except subprocess.TimeoutExpired:
                a.send_signal(signal.SIGTERM)
                a.wait()
        reap_orphans(set(keep))
        text = read(r["log"])
        s = dteq_summary(text)
        if not s or s["succeeded"] != s["tasks"]:
            raise RuntimeError("dteq submit: not every task succeeded (%s)"
                               % r["log"])
        r["tasks"], r["cached"] = s["tasks"], s["cached"]
        r["replay_s"] = replay_s(text)
        m = RESTORED.search(text)
        r["restored_before"] = int(m.group(1)) if m else None
        res = b.results(srv, run)
        r["ran_on_agents"] = sum(1 for v in res.values()
                                 if not v.get("cached") and
                                 v.get("agent") not in (None, "", "main"))
        return r
    finally:
        for a in agents:
            if a.poll() is None:
                a.kill()
                a.wait()
        for f in errs:
            f.close()
        ws.remove(main, *copies)


def tool_warm(b, ws, tool, cache, logdir, keep):
    copy = ws.fresh(tool + "-warm")
    try:
        if tool == "nx":
            argv = [nx_bin(copy), "run-many", "-t", ws.targets,
                    "--parallel=2"]
        else:
            argv = [turbo_bin(copy)] + ws.turbo_args.split() + \
                ["--concurrency=2"]
        r = run_tree(argv, copy, env_for(copy, cache.env()),
                     os.path.join(logdir, "%s-%s-warm-%d.log" %
                                  (ws.name, tool, ws.n)),
                     keep=keep)
        check(r, " ".join(argv[1:]) + " (warm)")
        text = read(r["log"])
        r["tasks"] = tool_tasks(tool, text)
        r["cached"] = tool_hits(tool, text)
        return r
    finally:
        ws.remove(copy)


# --------------------------------------------------------------------------
# One workspace, one tool.

def brief(r):
    return {k: r[k] for k in ("wall_s", "cpu_s", "load", "others_cpu_share",
                              "tasks", "cached", "left_behind",
                              "restored_before", "ran_on_agents",
                              "replay_s")
            if k in r}


def bench_pair(b, Server, ws, tool, logdir):
    """Cold and warm, tool against dteq, on ws. Each cold turn measures
    the tasks' own commands first, then runs both sides (the other side
    first every other turn), so that each turn's figures meet about the
    same load."""
    p = b.profile
    out = {"cold": [], "warm": []}
    log("  %s, %s: cold, %d turns (the tasks' own commands one by one, "
        "then each side in a fresh copy with empty caches)" % (
            ws.name, tool, p["tools_repeat"]))
    for k in range(p["tools_repeat"]):
        turn = {"commands": commands_cpu(ws, logdir)}
        c = turn["commands"]
        log("    the %d commands alone: %.1f s of CPU (%.2f s each; %d "
            "tasks run none of their own%s; load %.1f)" % (
                c["commands"], c["cpu_s"],
                c["cpu_s"] / max(1, c["commands"]), len(c["no_command"]),
                ": " + ", ".join(c["no_command"]) if c["no_command"] else
                "", c["load"]))
        sides = [("tool", tool_cold), ("dteq", dteq_cold)]
        if k % 2:
            sides.reverse()
        for name, fn in sides:
            r = fn(b, ws, tool, logdir)
            turn[name] = brief(r)
            turn[name]["cpu_per_task_s"] = \
                (r["cpu_s"] - c["cpu_s"]) / len(ws.tasks)
            log("    %-5s %7.1f s wall, %6.1f s CPU (%.2f s per task beyond "
                "the commands), %s tasks (load %.1f, others %2.0f %% of the "
                "CPUs)%s" % (
                    tool if name == "tool" else "dteq", r["wall_s"],
                    r["cpu_s"], turn[name]["cpu_per_task_s"], r.get("tasks"),
                    r["load"], 100 * r["others_cpu_share"],
                    "; %d processes left behind, killed" %
                    r["left_behind"] if r["left_behind"] else ""))
        out["cold"].append(turn)

    log("  %s, %s: warm, %d turns (every output in the Redis; fresh "
        "copies)" % (ws.name, tool, p["tools_warm_repeat"]))
    srv = Server(b.tmp)
    cache = None
    try:
        cache = CacheServer(b, srv.url, os.path.join(
            logdir, "%s-%s-cache.log" % (ws.name, tool)))
        keep = {srv.pid, cache.p.pid}
        fill = dteq_submit(b, srv, ws, tool, "fill", logdir, keep)
        out["fill"] = brief(fill)
        log("    fill: dteq submit, 2 agents on copies of their own, "
            "%.1f s, %d tasks, %d on the agents" % (
                fill["wall_s"], fill["tasks"], fill["ran_on_agents"]))
        for k in range(p["tools_warm_repeat"]):
            sides = [("tool", lambda: tool_warm(b, ws, tool, cache,
                                                logdir, keep)),
                     ("dteq", lambda: dteq_submit(b, srv, ws, tool, "warm",
                                                  logdir, keep))]
            if k % 2:
                sides.reverse()
            turn = {}
            for name, fn in sides:
                r = fn()
                turn[name] = brief(r)
                log("    %-4s %7.2f s wall, %5.1f s CPU, %s of %s tasks "
                    "from the cache%s (load %.1f)" % (
                        tool if name == "tool" else "dteq", r["wall_s"],
                        r["cpu_s"], r.get("cached"), r.get("tasks"),
                        ", %d ran on agents" % r["ran_on_agents"]
                        if "ran_on_agents" in r else "", r["load"]))
            out["warm"].append(turn)
    finally:
        if cache:
            cache.stop()
        srv.stop()
    return summarize(out)


def summarize(out):
    """Medians, and ratios dteq / tool (below the target is met): the
    median of the turns' own ratios, each turn's two runs being back to
    back."""
    s = {}
    for phase in ("cold", "warm"):
        for side in ("tool", "dteq"):
            for k in ("wall_s", "cpu_s", "load", "others_cpu_share"):
                s["%s_%s_%s" % (phase, side, k)] = median(
                    [t[side][k] for t in out[phase]])
        s[phase + "_ratios"] = [ratio(t["dteq"]["wall_s"],
                                      t["tool"]["wall_s"])
                                for t in out[phase]]
        s[phase + "_ratio"] = median(s[phase + "_ratios"])
    s["tasks"] = median([t["dteq"]["tasks"] for t in out["cold"]])
    s["commands_cpu_s"] = median([t["commands"]["cpu_s"]
                                  for t in out["cold"]])
    for side in ("tool", "dteq"):
        s["cpu_per_task_%s_s" % side] = median(
            [t[side]["cpu_per_task_s"] for t in out["cold"]])
    s["warm_dteq_cached"] = median([t["dteq"]["cached"]
                                    for t in out["warm"]])
    s["warm_tool_cached"] = median([t["tool"]["cached"]
                                    for t in out["warm"]])
    s["met"] = {
        "cold": s["cold_ratio"] is not None and
        s["cold_ratio"] <= TARGETS["cold_ratio"],
        "cpu": s.get("cpu_per_task_dteq_s") is not None and
        s["cpu_per_task_dteq_s"] <= TARGETS["cpu_per_task_s"],
        "warm": s["warm_ratio"] is not None and
        s["warm_ratio"] <= TARGETS["warm_ratio"]}
    out["median"] = s
    return out


def ratio(a, b):
    return a / b if a and b else None


# --------------------------------------------------------------------------
# The benchmark.

def workspaces(b, root, logdir):
    """The workspaces of the profile that can be made here."""
    out = []
    names = b.profile["tools_workspaces"]
    if getattr(b.args, "workspace", None):
        names = b.args.workspace
    for name in names:
        if name == "ws39":
            p = subprocess.run([os.path.join(root, "tests", "nx",
                                             "setup.sh")],
                               capture_output=True, text=True)
            if p.returncode != 0 or not p.stdout.strip():
                log("  ws39: tests/nx/setup.sh failed (npm?): skipped")
                continue
            tools = p.stdout.strip().splitlines()[-1]
            pristine = os.path.join(b.tmp, "pristine-ws39")
            if subprocess.call([os.path.join(root, "tests", "nx",
                                             "gen_workspace.sh"),
                                pristine, tools],
                               stdout=subprocess.DEVNULL) != 0:
                raise RuntimeError("tests/nx/gen_workspace.sh failed")
            out.append(Workspace("ws39", pristine, "lint,test,build",
                                 "run lint test build", b.tmp))
        elif name == "nx23-large":
            gen = os.environ.get("DTEQ_BENCH_GEN") or os.path.join(
                root, "tests", "nx", "real", "gen.sh")
            if not os.path.exists(gen):
                log("  nx23-large: no %s: skipped (DTEQ_BENCH_GEN names "
                    "another gen.sh)" % os.path.relpath(gen, root))
                continue
            t0 = time.monotonic()
            p = subprocess.run([gen, "nx23-large"], capture_output=True,
                               text=True)
            if p.returncode != 0 or not p.stdout.strip():
                log("  nx23-large: %s failed (exit %d): skipped\n%s" % (
                    gen, p.returncode, p.stderr[-2000:]))
                continue
            pristine = p.stdout.strip().splitlines()[-1]
            log("  nx23-large: %s (%.0f s)" % (pristine,
                                               time.monotonic() - t0))
            out.append(Workspace("nx23-large", pristine,
                                 "build,test,lint,typecheck", None, b.tmp))
        else:
            raise RuntimeError("unknown workspace %s" % name)
    return out


def bench_tools(b, Server, root, logdir):
    """Returns the JSON to save."""
    p = b.profile
    log("tools: dteq against Nx and Turborepo, 2 at a time; cold %d turns, "
        "warm %d; workspaces %s" % (p["tools_repeat"],
                                    p["tools_warm_repeat"],
                                    ", ".join(b.args.workspace or
                                              p["tools_workspaces"])))
    set_subreaper(True)
    out = {"targets": TARGETS, "workspaces": {},
           "repeat": p["tools_repeat"],
           "warm_repeat": p["tools_warm_repeat"]}
    try:
        for ws in workspaces(b, root, logdir):
            try:
                out["workspaces"][ws.name] = bench_workspace(b, Server, ws,
                                                             logdir)
            except Exception as e:      # the others still run
                log("  %s: failed: %s" % (ws.name, e))
                out["workspaces"][ws.name] = {"error": str(e)[:4000]}
            ws.remove(ws.pristine if ws.pristine.startswith(b.tmp) else "")
    finally:
        set_subreaper(False)
    return out


def bench_workspace(b, Server, ws, logdir):
    """Everything on one workspace: its JSON."""
    p = b.profile
    ws.tasks = task_commands(ws, logdir)
    log("  %s: %d tasks (%s)" % (ws.name, len(ws.tasks), ws.targets))
    w = {"tasks": len(ws.tasks), "targets": ws.targets,
         "dteq_env": ws.dteq_env,
         "executors": sorted({t["executor"] for t in ws.tasks})}
    for tool in ("nx", "turbo"):
        if tool == "turbo" and not ws.turbo_args:
            continue
        w[tool] = bench_pair(b, Server, ws, tool, logdir)
        m = w[tool]["median"]
        log("  %s, %s: cold dteq/%s %.2fx (target <= %.2fx); tool "
            "CPU per task beyond the command: dteq %.2f s, %s %.2f "
            "s (target <= %.1f s); warm dteq/%s %.2fx (target <= "
            "%.0fx)" % (
                ws.name, tool, tool, m["cold_ratio"],
                TARGETS["cold_ratio"], m["cpu_per_task_dteq_s"],
                tool, m["cpu_per_task_tool_s"],
                TARGETS["cpu_per_task_s"], tool, m["warm_ratio"],
                TARGETS["warm_ratio"]))
    return w


# --------------------------------------------------------------------------
# The README table.

def table(d, machine_cell):
    """Rows of bench/README.md's tools table from the saved JSON."""
    if not d or not d.get("workspaces"):
        return "(not run yet: `python3 bench/bench.py tools`)"
    rows = ["| workspace | measure | tool | tool's figure | dteq | "
            "dteq / tool | target | runs, machine |",
            "|---|---|---|---|---|---|---|---|"]
    mc = machine_cell(d)

    def ok(c):
        return "met" if c else "not met"

    def fr(a, b):
        return "%.2fx" % (a / b) if a and b and a > 0 and b > 0 else "n/a"
    for name, w in d["workspaces"].items():
        if "error" in w:
            rows.append("| %s | failed: %s | | | | | | %s |" % (
                name, w["error"].splitlines()[0][:200].replace("|", "/"),
                mc))
            continue
        for tool in ("nx", "turbo"):
            if tool not in w:
                continue
            m = w[tool]["median"]
            label = {"nx": "`nx run-many --parallel=2`",
                     "turbo": "`turbo run --concurrency=2`"}[tool]
            ws = "%s (%d tasks)" % (name, w["tasks"])
            runs = "%d turns; load %.1f, others %.0f %% of the CPUs; %s" % (
                len(w[tool]["cold"]), m["cold_dteq_load"],
                100 * m["cold_dteq_others_cpu_share"], mc)
            rows.append("| %s | cold wall, empty caches (`dteq run "
                        "--agents 2`) | %s | %.1f s | %.1f s | %.2fx | "
                        "<= 1.15x (%s) | %s |" % (
                            ws, label, m["cold_tool_wall_s"],
                            m["cold_dteq_wall_s"], m["cold_ratio"],
                            ok(m["met"]["cold"]), runs))
            rows.append("| %s | CPU per task beyond its own command "
                        "(commands alone: %.2f s per task) | %s | %.2f s "
                        "| %.2f s | %s | dteq <= 0.4 s (%s) | %s |" % (
                            ws, m["commands_cpu_s"] / w["tasks"], label,
                            m["cpu_per_task_tool_s"],
                            m["cpu_per_task_dteq_s"],
                            fr(m["cpu_per_task_dteq_s"],
                                m["cpu_per_task_tool_s"]),
                            ok(m["met"]["cpu"]), runs))
            rows.append("| %s | warm wall, every output in Redis, fresh "
                        "copy (`dteq submit`, 2 agents; the tool on `dteq "
                        "cache`) | %s | %.2f s (%d hits) | %.2f s (%d "
                        "hits) | %.2fx | <= 2x (%s) | %d turns; load %.1f; "
                        "%s |" % (
                            ws, label, m["warm_tool_wall_s"],
                            m["warm_tool_cached"], m["warm_dteq_wall_s"],
                            m["warm_dteq_cached"], m["warm_ratio"],
                            ok(m["met"]["warm"]), len(w[tool]["warm"]),
                            m["warm_dteq_load"], mc))
    return "\n".join(rows)
