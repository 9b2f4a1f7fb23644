'use strict';
/*
 * The BullMQ baseline of dteq's benchmarks (see ../README.md). Each job
 * spawns `true` with child_process.execFile, as a CI task would spawn its
 * command. Run by bench/bench.py against its private redis-server:
 *
 *   node bullmq.js throughput SOCKET N WORKERS CONCURRENCY
 *   node bullmq.js chain SOCKET N WORKERS CONCURRENCY MODE
 *   node bullmq.js idle SOCKET
 *
 * throughput: N independent jobs (addBulk), WORKERS worker processes with
 * CONCURRENCY each; prints the wall time from the first add to the last
 * completion, and the CPU time of the producer and of the workers from
 * when they were ready (their own, children excluded).
 *
 * chain: N jobs, each needing the one before. MODE "flow" uses BullMQ's
 * own dependencies (a FlowProducer tree: a parent runs once its child
 * completed); MODE "events" is a producer that adds job k+1 when
 * QueueEvents reports job k completed. Prints, for each link, the time
 * from the end of job k (in its worker, after the spawned child exited)
 * to the start of job k+1's processor, and from add to processor start
 * (events mode), in microseconds on CLOCK_MONOTONIC (process.hrtime),
 * which every process on the machine shares.
 *
 * idle: the RSS and PSS of one worker process waiting for jobs.
 */

const { fork, execFile } = require('child_process');
const { Queue, Worker, FlowProducer, QueueEvents } = require('bullmq');

const now = () => Number(process.hrtime.bigint() / 1000n);	/* us */
const cpu = () => {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1e6;
};

function connection(sock) {
	return { path: sock, maxRetriesPerRequest: null };
}

/* A worker process: run jobs until told to stop, report counts and CPU. */
async function workerMain(sock, qname, concurrency) {
	let done = 0, sent = 0;
	const w = new Worker(qname, (job) => new Promise((resolve, reject) => {
		const start = now();
		execFile('true', (err) => {
			const end = now();
			if (err)
				reject(err);
			else
				resolve({ start, end, pid: process.pid });
		});
	}), { connection: connection(sock), concurrency });
	w.on('completed', () => { done++; });
	const flush = setInterval(() => {
		if (done !== sent) {
			process.send({ done: done - sent });
			sent = done;
		}
	}, 5);
	await w.waitUntilReady();
	const cpu0 = cpu();
	process.send({ ready: true });
	process.on('message', async (m) => {
		if (m.stop) {
			clearInterval(flush);
			if (done !== sent)
				process.send({ done: done - sent });
			await w.close();
			process.send({ cpu: cpu() - cpu0 });
			process.exit(0);
		}
	});
}

/* Fork the workers and wait until each is ready. */
async function startWorkers(sock, qname, nworkers, concurrency, onDone) {
	const kids = [];
	await Promise.all(Array.from({ length: nworkers }, () =>
	    new Promise((resolve) => {
		const k = fork(__filename, ['worker', sock, qname,
		    String(concurrency)]);
		k.on('message', (m) => {
			if (m.ready)
				resolve();
			if (m.done)
				onDone(m.done);
			if (m.cpu !== undefined)
				k.cpuSeconds = m.cpu;
		});
		kids.push(k);
	})));
	return kids;
}

async function stopWorkers(kids) {
	await Promise.all(kids.map((k) => new Promise((resolve) => {
		k.on('exit', resolve);
		k.send({ stop: true });
	})));
	return kids.reduce((a, k) => a + (k.cpuSeconds || 0), 0);
}

async function throughput(sock, n, nworkers, concurrency) {
	const qname = 'tp' + process.pid;
	const q = new Queue(qname, { connection: connection(sock) });
	let completed = 0, t1 = 0, finish;
	const allDone = new Promise((resolve) => { finish = resolve; });
	const kids = await startWorkers(sock, qname, nworkers, concurrency,
	    (k) => {
		completed += k;
		if (completed >= n && t1 === 0) {
			t1 = now();
			finish();
		}
	});
	const cpu0 = cpu();
	const t0 = now();
	for (let i = 0; i < n; i += 1000) {
		const jobs = [];
		for (let j = i; j < Math.min(n, i + 1000); j++)
			jobs.push({ name: 'true', data: { i: j } });
		await q.addBulk(jobs);
	}
	await allDone;
	const producerCpu = cpu() - cpu0;
	const workersCpu = await stopWorkers(kids);
	await q.close();
	return { tasks: n, wall_s: (t1 - t0) / 1e6,
	    rate: n / ((t1 - t0) / 1e6), cpu_producer_s: producerCpu,
	    cpu_workers_s: workersCpu };
}

function pct(xs, p) {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

async function chain(sock, n, nworkers, concurrency, mode) {
	const qname = 'ch' + process.pid;
	const q = new Queue(qname, { connection: connection(sock) });
	let completed = 0, finish;
	const allDone = new Promise((resolve) => { finish = resolve; });
	const kids = await startWorkers(sock, qname, nworkers, concurrency,
	    (k) => {
		completed += k;
		if (completed >= n)
			finish();
	});
	const added = new Map();
	const ids = [];
	const t0 = now();
	if (mode === 'flow') {
		/* The tree: job n-1 is the root, job 0 the deepest leaf. */
		let node = { name: 'j0', queueName: qname, data: { k: 0 } };
		for (let k = 1; k < n; k++)
			node = { name: 'j' + k, queueName: qname, data: { k },
			    children: [node] };
		const flow = new FlowProducer({ connection: connection(sock) });
		let tree = await flow.add(node);
		while (tree) {
			ids.unshift(tree.job.id);
			tree = tree.children ? tree.children[0] : null;
		}
		await flow.close();
	} else {
		const qe = new QueueEvents(qname, { connection: connection(sock) });
		await qe.waitUntilReady();
		let k = 0;
		const addNext = async () => {
			added.set(k, now());
			const job = await q.add('j' + k, { k });
			ids.push(job.id);
			k++;
		};
		qe.on('completed', ({ jobId }) => {
			if (jobId === ids[ids.length - 1] && k < n)
				addNext();
		});
		await addNext();
		await allDone;
		await qe.close();
	}
	await allDone;
	const wall = (now() - t0) / 1e6;
	const gaps = [], adds = [];
	let cross = 0, prev = null;
	for (let k = 0; k < n; k++) {
		const job = await q.getJob(ids[k]);
		const rv = typeof job.returnvalue === 'string' ?
		    JSON.parse(job.returnvalue) : job.returnvalue;
		if (prev) {
			gaps.push(rv.start - prev.end);
			cross += rv.pid !== prev.pid;
		}
		if (added.has(k))
			adds.push(rv.start - added.get(k));
		prev = rv;
	}
	await stopWorkers(kids);
	await q.close();
	const out = { tasks: n, mode, wall_s: wall, links: gaps.length,
	    cross_worker: cross, end_to_start_us: { p50: pct(gaps, 50),
	    p99: pct(gaps, 99), max: Math.max(...gaps) } };
	if (adds.length)
		out.add_to_start_us = { p50: pct(adds, 50), p99: pct(adds, 99) };
	return out;
}

/* One idle worker: its memory once it is ready and waiting for jobs. */
async function idle(sock) {
	const w = new Worker('idle' + process.pid, async () => null,
	    { connection: connection(sock), concurrency: 2 });
	await w.waitUntilReady();
	await new Promise((resolve) => setTimeout(resolve, 2000));
	let pss = null;
	try {
		const m = require('fs').readFileSync('/proc/self/smaps_rollup',
		    'utf8').match(/^Pss:\s+(\d+)/m);
		pss = m ? Number(m[1]) / 1024 : null;
	} catch (e) {
		/* not Linux */
	}
	const rss = process.memoryUsage().rss / 1048576;
	await w.close();
	return { rss_mb: rss, pss_mb: pss };
}

async function main() {
	const [cmd, sock, ...rest] = process.argv.slice(2);
	if (cmd === 'worker')
		return workerMain(sock, rest[0], Number(rest[1]));
	let r;
	if (cmd === 'throughput')
		r = await throughput(sock, Number(rest[0]), Number(rest[1]),
		    Number(rest[2]));
	else if (cmd === 'chain')
		r = await chain(sock, Number(rest[0]), Number(rest[1]),
		    Number(rest[2]), rest[3] || 'flow');
	else if (cmd === 'idle')
		r = await idle(sock);
	else
		throw new Error('usage: bullmq.js throughput|chain|idle SOCKET ...');
	process.stdout.write(JSON.stringify(r) + '\n');
	process.exit(0);
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
