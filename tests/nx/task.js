// The lint, build and test scripts of every project of the generated test
// workspaces (tests/nx/gen_workspace.sh). Run by npm in the project's
// folder: node ../../scripts/task.js lint|build|test|e2e.
//
// build: needs dist/index.js of every workspace dependency (so it fails if
//        a dependency was not built first, or was built on another machine)
//        and writes its own dist/index.js;
// test:  reads its own dist and, for an app, its libraries' dist; fails when
//        src/index.js says FAIL_TEST;
// e2e:   (apps) reads its own dist;
// lint:  checks src/index.js.
"use strict";
const fs = require("fs");
const path = require("path");

const what = process.argv[2];
const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
const root = path.resolve("../..");
const deps = Object.keys(pkg.dependencies || {});
const src = fs.readFileSync("src/index.js", "utf8");

function distOf(name) {
	const short = name.replace(/^@ws\//, "");
	for (const kind of ["libs", "apps"]) {
		const dir = path.join(root, kind, short);
		if (fs.existsSync(dir))
			return path.join(dir, "dist", "index.js");
	}
	throw new Error("no project " + name);
}

function die(msg) {
	console.error(pkg.name + ": " + msg);
	process.exit(1);
}

if (what === "lint") {
	if (!/module\.exports/.test(src))
		die("lint: src/index.js exports nothing");
	console.log("lint " + pkg.name + ": ok");
} else if (what === "build") {
	const parts = [];
	for (const d of deps) {
		const f = distOf(d);
		if (!fs.existsSync(f))
			die("build: " + path.relative(root, f) + " is missing: " +
			    d + " was not built here");
		parts.push("// from " + d + ": " +
		    fs.readFileSync(f, "utf8").split("\n")[0]);
	}
	fs.mkdirSync("dist", { recursive: true });
	fs.writeFileSync("dist/index.js", "// " + pkg.name + " built\n" +
	    parts.join("\n") + "\n" + src);
	console.log("build " + pkg.name + ": dist/index.js (" + deps.length +
	    " dependencies)");
} else if (what === "test") {
	if (!fs.existsSync("dist/index.js"))
		die("test: dist/index.js is missing: build first");
	for (const d of deps) {
		const f = distOf(d);
		if (!fs.existsSync(f))
			die("test: " + path.relative(root, f) + " is missing");
	}
	if (/FAIL_TEST/.test(src)) {
		console.log("test " + pkg.name + ": 1 of 2 assertions failed");
		die("test: expected 42, got 41 (FAIL_TEST)");
	}
	console.log("test " + pkg.name + ": 2 assertions passed, read " +
	    deps.length + " libraries' dist");
} else if (what === "e2e") {
	if (!fs.existsSync("dist/index.js"))
		die("e2e: dist/index.js is missing: build first");
	console.log("e2e " + pkg.name + ": ok");
} else {
	die("unknown step " + what);
}
