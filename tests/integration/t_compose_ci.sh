# The CI examples in examples/ci/ work as written: for Bitbucket, GitHub
# Actions and GitLab, the dteq lines of the main job and of every agent
# job are taken from the YAML and run with the variables that CI gives
# each job (the same build/run/pipeline id, a different step/job id), in
# a checkout of their own: they derive the same run id with no --run, the
# run succeeds on those agents (named as the CI names them), the reports
# are written where the YAML's artifacts expect them, and only the build
# step installs packages (make static); the agents install nothing.
# Each job gets only what its CI gives it: CI's own variables, and the
# secrets as the YAML maps them (GitHub) or as the CI hands repository
# variables to every job (Bitbucket, GitLab): the tasks are signed
# (DTEQ_SECRET; no agent says they are not authenticated), GitHub's agent
# matrix does not cancel the other agents when one fails (fail-fast:
# false), and in a fork's pipeline (no secrets) every dteq job exits 2 at
# once saying DTEQ_REDIS_URL is not set.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null ||
    fail "python3-yaml is missing (Debian package python3-yaml)"
start_redis

tf="$TMP/tasks.json"
add_task "$tf" "app:build" "echo built by \$DTEQ_AGENT"
add_task "$tf" "app:test" "echo tested by \$DTEQ_AGENT" "app:build"
add_task "$tf" "app:lint" "echo linted by \$DTEQ_AGENT"
add_task "$tf" "app-e2e:e2e-ci" "echo e2e by \$DTEQ_AGENT" "app:test"
taskfile "$tf"

# jobs CI FILE: print the dteq jobs of a CI file, one a line:
# NAME|ROLE|K=V K=V...|COMMAND, with the variables that CI sets.
jobs() {
	"$PY" - "$1" "$2" <<'EOF'
import os, re, sys, yaml

ci, path = sys.argv[1], sys.argv[2]
doc = yaml.safe_load(open(path))
out = []
# The secrets of the repository (none in a fork's pipeline).
secrets = {"DTEQ_REDIS_URL": os.environ.get("T_REDIS_URL", ""),
           "DTEQ_REDIS_PASSWORD": "",
           "DTEQ_SECRET": os.environ.get("T_SECRET", "")}

def dteq_lines(lines):
    return [l for l in lines if isinstance(l, str) and
            re.search(r"\bdteq (submit|work)\b", l)]

def emit(name, env, lines, installs):
    for l in dteq_lines(lines):
        role = "submit" if " submit " in l else "work"
        if role == "work" and installs:
            sys.exit("%s: agent job %s installs packages" % (ci, name))
        if "--run" in l:
            sys.exit("%s: %s passes --run" % (ci, name))
        out.append("%s|%s|%s|%s" % (name, role,
            " ".join("%s=%s" % kv for kv in sorted(env.items()) if kv[1]),
            l))

def installs(lines):
    return any("apt-get install" in l for l in lines if isinstance(l, str))

if ci == "bitbucket":
    steps = []
    for item in doc["pipelines"]["default"]:
        if "parallel" in item:
            steps += [p["step"] for p in item["parallel"]]
        else:
            steps.append(item["step"])
    for i, st in enumerate(steps):
        # Repository variables reach every step as they are.
        env = dict(secrets, CI="true", BITBUCKET_BUILD_NUMBER="4242",
                   BITBUCKET_STEP_UUID="{0000-%d}" % i)
        emit("bb%d" % i, env, st["script"], installs(st["script"]))
elif ci == "github":
    # Secrets reach a job only through the YAML's ${{ secrets.X }}.
    def resolve(v, matrix):
        v = str(v)
        v = re.sub(r"\$\{\{\s*secrets\.(\w+)\s*\}\}",
                   lambda m: secrets.get(m.group(1), ""), v)
        return re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}",
                      lambda m: str(matrix[m.group(1)]), v)
    for jname, job in doc["jobs"].items():
        mx = job.get("strategy", {}).get("matrix", {})
        if mx and job["strategy"].get("fail-fast", True) is not False:
            sys.exit("%s: matrix job %s lacks fail-fast: false" %
                     (ci, jname))
        combos = [{}]
        for k, vals in mx.items():
            combos = [dict(c, **{k: v}) for c in combos for v in vals]
        for n, combo in enumerate(combos):
            env = {"CI": "true", "GITHUB_ACTIONS": "true",
                   "GITHUB_RUN_ID": "777001", "GITHUB_RUN_ATTEMPT": "2"}
            for k, v in list(doc.get("env", {}).items()) + \
                    list(job.get("env", {}).items()):
                env[k] = resolve(v, combo)
            runs = [s["run"] for s in job["steps"] if "run" in s]
            emit("gh-%s-%d" % (jname, n), env, runs, installs(runs))
elif ci == "gitlab":
    jobid = 5000
    for jname, job in doc.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        for n in range(1, int(job.get("parallel", 1)) + 1):
            jobid += 1
            # CI/CD variables reach every job as they are.
            env = dict(secrets, CI="true", GITLAB_CI="true",
                       CI_PIPELINE_ID="9090", CI_JOB_ID=str(jobid),
                       CI_NODE_INDEX=str(n))
            emit("gl-%s-%d" % (jname, n), env, job["script"],
                 installs(job["script"]))
print("\n".join(out))
EOF
}

# The repository's secrets, as the jobs get them.
secret=s3cr3t-$$-signing
T_REDIS_URL=$REDIS_URL
T_SECRET=$secret
export T_REDIS_URL T_SECRET

# check CI FILE RUNID AGENTS...: run the jobs of FILE and check the run.
check() {
	_ci=$1
	_file=$2
	_run=$3
	shift 3
	log "$_ci: $_file"
	jobs "$_ci" "$TOP/examples/ci/$_file" >"$TMP/$_ci.jobs" 2>&1 ||
	    fail "$_ci: $(cat "$TMP/$_ci.jobs")"
	grep -q 'DTEQ_SECRET' "$TOP/examples/ci/$_file" ||
	    fail "$_ci: $_file does not say where DTEQ_SECRET comes from"
	cat "$TMP/$_ci.jobs"
	assert_eq "$(grep -c '|submit|' "$TMP/$_ci.jobs")" 1 "$_ci: main jobs"
	assert_eq "$(grep -c '|work|' "$TMP/$_ci.jobs")" $# "$_ci: agent jobs"
	grep -q 'make .*static' "$TOP/examples/ci/$_file" ||
	    fail "$_ci: no step builds the static binary"
	_main=""
	while IFS='|' read -r _name _role _env _cmd; do
		# A checkout of the job's own, with the artifact in it.
		mkdir -p "$TMP/$_name"
		ln -s "$DTEQ" "$TMP/$_name/dteq"
		cp "$tf" "$TMP/$_name/tasks.json"
		# shellcheck disable=SC2086
		bg "$_name" env -u DTEQ_REDIS_URL -u T_REDIS_URL -u T_SECRET \
		    $_env sh -c "cd '$TMP/$_name' && exec $_cmd"
		[ "$_role" = submit ] && _main=$_name
	done <"$TMP/$_ci.jobs"
	bg_wait "$_main" 60
	assert_eq "$(bg_rc "$_main")" 0 "$_ci: submit exit status"
	for _a in $(grep '|work|' "$TMP/$_ci.jobs" | cut -d'|' -f1); do
		bg_wait "$_a" 20
		assert_eq "$(bg_rc "$_a")" 0 "$_ci: exit status of agent $_a"
		assert_no_grep 'not authenticated' "$TMP/$_a.err" \
		    "$_ci: agent $_a runs unsigned tasks"
		assert_no_grep "$secret" "$TMP/$_a.err" \
		    "$_ci: agent $_a prints the secret"
	done
	assert_eq "$(rcli exists "dteq:{$_run}:meta")" 1 "$_ci: run $_run"
	for _t in app:build app:test app:lint app-e2e:e2e-ci; do
		_ag=$(result_field "$_run" "$_t" agent)
		case " $* " in
		*" $_ag "*) ;;
		*) fail "$_ci: $_t ran on '$_ag', not one of: $*" ;;
		esac
	done
	assert_grep '^4 tasks: 4 succeeded' "$TMP/$_main.out" "$_ci: summary"
	assert_file "$TMP/$_main/test-results/dteq.xml" "$_ci: JUnit file"
	assert_file "$TMP/$_main/dteq-report.html" "$_ci: HTML report"
}

# fork CI FILE: the jobs of FILE in a fork's pipeline, which gets no
# secrets: each exits 2 within 5 s, saying DTEQ_REDIS_URL is not set.
fork() {
	log "$1: a fork's pipeline"
	T_REDIS_URL="" T_SECRET="" jobs "$1" "$TOP/examples/ci/$2" \
	    >"$TMP/$1.fork" 2>&1 || fail "$1: $(cat "$TMP/$1.fork")"
	while IFS='|' read -r _name _role _env _cmd; do
		mkdir -p "$TMP/fork.$_name"
		ln -s "$DTEQ" "$TMP/fork.$_name/dteq"
		cp "$tf" "$TMP/fork.$_name/tasks.json"
		_t0=$(date +%s)
		# shellcheck disable=SC2086
		env -u DTEQ_REDIS_URL -u T_REDIS_URL -u T_SECRET $_env \
		    timeout 20 sh -c "cd '$TMP/fork.$_name' && exec $_cmd" \
		    >"$TMP/fork.$_name.out" 2>"$TMP/fork.$_name.err"
		_rc=$?
		assert_eq "$_rc" 2 "$1: exit status of $_name without secrets"
		[ $(($(date +%s) - _t0)) -le 5 ] ||
		    fail "$1: $_name took more than 5 s to refuse"
		assert_grep 'DTEQ_REDIS_URL is not set' "$TMP/fork.$_name.err" \
		    "$1: $_name says which variable to set"
	done <"$TMP/$1.fork"
}

check bitbucket bitbucket-pipelines.yml 4242 0000-2 0000-3 0000-4
check github github-actions.yml 777001-2 agent-1 agent-2 agent-3
check gitlab gitlab-ci.yml 9090 job-5003 job-5004 job-5005
fork bitbucket bitbucket-pipelines.yml
fork github github-actions.yml
fork gitlab gitlab-ci.yml
exit 0
