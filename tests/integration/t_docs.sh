# One description of the options and variables: every option of every
# subcommand's --help (its usage lines and its option lines; the
# subcommands are those `dteq --help` lists) is in the man page dteq.1, in
# that command's section or in "Options every command takes", and in the
# README, in a section whose heading names the command or in its "Options
# every command takes"; every DTEQ_* variable the code reads (common/cli.c's
# table cli_envs) is in the README's "Environment" and the man page's
# ENVIRONMENT; no code outside cli.c reads a DTEQ_* variable with getenv()
# and none reads one missing from the table. Each thing missing is named.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

need_cmd python3
cat >"$TMP/docs.py" <<'EOF'
import os, re, subprocess, sys
dteq, readme_p, man_p, cli_p, srcdirs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
fails = []
def run(*a):
    p = subprocess.run([dteq] + list(a), capture_output=True, text=True, timeout=10)
    return p.stdout
top = run("--help")
cmds = re.findall(r"^  ([a-z][a-z-]*)\s{2,}\S", top, re.M)
if len(cmds) < 5:
    sys.exit("too few subcommands in dteq --help: %r" % cmds)
opt_re = r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])"
def options(text):
    usage = []
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i].strip():
        usage.append(lines[i]); i += 1
    opts = set(re.findall(opt_re, "\n".join(usage)))
    for l in lines[i:]:
        m = re.match(r"^ {2,3}(-[a-zA-Z], )?(--[a-z][a-z0-9-]*)", l)
        if m:
            opts.add(m.group(2))
            if m.group(1):
                opts.add(m.group(1)[:2])
    opts.discard("--help"); opts.discard("-h")
    return opts

readme = open(readme_p).read()
man = open(man_p).read()

def md_sections(text):
    """heading -> body, each body up to the next heading of its level or above."""
    out = {}
    heads = [(m.start(), len(m.group(1)), m.group(2)) for m in
             re.finditer(r"^(#{2,4}) (.*)$", text, re.M)]
    # skip headings inside code blocks
    fences = [m.start() for m in re.finditer(r"^```", text, re.M)]
    def in_code(pos):
        return sum(1 for f in fences if f < pos) % 2 == 1
    heads = [h for h in heads if not in_code(h[0])]
    for k, (pos, lvl, title) in enumerate(heads):
        end = len(text)
        for pos2, lvl2, _ in heads[k + 1:]:
            if lvl2 <= lvl:
                end = pos2; break
        out[title] = text[pos:end]
    return out

def man_sections(text):
    out = {}
    parts = re.split(r"^(\.S[HS] .*)$", text, flags=re.M)
    for k in range(1, len(parts), 2):
        out[parts[k]] = parts[k + 1]
    return out

md = md_sections(readme)
ms = man_sections(man)
md_shared = "".join(b for t, b in md.items() if t.startswith("Options every command takes"))
man_shared = "".join(b for t, b in ms.items() if "Options every command takes" in t)
if not md_shared: fails.append("README: no section 'Options every command takes'")
if not man_shared: fails.append("dteq.1: no section 'Options every command takes'")

def in_md(body, o):
    return re.search(r"`" + re.escape(o) + r"(?![\w-])", body) is not None or \
        re.search(r"`[^`\n]*?(?<![\w-])" + re.escape(o) + r"(?![\w-])[^`\n]*`", body) is not None
def in_man(body, o):
    e = o.replace("-", r"\-")
    return re.search(re.escape(e) + r"(?![\w\\]|\\-)", body) is not None

for c in cmds:
    opts = options(run(c, "--help"))
    mdb = "".join(b for t, b in md.items() if re.search(r"\bdteq " + re.escape(c) + r"\b", t))
    manb = "".join(b for t, b in ms.items()
                   if re.match(r'\.SS "?dteq ' + re.escape(c) + r'"?$',
                               t.replace("\\-", "-")))
    if not mdb: fails.append("README: no section headed 'dteq %s'" % c)
    if not manb: fails.append("dteq.1: no section '.SS dteq %s'" % c)
    for o in sorted(opts):
        if not (in_md(mdb, o) or in_md(md_shared, o)):
            fails.append("README: dteq %s %s" % (c, o))
        if not (in_man(manb, o) or in_man(man_shared, o)):
            fails.append("dteq.1: dteq %s %s" % (c, o))
    print("%s: %s" % (c, " ".join(sorted(opts))))

# The variables: cli.c's table, and no DTEQ_* read around it.
cli = open(cli_p).read()
table = cli[cli.index("cli_envs[] = {"):]
table = table[:table.index("};")]
envs = re.findall(r'\{ "(DTEQ_[A-Z_]+)"', table)
if len(envs) < 5: fails.append("cli.c: the variable table has %d entries" % len(envs))
for d in srcdirs:
    for root, _, files in os.walk(d):
        for f in files:
            if not f.endswith(".c"): continue
            p = os.path.join(root, f)
            src = open(p).read()
            for n in re.findall(r'getenv\("(DTEQ_[A-Z_]+)"\)', src):
                if os.path.samefile(p, cli_p):
                    continue	# cli_env() itself
                fails.append("%s reads %s with getenv, not cli_env" % (p, n))
            for n in re.findall(r'cli_env\("(DTEQ_[A-Z_]+)"\)', src):
                if n not in envs:
                    fails.append("%s reads %s, missing from cli_envs" % (p, n))
md_env = "".join(b for t, b in md.items() if t == "Environment")
man_env = "".join(b for t, b in ms.items() if t == ".SH ENVIRONMENT")
if not md_env: fails.append("README: no section 'Environment'")
if not man_env: fails.append("dteq.1: no section ENVIRONMENT")
for n in envs:
    if not re.search(r"`" + n + r"(?![A-Z_])", md_env):
        fails.append("README: Environment lacks %s" % n)
    if not re.search(r"^\.B[R]? " + n + r"(?![A-Z_])", man_env, re.M) and \
       not re.search(r"^\.BR .*\b" + n + r"\b", man_env, re.M):
        fails.append("dteq.1: ENVIRONMENT lacks %s" % n)
print("variables: " + " ".join(envs))
for f in fails: print("MISSING: " + f)
sys.exit(1 if fails else 0)
EOF
python3 "$TMP/docs.py" "$DTEQ" "$TOP/README.md" "$TOP/dteq.1" \
    "$TOP/common/cli.c" "$TOP/common" "$TOP/cmd" \
    "$TOP/producer" "$TOP/worker" "$TOP/tools" "$TOP/cache" \
    >"$TMP/docs.out" 2>&1
rc=$?
cat "$TMP/docs.out"
[ $rc -eq 0 ] || fail "options or variables undocumented (MISSING above)"
# The check itself: the options it found include those known to exist.
for o in "submit: .*--stop-agents-after" "work: .*--no-cache" \
    "run: --agents --parallel" "cache: .*--read-token" "nx-task: .*--hits-only"; do
	assert_grep "^$o" "$TMP/docs.out" "options found ($o)"
done
assert_grep '^variables: .*DTEQ_SECRET' "$TMP/docs.out" "variables found"
exit 0
