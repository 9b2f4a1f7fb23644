// dteq: self-hosted distributed task execution over Redis.
//
// The Nx runner: one long-lived Node process that loads the workspace's
// own Nx and its project graph once, then runs Nx tasks one request at a
// time, each through Nx's runDiscreteTasks with the task's whole task graph
// (its dependencies included) for hashing. So a task's hash is the one the
// full `nx run-many` computes, whichever tasks ran here, and Nx and its
// plugins start once per runner instead of once per task. tools/nxrun.c
// starts it (embedded in the dteq binary) and talks to it.
//
// usage: node nxrunner.js SOCKET [WATCH_PID]
//   cwd        the workspace
//   fd 3       a pipe: one line, "ready", "unsupported: WHY" (this Nx has
//              no runDiscreteTasks: the caller runs `nx run` itself) or
//              "error: WHY", then closed
//   fd 1, 2    the write end of a pipe whose read end is fd 4: what Nx and
//              the tasks' processes print (they write to the runner's
//              stdout, not through Nx's lifecycle) comes back on fd 4 and
//              goes to the request being served as its output
//   SOCKET     a unix socket to listen on, one connection at a time
//   WATCH_PID  exit when that process is gone (the agent), checked every
//              second; without it, exit after the first connection
//
// A connection carries one request, a JSON line:
//   {"tasks": [{"id": ID, "overrides": {...}}...],
//    "env": {NAME: VALUE...}, "quiet": BOOL, "hitsOnly": BOOL}
// The tasks run in the order given, each after the one before succeeded
// (a restore lists a task's dependencies that way). A task's overrides
// are those of the task graph Nx writes (default: none); env replaces
// the process's environment for the request. "hitsOnly" runs only the
// tasks the remote cache has (NX_SELF_HOSTED_REMOTE_CACHE_SERVER, asked
// with HEAD once the task is hashed, its dependencies' outputs being
// there): a task it lacks, or one that depends on such a task, is not
// run and its result says "miss". Replies are frames, a type byte
// and a 4-byte big-endian length, then that many bytes:
//   'o'  output of the tasks, as `nx run` prints it ("quiet": for a cache
//        hit, one line that names it instead)
//   'r'  one task's result, JSON: {"id", "hash", "status" (Nx's:
//        success, failure, local-cache, remote-cache,
//        local-cache-kept-existing, skipped), "code", "runner" (this
//        process's pid)}
//   'e'  the request failed before a task ran: the message
// and the connection closes. {"ping": true} gets no reply but the close:
// its client only wanted the runner started, and it stays. A connection that closes before its last
// reply means the task was killed (a timeout, a cancel, a lost lease): the
// runner kills its process group (its tasks' processes and itself), in
// which nothing else runs.

'use strict';

const net = require('net');
const fs = require('fs');
const { spawn } = require('child_process');

const root = process.cwd();
const [sockPath, watchArg] = process.argv.slice(2);
const watchPid = watchArg ? Number(watchArg) : 0;

function ready(line) {
  try {
    fs.writeSync(3, line + '\n');
    fs.closeSync(3);
  } catch (e) {
    // The caller is gone; it will see the socket or nothing.
  }
}

function nxModule(name) {
  return require(require.resolve('nx/src/' + name, { paths: [root] }));
}

let nx;
try {
  nx = {
    graph: nxModule('project-graph/project-graph'),
    config: nxModule('config/nx-json'),
    tasks: nxModule('tasks-runner/create-task-graph'),
    run: nxModule('tasks-runner/init-tasks-runner'),
  };
} catch (e) {
  ready('unsupported: cannot load Nx from ' + root + ': ' +
    String(e.message).split('\n')[0]);
  process.exit(3);
}
if (typeof nx.run.runDiscreteTasks !== 'function' ||
    typeof nx.tasks.createTaskGraph !== 'function') {
  ready('unsupported: this Nx has no runDiscreteTasks');
  process.exit(3);
}

// Send a frame; false once the connection is gone.
function frame(sock, type, text) {
  if (sock.destroyed)
    return false;
  const body = Buffer.from(text);
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeUInt32BE(body.length, 1);
  sock.write(Buffer.concat([head, body]));
  return true;
}

// A task id "PROJECT:TARGET[:CONFIGURATION]", the project's name being
// the longest one of the graph the id starts with (names may hold ':').
function splitId(graph, id) {
  let project = null;
  for (const name of Object.keys(graph.nodes)) {
    if (id.startsWith(name + ':') &&
        (project === null || name.length > project.length))
      project = name;
  }
  if (project === null)
    throw new Error('task ' + id + ': no such project in the graph');
  const rest = id.slice(project.length + 1);
  const colon = rest.indexOf(':');
  if (colon === -1)
    return { project, target: rest, configuration: undefined };
  return { project, target: rest.slice(0, colon),
    configuration: rest.slice(colon + 1) };
}

function setEnv(env) {
  if (env === null || typeof env !== 'object')
    return;
  for (const k of Object.keys(process.env)) {
    if (!(k in env))
      delete process.env[k];
  }
  for (const [k, v] of Object.entries(env))
    process.env[k] = String(v);
}

// A quiet task's line, in Nx's words for a cache hit.
function quietStatus(result) {
  switch (result.status) {
  case 'local-cache':
    return 'local cache';
  case 'remote-cache':
    return 'remote cache';
  case 'local-cache-kept-existing':
    return 'existing outputs match the cache, left as is';
  default:
    return 'not in the cache: ran it, ' + result.status;
  }
}

// The output relay: what arrives on fd 4 goes to the connection being
// served, unless its task is quiet. After a task, a marker written to
// stdout comes back once everything its processes wrote before it has
// (they have exited): only then is its result sent.
const relay = { sock: null, quiet: false, marker: null, seen: null,
  held: '' };
// A socket, not fs.createReadStream: that blocks a thread in read(),
// which process.exit() then waits for.
const output = new net.Socket({ fd: 4, readable: true, writable: false });
output.setEncoding('utf8');
output.on('data', (s) => {
  let text = relay.held + s;
  relay.held = '';
  if (relay.marker !== null) {
    const at = text.indexOf(relay.marker);
    if (at !== -1) {
      const before = text.slice(0, at);
      const after = text.slice(at + relay.marker.length);
      if (!relay.quiet && relay.sock !== null && before)
        frame(relay.sock, 'o', before);
      const seen = relay.seen;
      relay.marker = relay.seen = null;
      seen();
      text = after;
    } else {
      // Keep a tail that may be the start of the marker.
      const keep = Math.min(text.length, relay.marker.length - 1);
      relay.held = text.slice(text.length - keep);
      text = text.slice(0, text.length - keep);
    }
  }
  if (text && !relay.quiet && relay.sock !== null)
    frame(relay.sock, 'o', text);
});

// Resolve once the output written so far has been relayed.
function drained() {
  return new Promise((resolve) => {
    relay.marker = '\u0000dteq-' + process.pid + '-' + Date.now() + '-' +
      Math.random().toString(36).slice(2) + '\u0000';
    relay.seen = resolve;
    fs.writeSync(1, relay.marker);
  });
}

// Does the remote cache hold hash? HEAD, as Nx's own client would GET.
async function remoteHas(hash) {
  const base = process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER;
  if (!base)
    return false;
  const token = process.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN;
  const res = await fetch(base.replace(/\/+$/, '') + '/v1/cache/' + hash,
    { method: 'HEAD',
      headers: token ? { Authorization: 'Bearer ' + token } : {} });
  return res.status === 200;
}

// hitsOnly: the task's hash as the orchestrator would make it.
async function hashOf(graph, nxJson, taskGraph, task) {
  if (nx.hash === undefined) {
    nx.hash = {
      runner: nxModule('tasks-runner/run-command'),
      hasher: nxModule('hasher/create-task-hasher'),
      task: nxModule('hasher/hash-task'),
    };
  }
  const { runnerOptions } = nx.hash.runner.getRunner({}, nxJson);
  const hasher = nx.hash.hasher.createTaskHasher(graph, nxJson,
    runnerOptions);
  await nx.hash.task.hashTask(hasher, graph, taskGraph, task, process.env);
  const hash = task.hash;
  // The orchestrator hashes it again, recording the task's details in
  // Nx's database, which its cache entry needs.
  delete task.hash;
  delete task.hashDetails;
  return hash;
}

// Run one task with its whole task graph for hashing (hitsOnly: only a
// cache hit, misses the set of tasks that missed).
async function runTask(sock, graph, nxJson, id, overrides, quiet, misses) {
  const { project, target, configuration } = splitId(graph, id);
  const taskGraph = nx.tasks.createTaskGraph(graph, {}, [project],
    [target], configuration, overrides, false);
  const task = taskGraph.tasks[id];
  if (task === undefined)
    throw new Error('task ' + id + ': Nx made no such task');
  if (misses !== null) {
    const missed = Object.keys(taskGraph.tasks).some((t) => misses.has(t));
    const hash = missed ? null : await hashOf(graph, nxJson, taskGraph,
      task);
    if (missed || !(await remoteHas(hash))) {
      misses.add(id);
      return { id, hash, status: 'miss', code: 0, runner: process.pid };
    }
  }
  relay.quiet = quiet;
  const settled = await Promise.all(await nx.run.runDiscreteTasks([task],
    graph, taskGraph, nxJson, {}));
  await drained();
  relay.quiet = false;
  let result = null;
  for (const r of settled.flat()) {
    if (r.task.id === id)
      result = r;
  }
  if (result === null)
    throw new Error('task ' + id + ': Nx gave no result');
  if (quiet)
    frame(sock, 'o', '> nx run ' + id + '  [' + quietStatus(result) + ']\n');
  const code = typeof result.code === 'number' ? result.code :
    (result.status === 'failure' ? 1 : 0);
  return { id, hash: task.hash || null, status: result.status, code,
    runner: process.pid };
}

// Kill this process group: the tasks' processes and this runner. A
// detached shell sends SIGKILL to what SIGTERM left, two seconds later.
let server = null;
function killAll() {
  // No new client: the next task of this slot starts another runner.
  try {
    if (server !== null)
      server.close();
    fs.unlinkSync(sockPath);
  } catch (e) {
    // Gone already.
  }
  try {
    spawn('sh', ['-c', 'sleep 2; kill -KILL -' + process.pid +
      ' 2>/dev/null'], { detached: true, stdio: 'ignore' }).unref();
  } catch (e) {
    // Nothing more to try.
  }
  try {
    process.kill(-process.pid, 'SIGTERM');
  } catch (e) {
    process.exit(1);
  }
  setTimeout(() => process.exit(1), 2500);
}

async function serve(sock, graph, nxJson) {
  let buf = '';
  let done = false;
  // The client never closes its side first: an end, an error or a close
  // before the last reply means it was killed, and so is its task.
  const gone = () => {
    if (!done)
      killAll();
  };
  sock.on('end', gone);
  sock.on('error', gone);
  sock.on('close', gone);
  await new Promise((resolve) => {
    const onData = (chunk) => {
      buf += chunk;
      if (buf.includes('\n')) {
        sock.off('data', onData);
        sock.off('end', resolve);
        resolve();
      }
    };
    sock.on('data', onData);
    sock.on('end', resolve);
  });
  let req;
  try {
    req = JSON.parse(buf.slice(0, buf.indexOf('\n')));
    // A client that only wanted it started (`dteq nx-task --start`).
    if (req !== null && req.ping === true) {
      done = true;
      sock.end();
      return;
    }
    if (!Array.isArray(req.tasks) || req.tasks.length === 0)
      throw new Error('no "tasks" array');
  } catch (e) {
    frame(sock, 'e', 'bad request: ' + e.message);
    done = true;
    sock.end();
    return;
  }
  setEnv(req.env);
  // A task's output as it comes, not once it ended (as `nx run` of the
  // project the command names does).
  if (process.env.NX_STREAM_OUTPUT === undefined)
    process.env.NX_STREAM_OUTPUT = 'true';
  relay.sock = sock;
  const misses = req.hitsOnly === true ? new Set() : null;
  try {
    for (const t of req.tasks) {
      // As Nx's command line makes them: __overrides_unparsed__ always
      // there (the graph it writes may leave an empty one out).
      const overrides = Object.assign({ __overrides_unparsed__: [] },
        t.overrides && typeof t.overrides === 'object' ? t.overrides : {});
      const r = await runTask(sock, graph, nxJson, String(t.id),
        overrides, req.quiet === true, misses);
      frame(sock, 'r', JSON.stringify(r));
      if (r.code !== 0)
        break;
    }
  } catch (e) {
    frame(sock, 'e', String(e && e.stack ? e.stack : e));
  }
  done = true;
  relay.sock = null;
  sock.end();
}

// An error outside a request's own: tell the client, if any, and go.
process.on('uncaughtException', (e) => {
  if (relay.sock !== null)
    frame(relay.sock, 'e', String(e && e.stack ? e.stack : e));
  killAll();
});

(async () => {
  let graph, nxJson;
  try {
    graph = await nx.graph.createProjectGraphAsync({ exitOnError: false });
    nxJson = nx.config.readNxJson();
  } catch (e) {
    ready('error: Nx could not make the project graph: ' +
      String(e.message).split('\n')[0]);
    process.exit(1);
  }
  let busy = Promise.resolve();
  server = net.createServer({ allowHalfOpen: true }, (sock) => {
    busy = busy.then(() => serve(sock, graph, nxJson)).then(() => {
      if (!watchPid)
        process.exit(0);
    });
  });
  server.on('error', (e) => {
    ready('error: ' + sockPath + ': ' + e.message);
    process.exit(1);
  });
  try {
    fs.unlinkSync(sockPath);
  } catch (e) {
    // Not there.
  }
  server.listen(sockPath, () => ready('ready'));
  if (watchPid) {
    setInterval(() => {
      try {
        process.kill(watchPid, 0);
      } catch (e) {
        killAll();
      }
    }, 1000).unref();
  }
})();
