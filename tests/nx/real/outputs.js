// Every declared output of the run's tasks that the agent which ran the
// task wrote is in the main job's copy too, file for file.
//
//   node outputs.js nx|turbo GRAPH REPORT MAIN AGENT=DIR...
//
// GRAPH is the tool's task graph (`nx ... --graph=FILE.json`, `turbo run
// ... --dry=json`), REPORT submit's --json summary (which agent ran each
// task), MAIN the main job's copy, AGENT=DIR each agent's copy. An output
// is a path or glob (Nx: from the workspace root; Turborepo: from the
// package's directory, "!" ones excluded); its part before the first
// glob character is what is compared. Prints what it checked; exits 1,
// naming what the main copy lacks, when something is missing.

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

function staticPart(p) {
	const parts = [];
	for (const seg of p.split('/')) {
		if (/[*?[{!]/.test(seg))
			break;
		parts.push(seg);
	}
	return parts.join('/');
}

// The files under rel (rel itself if it is one). In a folder, TypeScript's
// *.tsbuildinfo files are left out: the typecheck targets Nx infers (`tsc
// --build --emitDeclarationOnly`) write theirs into the build's dist/ and
// declare no outputs, so they stay on the agent that ran them.
function files(root, rel, out) {
	const st = fs.lstatSync(path.join(root, rel));
	if (!st.isDirectory()) {
		out.push(rel);
		return out;
	}
	for (const e of fs.readdirSync(path.join(root, rel))) {
		if (e.endsWith('.tsbuildinfo') &&
		    !fs.lstatSync(path.join(root, rel, e)).isDirectory())
			continue;
		files(root, path.join(rel, e), out);
	}
	return out;
}

let checked = 0, nfiles = 0, absent = 0;
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
	for (const o of declared[t.id]) {
		const p = staticPart(o);
		if (p === '' || !fs.existsSync(path.join(dir, p))) {
			absent++;
			continue;
		}
		checked++;
		for (const f of files(dir, p, [])) {
			nfiles++;
			if (!fs.existsSync(path.join(main, f)))
				missing.push(`${t.id}: ${f} (written on ${t.agent})`);
		}
	}
}
console.log(`${checked} declared outputs (${nfiles} files) of ` +
    `${report.tasks.length} tasks checked in the main copy; ` +
    `${absent} declared outputs no agent wrote`);
if (missing.length) {
	console.log(`the main copy lacks ${missing.length}:`);
	for (const m of missing.slice(0, 20))
		console.log('  ' + m);
	process.exit(1);
}
if (checked === 0) {
	console.log('no declared output was written at all');
	process.exit(1);
}
