// The run of a broken build and a failing test, from submit's --json
// summary: it failed (exit 1); BROKEN's build failed and FAILING's test
// failed; every other failed task is one of BROKEN's (its source no longer
// parses, so its lint, typecheck and test fail too); every task that
// needs a failed or skipped task was skipped and never ran, its reason
// naming a failed task it needs (directly or not); every other task
// succeeded; something was skipped.
//
//   node failure.js nx|turbo REPORT BROKEN FAILING
//
// BROKEN and FAILING are package (project) names. Prints the counts;
// exits 1 with what is wrong.

'use strict';

const fs = require('fs');

const [tool, reportFile, broken, failing] = process.argv.slice(2);
const d = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
const sep = tool === 'nx' ? ':' : '#';
const byId = {};
for (const t of d.tasks)
	byId[t.id] = t;
const errors = [];
const want = (ok, msg) => { if (!ok) errors.push(msg); };

want(d.exit === 1, `exit ${d.exit}, want 1`);
want(d.result === 'failed', `result ${d.result}, want failed`);
const buildId = broken + sep + 'build';
const testId = failing + sep + 'test';
want(byId[buildId] && byId[buildId].status === 'failed',
    `${buildId}: ${byId[buildId] && byId[buildId].status}, want failed`);
want(byId[testId] && byId[testId].status === 'failed',
    `${testId}: ${byId[testId] && byId[testId].status}, want failed`);

// Every task id that id needs, directly or through others.
function needs(id, seen = new Set()) {
	for (const x of (byId[id] ? byId[id].deps : [])) {
		if (!seen.has(x)) {
			seen.add(x);
			needs(x, seen);
		}
	}
	return seen;
}

let skipped = 0;
for (const t of d.tasks) {
	const bad = t.deps.filter((x) => byId[x] &&
	    (byId[x].status === 'failed' || byId[x].status === 'skipped'));
	if (bad.length) {
		want(t.status === 'skipped',
		    `${t.id} needs ${bad.join(', ')} but is ${t.status}`);
		want(t.attempts === 0, `${t.id} was skipped but ran`);
		// The reason names the task whose failure it comes from, a
		// dependency or a dependency's dependency.
		const m = /^dependency (\S+) (failed|skipped)$/.exec(t.reason || '');
		want(m && needs(t.id).has(m[1]) && byId[m[1]].status === m[2],
		    `${t.id}: reason "${t.reason}"`);
		skipped++;
		continue;
	}
	if (t.status === 'failed') {
		want(t.id === testId || t.id.startsWith(broken + sep),
		    `${t.id} failed (neither the failing test nor ${broken}'s)`);
		continue;
	}
	want(t.status === 'success', `${t.id}: ${t.status}, want success`);
}
want(skipped > 0, 'no task was skipped');
const c = d.counts;
console.log(`${c.tasks} tasks: ${c.success} succeeded, ${c.failed} failed, ` +
    `${c.skipped} skipped; failed: ` +
    d.tasks.filter((t) => t.status === 'failed').map((t) => t.id).join(' '));
if (errors.length) {
	for (const e of errors)
		console.log('  ' + e);
	process.exit(1);
}
