// Every declared output of the run's tasks that the agent which ran the
// task wrote is in the main job's copy too, file for file.
//
//   node outputs.js nx|turbo GRAPH REPORT MAIN AGENT=DIR...
//
// GRAPH is the tool's task graph (`nx ... --graph=FILE.json`, `turbo run
// ... --dry=json`), REPORT submit's --json summary (which agent ran each
// task), MAIN the main job's copy, AGENT=DIR each agent's copy. An output
// is a folder, a file or a glob (Nx: from the workspace root; Turborepo:
// from the package's directory, "!" ones left out). For each task that
// succeeded, each file under its outputs in the copy of the agent that
// ran it must be in MAIN, except:
//  - a file that another task's outputs match as well (Nx 22 declares
//    the *.d.ts in dist/ as outputs of both build and typecheck): which
//    of the two tasks the tool restores last decides whether it is there,
//    in the replay as in any run from the cache;
//  - a *.tsbuildinfo that only a folder output takes in: the typecheck
//    targets Nx 23 infers (`tsc --build --emitDeclarationOnly`) write
//    theirs into the build's dist/ and declare no outputs, so it stays on
//    the agent that ran them;
//  - a file written after the task ended (its mtime later than the
//    task's end in REPORT; the agents share this machine's clock): another
//    task wrote it, as those typecheck targets write an app's *.d.ts into
//    the dist/ of its vite build when they run after it on that agent.
//    It was not there when the task's outputs went to the cache, and no
//    declared output of the task that wrote it takes it in.
// Prints what it checked; exits 1, naming what MAIN lacks, if anything.

'use strict';

const fs = require('fs');
const path = require('path');

const [tool, graphFile, reportFile, main, ...agentArgs] = process.argv.slice(2);
const graph = JSON.parse(fs.readFileSync(graphFile, 'utf8'));
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
const agents = {};
for (const a of agentArgs) {
	const i = a.indexOf('=');
	agents[a.slice(0, i)] = a.slice(i + 1);
}

// Declared outputs of each task id, as paths from the workspace root.
const declared = {};
if (tool === 'nx') {
	for (const [id, t] of Object.entries(graph.tasks.tasks))
		declared[id] = t.outputs || [];
} else {
	for (const t of graph.tasks)
		declared[t.taskId] = (t.outputs || [])
		    .filter((o) => !o.startsWith('!'))
		    .map((o) => path.join(t.directory, o));
}

const isGlob = (s) => /[*?[{]/.test(s);

// The part of an output before its first segment with a glob character.
function staticPart(p) {
	const parts = [];
	for (const seg of p.split('/')) {
		if (isGlob(seg))
			break;
		parts.push(seg);
	}
	return parts.join('/');
}

// A glob (**, *, ?, {a,b,}) as a regular expression; a plain path
// matches itself and everything under it.
function globRe(g) {
	let re = '';
	let depth = 0;
	for (let i = 0; i < g.length; i++) {
		const c = g[i];
		if (c === '*' && g[i + 1] === '*') {
			i++;
			if (g[i + 1] === '/') {
				i++;
				re += '(?:.*/)?';
			} else
				re += '.*';
		} else if (c === '*')
			re += '[^/]*';
		else if (c === '?')
			re += '[^/]';
		else if (c === '{') {
			depth++;
			re += '(?:';
		} else if (c === '}' && depth > 0) {
			depth--;
			re += ')';
		} else if (c === ',' && depth > 0)
			re += '|';
		else
			re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
	}
	return new RegExp('^' + re + (isGlob(g) ? '$' : '(?:/.*)?$'));
}

const matchers = [];
for (const [id, outs] of Object.entries(declared))
	for (const o of outs)
		matchers.push({ id, out: o, glob: isGlob(o), re: globRe(o) });

function files(root, rel, out) {
	const st = fs.lstatSync(path.join(root, rel));
	if (!st.isDirectory()) {
		out.push(rel);
		return out;
	}
	for (const e of fs.readdirSync(path.join(root, rel)))
		files(root, path.join(rel, e), out);
	return out;
}

let checked = 0, nfiles = 0, absent = 0, shared = 0, info = 0, later = 0;
const missing = [];
for (const t of report.tasks) {
	if (t.status !== 'success')
		continue;
	const dir = agents[t.agent];
	if (!dir) {
		missing.push(`${t.id}: ran on ${t.agent}, whose copy is not given`);
		continue;
	}
	if (!(t.id in declared)) {
		missing.push(`${t.id}: not in the tool's graph`);
		continue;
	}
	const own = matchers.filter((m) => m.id === t.id);
	const seen = new Set();
	for (const o of declared[t.id]) {
		const p = staticPart(o);
		if (p === '' || !fs.existsSync(path.join(dir, p))) {
			absent++;
			continue;
		}
		checked++;
		for (const f of files(dir, p, [])) {
			const mine = own.filter((m) => m.re.test(f));
			if (mine.length === 0 || seen.has(f))
				continue;
			seen.add(f);
			if (matchers.some((m) => m.id !== t.id && m.re.test(f))) {
				shared++;
				continue;
			}
			if (f.endsWith('.tsbuildinfo') &&
			    mine.every((m) => !m.glob && m.out !== f)) {
				info++;
				continue;
			}
			if (typeof t.end === 'number' && t.end > 0 &&
			    fs.statSync(path.join(dir, f)).mtimeMs > t.end + 50) {
				later++;
				continue;
			}
			nfiles++;
			if (!fs.existsSync(path.join(main, f)))
				missing.push(`${t.id}: ${f} (written on ${t.agent})`);
		}
	}
}
console.log(`${checked} declared outputs (${nfiles} files) of ` +
    `${report.tasks.length} tasks checked in the main copy; ` +
    `${absent} declared outputs no agent wrote, ${shared} files two ` +
    `tasks declare, ${info} undeclared *.tsbuildinfo left out, ${later} ` +
    `files written after the task ended (by another task) left out`);
if (missing.length) {
	console.log(`the main copy lacks ${missing.length}:`);
	for (const m of missing.slice(0, 20))
		console.log('  ' + m);
	process.exit(1);
}
if (nfiles === 0) {
	console.log('no declared output was written at all');
	process.exit(1);
}
