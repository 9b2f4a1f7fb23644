// Makes the projects of a generated workspace import each other, and
// breaks them on purpose for the tests. gen.sh and lib.sh run it with node;
// it only edits files (npm install and `nx sync` come after, in gen.sh).
//
//   node chain.js lib WS DIR [DEP...]
//	the library in WS/DIR gets src/lib/chain.ts, exporting NAMEChain(),
//	which returns "NAME(" + the DEPs' chains + ")" and imports each DEP
//	(a library done before) by its package name; its src/index.ts
//	exports it, src/lib/chain.spec.ts tests its value (the test
//	runner's globals: Nx's vitest and jest configurations have them),
//	and its package.json depends on each DEP ("*", npm workspaces)
//   node chain.js app WS DIR FILE DEP...
//	the app's FILE (its main.ts or main.tsx) imports each DEP's chain and
//	logs it; its package.json depends on them
//   node chain.js break WS DIR
//	the library's chain.ts no longer parses: every compiler, bundler,
//	linter and test runner fails on it
//   node chain.js fail-test WS DIR
//	the library's chain.spec.ts (or chain.test.ts) expects a wrong value
//   node chain.js show WS
//	the libraries in the order they were done and the app, one
//	"lib|app DIR PACKAGE" a line
//
// What was done is kept in WS/.dteq-real.json, which the tests read.

'use strict';

const fs = require('fs');
const path = require('path');

const [cmd, ws, dir, ...rest] = process.argv.slice(2);
const state = path.join(ws || '.', '.dteq-real.json');

function readJson(f) {
	return JSON.parse(fs.readFileSync(f, 'utf8'));
}

function writeJson(f, v) {
	fs.writeFileSync(f, JSON.stringify(v, null, 2) + '\n');
}

function load() {
	return fs.existsSync(state) ? readJson(state) : { libs: [], app: null };
}

// The function name of a package: @acme/lib-07 -> lib07Chain.
function fnOf(pkg) {
	const base = pkg.replace(/^@[^/]*\//, '');
	return base.replace(/[^A-Za-z0-9]+(.)?/g,
	    (m, c) => (c ? c.toUpperCase() : '')) + 'Chain';
}

function lib(s, deps) {
	const root = path.join(ws, dir);
	const pj = path.join(root, 'package.json');
	const p = readJson(pj);
	const known = deps.map((d) => {
		const l = s.libs.find((x) => x.dir === d);
		if (!l)
			throw new Error(`chain.js: ${d} is not a library done before`);
		return l;
	});
	p.dependencies = p.dependencies || {};
	for (const l of known)
		p.dependencies[l.pkg] = '*';
	writeJson(pj, p);

	const fn = fnOf(p.name);
	const name = p.name.replace(/^@[^/]*\//, '');
	const value = `${name}(${known.map((l) => l.value).join(',')})`;
	const src = [];
	for (const l of known)
		src.push(`import { ${l.fn} } from '${l.pkg}';`);
	if (known.length)
		src.push('');
	src.push(`export function ${fn}(): string {`);
	src.push(`  return '${name}(' + [${known.map((l) => l.fn + '()').join(', ')}].join(',') + ')';`);
	src.push('}');
	fs.writeFileSync(path.join(root, 'src/lib/chain.ts'), src.join('\n') + '\n');

	// The index's own style: './lib/x.js' (nodenext) or './lib/x'.
	const index = ['src/index.ts', 'src/index.tsx']
	    .map((f) => path.join(root, f)).find((f) => fs.existsSync(f));
	if (!index)
		throw new Error(`chain.js: ${dir} has no src/index.ts`);
	const text = fs.readFileSync(index, 'utf8');
	const ext = /from '\.\/lib\/[^']*\.js'/.test(text) ? '.js' : '';
	fs.writeFileSync(index, text.replace(/\n*$/, '\n') +
	    `export * from './lib/chain${ext}';\n`);

	const spec = [
		`import { ${fn} } from './chain${ext}';`,
		'',
		`describe('${fn}', () => {`,
		`  it('calls the libraries it imports', () => {`,
		`    expect(${fn}()).toEqual('${value}');`,
		'  });',
		'});',
	];
	fs.writeFileSync(path.join(root, 'src/lib/chain.spec.ts'),
	    spec.join('\n') + '\n');
	s.libs.push({ dir, pkg: p.name, fn, value });
}

function app(s, file, deps) {
	const root = path.join(ws, dir);
	const pj = path.join(root, 'package.json');
	const p = readJson(pj);
	const known = deps.map((d) => s.libs.find((x) => x.dir === d));
	p.dependencies = p.dependencies || {};
	for (const l of known)
		p.dependencies[l.pkg] = '*';
	writeJson(pj, p);
	const f = path.join(root, file);
	const imports = known.map((l) => `import { ${l.fn} } from '${l.pkg}';`);
	const text = fs.readFileSync(f, 'utf8');
	fs.writeFileSync(f, imports.join('\n') + '\n' + text.replace(/\n*$/, '\n') +
	    `console.log('chain', ${known.map((l) => l.fn + '()').join(', ')});\n`);
	s.app = { dir, pkg: p.name, file };
}

const s = load();
switch (cmd) {
case 'lib':
	lib(s, rest);
	writeJson(state, s);
	break;
case 'app':
	app(s, rest[0], rest.slice(1));
	writeJson(state, s);
	break;
case 'break':
	fs.appendFileSync(path.join(ws, dir, 'src/lib/chain.ts'),
	    'export const broken = ;\n');
	break;
case 'fail-test': {
	const f = ['spec', 'test'].map((x) => path.join(ws, dir,
	    `src/lib/chain.${x}.ts`)).find((x) => fs.existsSync(x));
	fs.writeFileSync(f, fs.readFileSync(f, 'utf8')
	    .replace(/toEqual\('/, "toEqual('not "));
	break;
}
case 'show':
	for (const l of s.libs)
		console.log(`lib ${l.dir} ${l.pkg}`);
	if (s.app)
		console.log(`app ${s.app.dir} ${s.app.pkg}`);
	break;
default:
	console.error('usage: chain.js lib|app|break|fail-test|show WS ...');
	process.exit(2);
}
