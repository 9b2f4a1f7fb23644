"""Random task graphs for the makespan benchmark, and a list-queue simulator.

gen_dag() draws a layered DAG: n tasks spread over `depth` levels (every
level non-empty); a task on level l > 0 needs one task of level l - 1 (so
the graph is exactly `depth` deep) and up to two more from any lower
level. Durations are Pareto (alpha 1.16, the "80/20" tail), clipped to
[1, 200] units, then scaled so that the lower bound
max(critical path, total work / slots) is `target` seconds.

simulate() replays a graph on `slots` identical slots with zero dispatch
cost, for a ready-queue policy, so the policies can be compared without
sleeping; it is a helper for the README's analysis, not a benchmark.
"""

import random


def gen_dag(seed, n=500, depth_range=(10, 30), target=60.0, slots=8,
            alpha=1.16, cap=200.0):
    rng = random.Random(seed)
    depth = rng.randint(*depth_range)
    level = list(range(depth)) + [rng.randrange(depth) for _ in range(n - depth)]
    rng.shuffle(level)
    order = sorted(range(n), key=lambda i: (level[i], i))
    bylevel = [[] for _ in range(depth)]
    for i in order:
        bylevel[level[i]].append(i)
    deps = [[] for _ in range(n)]
    for i in range(n):
        lv = level[i]
        if lv == 0:
            continue
        d = {rng.choice(bylevel[lv - 1])}
        for _ in range(rng.randint(0, 2)):
            d.add(rng.choice(bylevel[rng.randrange(lv)]))
        deps[i] = sorted(d)
    raw = [min(cap, rng.paretovariate(alpha)) for _ in range(n)]
    lb = lower_bound(raw, deps, slots)
    scale = target / lb
    dur = [r * scale for r in raw]
    return {"seed": seed, "n": n, "depth": depth, "deps": deps,
            "dur": dur, "order": order, "scale": scale}


def critical_path(dur, deps):
    """Length of the longest path (sum of durations)."""
    n = len(dur)
    memo = [None] * n
    # Tasks are acyclic; compute finish-by-path in an order where deps come
    # first (iteratively, to stay clear of recursion limits).
    indeg = [len(d) for d in deps]
    dependents = [[] for _ in range(n)]
    for i, d in enumerate(deps):
        for j in d:
            dependents[j].append(i)
    ready = [i for i in range(n) if indeg[i] == 0]
    while ready:
        i = ready.pop()
        memo[i] = dur[i] + max((memo[j] for j in deps[i]), default=0.0)
        for k in dependents[i]:
            indeg[k] -= 1
            if indeg[k] == 0:
                ready.append(k)
    return max(memo)


def lower_bound(dur, deps, slots):
    return max(critical_path(dur, deps), sum(dur) / slots)


def remaining_path(dur, deps):
    """For each task: its duration plus the longest path after it."""
    n = len(dur)
    dependents = [[] for _ in range(n)]
    for i, d in enumerate(deps):
        for j in d:
            dependents[j].append(i)
    outdeg = [len(x) for x in dependents]
    rank = [0.0] * n
    ready = [i for i in range(n) if outdeg[i] == 0]
    while ready:
        i = ready.pop()
        rank[i] = dur[i] + max((rank[k] for k in dependents[i]), default=0.0)
        for j in deps[i]:
            outdeg[j] -= 1
            if outdeg[j] == 0:
                ready.append(j)
    return rank


def to_taskfile(g, prefix="t"):
    """The dteq task file of a graph: each task sleeps its duration."""
    tasks = []
    for i in g["order"]:
        t = {"id": "%s%03d" % (prefix, i),
             "command": "sleep %.3f" % g["dur"][i]}
        if g["deps"][i]:
            t["deps"] = ["%s%03d" % (prefix, j) for j in g["deps"][i]]
        tasks.append(t)
    return {"tasks": tasks}


def simulate(g, slots, policy, est=None):
    """Makespan of g on `slots` slots. policy: 'fifo' (readiness order),
    'mean' (a list; a ready batch is sorted, a task goes to the popping
    end when its rank is above the mean rank of the queued tasks, else to
    the back: what sched.c did until 2026-11-28), 'sorted' (a list kept
    sorted: a task goes to the popping end when it outranks or ties the
    task there, to the back when it ranks no higher than the task there,
    else it is held until it can: what sched.c does) or 'ideal' (a true
    priority queue). est: the durations the scheduler believes (default:
    the true ones)."""
    import heapq
    dur, deps = g["dur"], g["deps"]
    n = len(dur)
    rank = remaining_path(est if est is not None else dur, deps)
    dependents = [[] for _ in range(n)]
    for i, d in enumerate(deps):
        for j in d:
            dependents[j].append(i)
    pending = [len(d) for d in deps]
    queue = []          # index 0 = the popping end
    pq = []             # 'ideal': the queue; 'sorted': the held tasks
    fileorder = {t: k for k, t in enumerate(g["order"])}

    def take():
        # 'sorted': let go of the held tasks that fit at an end.
        front = []
        while pq:
            i = pq[0][2]
            if queue and rank[i] <= rank[queue[-1]]:
                queue.append(i)
            elif not queue or rank[i] >= rank[queue[0]]:
                front.append(i)
            else:
                break
            heapq.heappop(pq)
        queue[0:0] = front

    def push(batch):
        batch = sorted(batch, key=lambda i: fileorder[i])
        if policy == "fifo":
            queue.extend(batch)
            return
        if policy in ("ideal", "sorted"):
            for i in batch:
                heapq.heappush(pq, (-rank[i], fileorder[i], i))
            if policy == "sorted":
                take()
            return
        batch.sort(key=lambda i: -rank[i])
        front = []
        for i in batch:
            if queue and rank[i] * len(queue) > sum(rank[q] for q in queue):
                front.append(i)
            else:
                queue.append(i)
        queue[0:0] = front

    def pop():
        if policy == "ideal":
            return heapq.heappop(pq)[2] if pq else None
        i = queue.pop(0) if queue else None
        if policy == "sorted":
            take()
        return i

    push([i for i in range(n) if pending[i] == 0])
    running = []        # (end, task)
    now = 0.0
    free = slots
    done = 0
    while done < n:
        while free > 0:
            i = pop()
            if i is None:
                break
            heapq.heappush(running, (now + dur[i], i))
            free -= 1
        now, i = heapq.heappop(running)
        free += 1
        done += 1
        batch = []
        for k in dependents[i]:
            pending[k] -= 1
            if pending[k] == 0:
                batch.append(k)
        # Tasks ending at the same instant are one event for the scheduler.
        while running and running[0][0] == now:
            _, j = heapq.heappop(running)
            free += 1
            done += 1
            for k in dependents[j]:
                pending[k] -= 1
                if pending[k] == 0:
                    batch.append(k)
        push(batch)
    return now
