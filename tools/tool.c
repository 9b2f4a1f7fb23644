/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Task graphs from the tools themselves. Nx writes its task graph with
 * `nx run-many|affected ... --graph=FILE.json` and Turborepo with
 * `turbo run ... --dry=json`; nx.c and turbo.c read either into a struct
 * taskset whose commands hand each task back to the tool on the agents,
 * so the tool's own executors, caching and output stay in charge. This
 * file holds what they share and the entry points:
 *
 * - toolgraph_detect() tells an Nx task graph, a Turborepo dry run, a dteq
 *   task file and Nx's project graph (no tasks) apart;
 * - toolgraph_parse() reads any of the three task graphs into a taskset
 *   (Nx's through nx_parse, Turborepo's through turbo_parse, dteq's own
 *   through taskfile_parse);
 * - toolgraph_run() runs the tool with the user's arguments plus
 *   --graph=TMP.json or --dry=json, after checking the installed version
 *   can run single tasks (Nx 19.6 for --excludeTaskDependencies, Turborepo
 *   2.0 for --only with --filter), and parses what it wrote. A tool that
 *   fails, or cannot be run, is reported with its own output;
 * - toolgraph_runner(), toolgraph_split() and toolgraph_version_cmp():
 *   how the tool is run, words split as sh would, versions compared.
 *
 * How the tools are run is DTEQ_NX_COMMAND / DTEQ_TURBO_COMMAND (default
 * node_modules/.bin/nx or turbo when the workspace has it, else
 * "npx --no nx", "npx --no turbo": --no so npx never downloads a tool that
 * is not installed), for the main job and, through the task commands, the
 * agents alike.
 *
 * DTEQ_TOOL_DEPS says how a task gets the outputs of its dependencies
 * that ran on other agents: restore (the default), from the remote cache
 * dteq work serves (nx.c and turbo.c say how, per tool), or exclude, no
 * restores, for agents that share one file system.
 *
 * As in taskfile.c, the whole graph is checked before anything is handed
 * back; graph.c then checks ids, deps and cycles. Nothing outside tools/
 * sees a cJSON.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tools.h"

#define TOOL_NX_COMMAND		"npx --no nx"
#define TOOL_TURBO_COMMAND	"npx --no turbo"
#define TOOL_NX_MIN		"19.6.0"	/* --excludeTaskDependencies */
#define TOOL_TURBO_MIN		"2.0.0"		/* --only trims to --filter */
#define TOOL_SHOW_MAX		(32 * 1024)	/* tool output in an error */

/* Append len bytes of s. */
void
tool_add(struct tool_buf *b, const char *s, size_t len)
{
	if (b->size - b->len <= len) {
		while (b->size - b->len <= len)
			b->size = b->size == 0 ? 256 : b->size * 2;
		b->s = xreallocarray(b->s, b->size, 1);
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

/* Append a NUL-terminated string. */
void
tool_adds(struct tool_buf *b, const char *s)
{
	tool_add(b, s, strlen(s));
}

/* Append s as one sh word: as it is if plain, else in single quotes. */
void
tool_quote(struct tool_buf *b, const char *s)
{
	const char	*p;

	if (*s != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-") == strlen(s)) {
		tool_adds(b, s);
		return;
	}
	tool_adds(b, "'");
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			tool_adds(b, "'\\''");
		else
			tool_add(b, p, 1);
	}
	tool_adds(b, "'");
}

/* Set *ctx->cause to "NAME: KIND: task "ID": MESSAGE"; returns -1. */
int
tool_error(struct tool_ctx *ctx, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (ctx->id != NULL) {
		xasprintf(ctx->cause, "%s: %s: task \"%s\": %s", ctx->name,
		    ctx->kind, ctx->id, msg);
	} else
		xasprintf(ctx->cause, "%s: %s: %s", ctx->name, ctx->kind, msg);
	free(msg);
	return (-1);
}

/* Free n words and the array. */
void
toolgraph_words_free(char **words, size_t n)
{
	size_t	i;

	for (i = 0; i < n && words != NULL; i++)
		free(words[i]);
	free(words);
}

/*
 * Split s into words as sh would, without expansions: blanks separate,
 * '...' is literal, "..." and a backslash quote. Caller frees with
 * toolgraph_words_free. -1 with *cause on an unterminated quote.
 */
int
toolgraph_split(const char *s, char ***words, size_t *n, char **cause)
{
	struct tool_buf	 w;
	const char	*p = s;
	int		 in_word = 0;
	char		 q;

	*words = NULL;
	*n = 0;
	memset(&w, 0, sizeof w);
	for (;;) {
		if (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\n') {
			if (in_word) {
				*words = xreallocarray(*words, *n + 1,
				    sizeof **words);
				(*words)[(*n)++] = w.s != NULL ? w.s :
				    xstrdup("");
				memset(&w, 0, sizeof w);
				in_word = 0;
			}
			if (*p++ == '\0')
				return (0);
			continue;
		}
		in_word = 1;
		if (*p == '\\' && p[1] != '\0') {
			tool_add(&w, p + 1, 1);
			p += 2;
			continue;
		}
		if (*p != '\'' && *p != '"') {
			tool_add(&w, p++, 1);
			continue;
		}
		q = *p++;
		tool_add(&w, "", 0);
		while (*p != q) {
			if (*p == '\0') {
				xasprintf(cause, "unterminated %s quote in "
				    "\"%s\"", q == '"' ? "double" : "single",
				    s);
				free(w.s);
				toolgraph_words_free(*words, *n);
				*words = NULL;
				*n = 0;
				return (-1);
			}
			if (q == '"' && *p == '\\' && p[1] != '\0' &&
			    strchr("\"\\$`", p[1]) != NULL)
				p++;
			tool_add(&w, p++, 1);
		}
		p++;
	}
}

/*
 * Compare two dotted versions ("19.6.0", "v24.0.6", "2.0.0-canary.1")
 * number by number; a pre-release suffix is ignored. <0, 0 or >0.
 */
int
toolgraph_version_cmp(const char *a, const char *b)
{
	unsigned long	x, y;
	char		*end;
	int		 i;

	if (*a == 'v')
		a++;
	if (*b == 'v')
		b++;
	for (i = 0; i < 3; i++) {
		x = strtoul(a, &end, 10);
		a = end;
		y = strtoul(b, &end, 10);
		b = end;
		if (x != y)
			return (x < y ? -1 : 1);
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return (0);
}

/* The command that runs the tool: DTEQ_NX_COMMAND or the default. */
const char *
toolgraph_runner(int tool)
{
	const char	*s;

	s = cli_env(tool == TOOLGRAPH_NX ? "DTEQ_NX_COMMAND" :
	    "DTEQ_TURBO_COMMAND");
	if (s != NULL)
		return (s);
	/*
	 * The workspace's own binary when it has one: npx costs most of a
	 * second per task (bench/nx_overhead.sh).
	 */
	s = tool == TOOLGRAPH_NX ? "node_modules/.bin/nx" :
	    "node_modules/.bin/turbo";
	if (access(s, X_OK) == 0)
		return (s);
	return (tool == TOOLGRAPH_NX ? TOOL_NX_COMMAND :
	    TOOL_TURBO_COMMAND);
}

/* The tool's name for messages. */
static const char *
tool_name(int tool)
{
	return (tool == TOOLGRAPH_NX ? "Nx" : "Turborepo");
}

/*
 * The version of package pkg installed in node_modules of the current
 * directory or the nearest parent that has one, as npx finds it; NULL if
 * none is found. Caller frees.
 */
static char *
tool_installed(const char *pkg)
{
	char		 dir[PATH_MAX], *path, *buf, *slash, *version = NULL;
	size_t		 len;
	cJSON		*root;
	const cJSON	*v;

	if (getcwd(dir, sizeof dir) == NULL)
		return (NULL);
	for (;;) {
		xasprintf(&path, "%s/node_modules/%s/package.json",
		    strcmp(dir, "/") == 0 ? "" : dir, pkg);
		if (access(path, R_OK) == 0)
			break;
		free(path);
		if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
			return (NULL);
		*slash = '\0';
	}
	if (util_read_file(path, &buf, &len, &slash) != 0) {
		free(slash);
		free(path);
		return (NULL);
	}
	if ((root = cJSON_ParseWithLength(buf, len)) != NULL) {
		v = cJSON_GetObjectItemCaseSensitive(root, "version");
		if (cJSON_IsString(v))
			version = xstrdup(v->valuestring);
		cJSON_Delete(root);
	}
	log_debug("%s: %s is %s", __func__, path, version != NULL ? version :
	    "unreadable");
	free(buf);
	free(path);
	return (version);
}

/* Refuse a tool older than the agents' way of running one task needs. */
int
tool_check_version(int tool, const char *version, const char *where,
    char **cause)
{
	if (tool == TOOLGRAPH_NX &&
	    toolgraph_version_cmp(version, TOOL_NX_MIN) < 0) {
		xasprintf(cause, "Nx %s (%s) is too old: agents run each task "
		    "with `nx run ID --excludeTaskDependencies`, which needs "
		    "Nx %s or later; upgrade the nx package", version, where,
		    TOOL_NX_MIN);
		return (-1);
	}
	if (tool == TOOLGRAPH_TURBO &&
	    toolgraph_version_cmp(version, TOOL_TURBO_MIN) < 0) {
		xasprintf(cause, "Turborepo %s (%s) is too old: agents run "
		    "each task with `turbo run TASK --filter=PKG --only`, "
		    "which needs Turborepo %s or later; upgrade the turbo "
		    "package", version, where, TOOL_TURBO_MIN);
		return (-1);
	}
	return (0);
}

/* Check the tool installed here, if one is found. */
static int
tool_check_installed(int tool, char **cause)
{
	char	*version;
	int	 rc;

	if ((version = tool_installed(tool == TOOLGRAPH_NX ? "nx" :
	    "turbo")) == NULL)
		return (0);
	rc = tool_check_version(tool, version, "installed in "
	    "node_modules", cause);
	free(version);
	return (rc);
}

/* Name the type of a JSON value for messages. */
const char *
tool_type(const cJSON *v)
{
	if (v == NULL)
		return ("missing");
	if (cJSON_IsString(v))
		return ("a string");
	if (cJSON_IsNumber(v))
		return ("a number");
	if (cJSON_IsBool(v))
		return ("a boolean");
	if (cJSON_IsNull(v))
		return ("null");
	if (cJSON_IsArray(v))
		return ("an array");
	return (cJSON_IsObject(v) ? "an object" : "an unknown value");
}

/* Member name of object o, or NULL. */
const cJSON *
tool_get(const cJSON *o, const char *name)
{
	return (cJSON_GetObjectItemCaseSensitive(o, name));
}

/* Tell which kind of graph root is. */
static int
tool_detect_json(const cJSON *root)
{
	const cJSON	*tasks, *first;

	if (!cJSON_IsObject(root))
		return (TOOLGRAPH_UNKNOWN);
	tasks = tool_get(root, "tasks");
	if (cJSON_IsObject(tasks) &&
	    cJSON_IsObject(tool_get(tasks, "tasks")))
		return (TOOLGRAPH_NX);
	if (cJSON_IsString(tool_get(root, "turboVersion")))
		return (TOOLGRAPH_TURBO);
	if (cJSON_IsArray(tasks)) {
		first = tasks->child;
		if (cJSON_IsObject(first) &&
		    tool_get(first, "taskId") != NULL)
			return (TOOLGRAPH_TURBO);
		return (TOOLGRAPH_DTEQ);
	}
	if (tasks == NULL && cJSON_IsObject(tool_get(root, "graph")))
		return (TOOLGRAPH_NX_PROJECTS);
	return (TOOLGRAPH_UNKNOWN);
}

/* Parse buf (len bytes) into a cJSON tree; NULL if it is not JSON. */
static cJSON *
tool_json(const char *buf, size_t len, size_t *off)
{
	cJSON		*root;
	const char	*end = NULL;
	char		*copy;

	copy = xmalloc(len + 1);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (off != NULL)
		*off = end != NULL && end >= copy ? (size_t)(end - copy) : 0;
	free(copy);
	return (root);
}

/* Tell which kind of graph buf holds (TOOLGRAPH_*). */
int
toolgraph_detect(const char *buf, size_t len)
{
	cJSON	*root;
	int	 kind;

	if (memchr(buf, '\0', len) != NULL ||
	    (root = tool_json(buf, len, NULL)) == NULL)
		return (TOOLGRAPH_UNKNOWN);
	kind = tool_detect_json(root);
	cJSON_Delete(root);
	return (kind);
}

/* Copy an optional array of non-empty strings, each prefixed by dir/. */
int
tool_strings(struct tool_ctx *ctx, const cJSON *v,
    const char *field, const char *dir, char ***out, size_t *n)
{
	const cJSON	*e;
	size_t		 i = 0;

	*n = 0;
	if (v == NULL || cJSON_IsNull(v))
		return (0);
	if (!cJSON_IsArray(v)) {
		return (tool_error(ctx, "\"%s\": expected an array of "
		    "strings, got %s", field, tool_type(v)));
	}
	*out = xcalloc(cJSON_GetArraySize(v), sizeof **out);
	for (e = v->child; e != NULL; e = e->next) {
		if (!cJSON_IsString(e) || *e->valuestring == '\0') {
			return (tool_error(ctx, "\"%s\": element #%zu is "
			    "%s, not a path", field, i + 1,
			    tool_type(e)));
		}
		if (dir != NULL && *dir != '\0' && strcmp(dir, ".") != 0)
			xasprintf(&(*out)[i], "%s/%s", dir, e->valuestring);
		else
			(*out)[i] = xstrdup(e->valuestring);
		*n = ++i;
	}
	return (0);
}

/* Add id to the deps of t unless it is there already. */
void
tool_add_dep(struct task *t, const char *id)
{
	size_t	i;

	for (i = 0; i < t->ndeps; i++) {
		if (strcmp(t->deps[i], id) == 0)
			return;
	}
	t->deps = xreallocarray(t->deps, t->ndeps + 1, sizeof *t->deps);
	t->deps[t->ndeps++] = xstrdup(id);
}

/* Read DTEQ_TOOL_DEPS (restore, the default, or exclude) into ctx. */
int
tool_deps_mode(struct tool_ctx *ctx)
{
	const char	*mode;

	ctx->restore = 1;
	if ((mode = cli_env("DTEQ_TOOL_DEPS")) == NULL ||
	    strcmp(mode, "restore") == 0)
		return (0);
	if (strcmp(mode, "exclude") != 0) {
		return (tool_error(ctx, "DTEQ_TOOL_DEPS is \"%s\", not "
		    "restore or exclude", mode));
	}
	ctx->restore = 0;
	return (0);
}

/* Report where a graph stops being JSON; returns -1. */
static int
tool_json_error(struct tool_ctx *ctx, const char *buf, size_t len,
    size_t off)
{
	size_t	i, line = 1, col = 1, blank = 0;

	while (blank < len && strchr(" \t\r\n", buf[blank]) != NULL &&
	    buf[blank] != '\0')
		blank++;
	if (blank == len)
		return (tool_error(ctx, "empty: no JSON"));
	for (i = 0; i < off && i < len; i++) {
		col++;
		if (buf[i] == '\n') {
			line++;
			col = 1;
		}
	}
	return (tool_error(ctx, "invalid JSON at line %zu, column %zu",
	    line, col));
}

/*
 * Read the graph in buf (len bytes) into ts, overwritten: an Nx task graph,
 * a Turborepo dry run or a dteq task file, told apart by toolgraph_detect.
 * name names the source in messages. On error -1 with *cause set and ts
 * empty.
 */
int
toolgraph_parse(const char *buf, size_t len, const char *name,
    struct taskset *ts, char **cause)
{
	struct tool_ctx	 ctx;
	cJSON		*root;
	size_t		 off;
	int		 kind, rc = -1;

	memset(ts, 0, sizeof *ts);
	memset(&ctx, 0, sizeof ctx);
	ctx.name = name == NULL || strcmp(name, "-") == 0 ? "<stdin>" : name;
	ctx.kind = "task graph";
	ctx.cause = cause;
	if (memchr(buf, '\0', len) != NULL)
		return (tool_error(&ctx, "holds a NUL byte: not JSON"));
	if ((root = tool_json(buf, len, &off)) == NULL)
		return (tool_json_error(&ctx, buf, len, off));
	switch (kind = tool_detect_json(root)) {
	case TOOLGRAPH_NX:
		if ((rc = tool_check_installed(TOOLGRAPH_NX, cause)) == 0)
			rc = nx_parse(&ctx, root, ts);
		break;
	case TOOLGRAPH_TURBO:
		rc = turbo_parse(&ctx, root, ts);
		break;
	case TOOLGRAPH_DTEQ:
		rc = taskfile_parse(buf, len, name, ts, cause);
		break;
	case TOOLGRAPH_NX_PROJECTS:
		tool_error(&ctx, "this is Nx's project graph, which has "
		    "no tasks: write the task graph with `nx run-many -t "
		    "TARGET --graph=FILE.json` (or nx affected)");
		break;
	default:
		tool_error(&ctx, "not a task graph: expected one written "
		    "by `nx run-many|affected ... --graph=FILE.json`, by "
		    "`turbo run ... --dry=json`, or a dteq task file");
		break;
	}
	cJSON_Delete(root);
	if (rc != 0)
		taskset_free(ts);
	else
		log_debug("%s: %s: %zu tasks", __func__, ctx.name, ts->ntasks);
	return (rc);
}

/* Read what is ready on fd into b; 1 at EOF, 0 otherwise. */
static int
tool_drain(int fd, struct tool_buf *b)
{
	char	buf[65536];
	ssize_t	n;

	n = read(fd, buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return (0);
	if (n <= 0)
		return (1);
	tool_add(b, buf, (size_t)n);
	return (0);
}

/*
 * Read the tool's pipes (fds[0], fds[1] if nfd is 2) into out and err
 * until EOF, and wait for it; its exit code. Reading stops once the tool
 * has exited and its pipes are quiet, even if a process it left behind (a
 * daemon) still holds them open.
 */
static int
tool_collect(pid_t pid, int *fds, int nfd, struct tool_buf *out,
    struct tool_buf *err)
{
	struct pollfd	 pfd[2];
	int		 st, i, n, exited = 0;

	for (i = 0; i < nfd; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (pfd[0].fd != -1 || (nfd > 1 && pfd[1].fd != -1)) {
		n = poll(pfd, nfd, exited ? 0 : 200);
		if (n == -1 && errno != EINTR)
			fatal("%s: poll", __func__);
		if (n == 0 && exited)
			break;
		for (i = 0; n > 0 && i < nfd; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (tool_drain(pfd[i].fd, i == 0 ? out : err)) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
		}
		if (!exited && waitpid(pid, &st, WNOHANG) == pid)
			exited = 1;
	}
	for (i = 0; i < nfd; i++) {
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	}
	return (exited ? spawn_exit_code(st) : spawn_wait(pid));
}

/*
 * Run argv with stdin from /dev/null, its stdout into out and its stderr
 * into err (or into out as well when err is NULL), and wait for it.
 * Returns its exit code, 128 + the signal if one killed it. A command
 * that cannot be run gets 127 with the reason in out, as from a shell,
 * so its message reads as every other failure of the tool.
 */
static int
tool_exec(char **argv, struct tool_buf *out, struct tool_buf *err)
{
	struct spawn	 sp;
	char		*cause, *msg;
	int		 fds[2];

	tool_add(out, "", 0);
	if (err != NULL)
		tool_add(err, "", 0);
	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.out = SPAWN_PIPE;
	sp.err = err != NULL ? SPAWN_PIPE : SPAWN_TO_OUT;
	sp.flags = SPAWN_NULL_STDIN;
	if (spawn_start(&sp, &cause) != 0) {
		xasprintf(&msg, "dteq: %s (is it installed and on PATH?)\n",
		    cause);
		tool_adds(out, msg);
		free(msg);
		free(cause);
		return (127);
	}
	fds[0] = sp.out_fd;
	fds[1] = sp.err_fd;
	return (tool_collect(sp.pid, fds, err != NULL ? 2 : 1, out, err));
}

/* The last TOOL_SHOW_MAX bytes of the tool's output, for a message. */
static const char *
tool_tail(const struct tool_buf *b)
{
	const char	*s;

	if (b->s == NULL)
		return ("");
	if (b->len <= TOOL_SHOW_MAX)
		return (b->s);
	s = b->s + b->len - TOOL_SHOW_MAX;
	if ((s = strchr(s, '\n')) == NULL)
		return (b->s + b->len - TOOL_SHOW_MAX);
	return (s + 1);
}

/* Find --parallel N / --concurrency N in the tool's words; 0: none. */
static int
tool_parallel(int tool, char **words, size_t n)
{
	const char	*opt, *errstr, *v;
	size_t		 i, len;
	long long	 k;

	opt = tool == TOOLGRAPH_NX ? "--parallel" : "--concurrency";
	len = strlen(opt);
	for (i = 0; i < n; i++) {
		if (strncmp(words[i], opt, len) != 0)
			continue;
		if (words[i][len] == '=')
			v = words[i] + len + 1;
		else if (words[i][len] == '\0' && i + 1 < n)
			v = words[i + 1];
		else
			continue;
		k = util_strtonum(v, 1, 1024, &errstr);
		if (errstr == NULL)
			return ((int)k);
	}
	return (0);
}

/* Build the argv that asks the tool for its graph. Caller frees. */
static int
tool_argv(int tool, const char *args, const char *file, char ***argv,
    size_t *argc, int *parallel, char **cause)
{
	char		**user, *cmd;
	size_t		  nuser, i, skip = 0;
	const char	 *self = tool == TOOLGRAPH_NX ? "nx" : "turbo";
	const char	 *own = tool == TOOLGRAPH_NX ? "--graph" : "--dry";

	if (toolgraph_split(toolgraph_runner(tool), argv, argc, cause) != 0)
		return (-1);
	if (*argc == 0) {
		xasprintf(cause, "DTEQ_%s_COMMAND is empty", tool ==
		    TOOLGRAPH_NX ? "NX" : "TURBO");
		return (-1);
	}
	if (toolgraph_split(args, &user, &nuser, cause) != 0)
		goto fail;
	if (nuser > 0 && strcmp(user[0], self) == 0)
		skip = 1;	/* --nx "nx affected ..." */
	if (nuser == skip) {
		xasprintf(cause, "no %s arguments given (for example \"%s\")",
		    tool_name(tool), tool == TOOLGRAPH_NX ?
		    "affected -t lint,test,build" : "run build test");
		toolgraph_words_free(user, nuser);
		goto fail;
	}
	for (i = skip; i < nuser && strcmp(user[i], "--") != 0; i++) {
		if (strncmp(user[i], own, strlen(own)) == 0) {
			xasprintf(cause, "do not pass %s: dteq adds %s "
			    "itself to read the task graph", user[i], own);
			toolgraph_words_free(user, nuser);
			goto fail;
		}
	}
	*parallel = tool_parallel(tool, user, nuser);
	if (tool == TOOLGRAPH_NX)
		xasprintf(&cmd, "--graph=%s", file);
	else
		cmd = xstrdup("--dry=json");
	/* Before any "--": what follows it goes to the tasks. */
	*argv = xreallocarray(*argv, *argc + nuser + 2, sizeof **argv);
	for (i = skip; i < nuser; i++) {
		if (cmd != NULL && strcmp(user[i], "--") == 0) {
			(*argv)[(*argc)++] = cmd;
			cmd = NULL;
		}
		(*argv)[(*argc)++] = user[i];
	}
	if (cmd != NULL)
		(*argv)[(*argc)++] = cmd;
	(*argv)[*argc] = NULL;
	if (skip)
		free(user[0]);	/* --nx "nx affected ..." */
	free(user);
	return (0);

fail:
	toolgraph_words_free(*argv, *argc);
	*argv = NULL;
	*argc = 0;
	return (-1);
}

/* The command line of argv, for messages. Caller frees. */
static char *
tool_cmdline(char **argv, size_t argc)
{
	struct tool_buf	b;
	size_t		i;

	memset(&b, 0, sizeof b);
	for (i = 0; i < argc; i++) {
		if (i > 0)
			tool_adds(&b, " ");
		tool_quote(&b, argv[i]);
	}
	return (b.s);
}

/*
 * A file for Nx to write its graph into (--graph=FILE.json), in TMPDIR,
 * into file (PATH_MAX bytes); -1 with *cause.
 */
static int
tool_graph_file(char *file, char **cause)
{
	const char	*tmp;
	int		 fd;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(file, PATH_MAX, "%s/dteq-nx-graph.XXXXXX.json", tmp);
	if ((fd = mkstemps(file, 5)) == -1) {
		xasprintf(cause, "%s: %s", file, strerror(errno));
		file[0] = '\0';
		return (-1);
	}
	close(fd);
	return (0);
}

/*
 * Read the graph the tool wrote (Nx: into file; Turborepo: on stdout,
 * out) into ts, and check it is the tool's own kind.
 */
static int
tool_read_graph(int tool, const char *file, const struct tool_buf *out,
    const char *line, struct taskset *ts, char **cause)
{
	const char	*g = out->s;
	char		*graph = NULL;
	size_t		 len = out->len;
	int		 rc;

	if (tool == TOOLGRAPH_NX) {
		if (util_read_file(file, &graph, &len, cause) != 0)
			return (-1);
		g = graph;
	}
	rc = toolgraph_parse(g, len, line, ts, cause);
	if (rc == 0 && toolgraph_detect(g, len) != tool) {
		taskset_free(ts);
		xasprintf(cause, "`%s` wrote no %s task graph", line,
		    tool_name(tool));
		rc = -1;
	}
	free(graph);
	return (rc);
}

/*
 * Run the tool (TOOLGRAPH_NX or TOOLGRAPH_TURBO) with the user's args
 * (one string, split as sh would) to get its task graph, and read that
 * into ts. *parallel is the --parallel (Nx) or --concurrency (Turborepo)
 * found in args, 0 if none. On error -1 with *cause set: a tool too old
 * or that failed (or could not be run) is reported with its own output.
 */
int
toolgraph_run(int tool, const char *args, struct taskset *ts, int *parallel,
    char **cause)
{
	struct tool_buf	 out, err;
	char		 file[PATH_MAX], **argv = NULL, *line = NULL;
	size_t		 argc = 0;
	int		 status, rc = -1;

	memset(ts, 0, sizeof *ts);
	memset(&out, 0, sizeof out);
	memset(&err, 0, sizeof err);
	*parallel = 0;
	file[0] = '\0';
	if (tool_check_installed(tool, cause) != 0)
		return (-1);
	if (tool == TOOLGRAPH_NX && tool_graph_file(file, cause) != 0)
		return (-1);
	if (tool_argv(tool, args, file, &argv, &argc, parallel,
	    cause) != 0)
		goto out;
	line = tool_cmdline(argv, argc);
	log_info("getting the task graph: %s", line);
	status = tool_exec(argv, &out, tool == TOOLGRAPH_NX ? NULL : &err);
	if (status != 0) {
		xasprintf(cause, "`%s` failed (exit %d)%s\n%s%s", line, status,
		    status == 127 ? ": is the tool installed?" : "",
		    tool_tail(&out), tool_tail(&err));
		goto out;
	}
	log_debug("%s: the tool said:\n%s%s", __func__, out.s, err.s);
	rc = tool_read_graph(tool, file, &out, line, ts, cause);

out:
	if (file[0] != '\0')
		unlink(file);
	toolgraph_words_free(argv, argc);
	free(line);
	free(out.s);
	free(err.s);
	return (rc);
}
