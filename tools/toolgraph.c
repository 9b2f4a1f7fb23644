/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Task graphs from the tools themselves. Nx writes its task graph with
 * `nx run-many|affected ... --graph=FILE.json` and Turborepo with
 * `turbo run ... --dry=json`; this file reads either into a struct taskset
 * whose commands hand each task back to the tool on the agents, so the
 * tool's own executors, caching and output stay in charge:
 *
 *	Nx	 id project:target[:configuration], deps from
 *		 tasks.dependencies (strings, or {"id": ...} objects as Nx 24
 *		 writes them), outputs from the task; command
 *		 `npx --no nx run ID --excludeTaskDependencies [overrides]`
 *	Turbo	 id pkg#task (taskId), deps from dependencies, outputs under
 *		 the package's directory; command
 *		 `npx --no turbo run TASK --filter=PKG --only [-- args]`
 *
 * Continuous (Nx) and persistent (Turborepo) tasks, such as dev servers,
 * are refused with an error naming them: they never finish, and an agent
 * cannot keep one running for a dependent on another machine. Turborepo
 * lists tasks of packages that lack the script ("<NONEXISTENT>"); they
 * are left out and their dependents inherit their dependencies.
 *
 * How the tools are run is DTEQ_NX_COMMAND / DTEQ_TURBO_COMMAND (default
 * node_modules/.bin/nx or turbo when the workspace has it, else
 * "npx --no nx", "npx --no turbo": --no so npx never downloads a tool that
 * is not installed), for the main job and, through the task commands, the
 * agents alike. Nx tasks run with NX_ISOLATE_PLUGINS=false unless it is
 * set: both cut Nx's start-up per task.
 *
 * Nx commands always keep --excludeTaskDependencies: an Nx that restored
 * a task's dependencies itself deleted and copied their outputs again
 * while another task on the same checkout read them. Instead, by default
 * (DTEQ_TOOL_DEPS=restore), each Nx task with outputs carries a restore,
 * the template `RUNNER run-many -t TARGET [-c CONFIGURATION]
 * --excludeTaskDependencies {} [overrides]` with --projects=PROJECT for
 * its "{}": before a task runs, its agent fetches the outputs of the
 * dependencies its checkout lacks from the remote cache dteq work serves
 * (they ran elsewhere), once per checkout and one restore at a time, the
 * projects of one template in one command (worker.c). Turborepo's
 * commands leave --only out in that mode, so turbo on the agent restores
 * the dependencies' outputs itself: a Turborepo task with outputs is
 * restored inline, and an agent runs one task at a time that has such
 * dependencies missing. DTEQ_TOOL_DEPS=exclude gives no restores and
 * keeps --only, for agents that share one file system.
 *
 * API:
 *
 * - toolgraph_detect() tells an Nx task graph, a Turborepo dry run, a dteq
 *   task file and Nx's project graph (no tasks) apart;
 * - toolgraph_parse() reads any of the three task graphs into a taskset
 *   (dteq's own through taskfile_parse);
 * - toolgraph_run() runs the tool with the user's arguments plus
 *   --graph=TMP.json or --dry=json, after checking the installed version
 *   can run single tasks (Nx 19.6 for --excludeTaskDependencies, Turborepo
 *   2.0 for --only with --filter), and parses what it wrote. A tool that
 *   fails is reported with its own output.
 *
 * As in taskfile.c, the whole graph is checked before anything is handed
 * back; graph.c then checks ids, deps and cycles. Nothing outside this
 * file sees a cJSON.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tools.h"

#define TOOLGRAPH_NX_COMMAND	"npx --no nx"
#define TOOLGRAPH_TURBO_COMMAND	"npx --no turbo"
#define TOOLGRAPH_NX_MIN	"19.6.0"	/* --excludeTaskDependencies */
#define TOOLGRAPH_TURBO_MIN	"2.0.0"		/* --only trims to --filter */
#define TOOLGRAPH_SHOW_MAX	(32 * 1024)	/* tool output in an error */
#define TOOLGRAPH_NONEXISTENT	"<NONEXISTENT>"

/* A growable NUL-terminated string. */
struct toolgraph_buf {
	char	*s;
	size_t	 len;
	size_t	 size;
};

/* Where the parser is, for messages: "NAME: Nx task graph: task X: ..." */
struct toolgraph_ctx {
	const char	*name;
	const char	*kind;
	const char	*id;
	int		 restore;	/* DTEQ_TOOL_DEPS=restore */
	char	       **cause;
};

/* A Turborepo task id and its place in tasks[], sorted for bsearch. */
struct toolgraph_ref {
	const char	*id;
	const cJSON	*task;
	int		 missing;	/* command <NONEXISTENT> */
	size_t		 stamp;		/* last visit while splicing */
};

/* Append len bytes of s. */
static void
toolgraph_add(struct toolgraph_buf *b, const char *s, size_t len)
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
static void
toolgraph_adds(struct toolgraph_buf *b, const char *s)
{
	toolgraph_add(b, s, strlen(s));
}

/* Append s as one sh word: as it is if plain, else in single quotes. */
static void
toolgraph_quote(struct toolgraph_buf *b, const char *s)
{
	const char	*p;

	if (*s != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-") == strlen(s)) {
		toolgraph_adds(b, s);
		return;
	}
	toolgraph_adds(b, "'");
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			toolgraph_adds(b, "'\\''");
		else
			toolgraph_add(b, p, 1);
	}
	toolgraph_adds(b, "'");
}

/* Set *ctx->cause to "NAME: KIND: task "ID": MESSAGE"; returns -1. */
static int __attribute__((format(printf, 2, 3)))
toolgraph_error(struct toolgraph_ctx *ctx, const char *fmt, ...)
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
	struct toolgraph_buf	 w;
	const char		*p = s;
	int			 in_word = 0;
	char			 q;

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
			toolgraph_add(&w, p + 1, 1);
			p += 2;
			continue;
		}
		if (*p != '\'' && *p != '"') {
			toolgraph_add(&w, p++, 1);
			continue;
		}
		q = *p++;
		toolgraph_add(&w, "", 0);
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
			toolgraph_add(&w, p++, 1);
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

	s = getenv(tool == TOOLGRAPH_NX ? "DTEQ_NX_COMMAND" :
	    "DTEQ_TURBO_COMMAND");
	if (s != NULL && *s != '\0')
		return (s);
	/*
	 * The workspace's own binary when it has one: npx costs most of a
	 * second per task (bench/nx_overhead.sh).
	 */
	s = tool == TOOLGRAPH_NX ? "node_modules/.bin/nx" :
	    "node_modules/.bin/turbo";
	if (access(s, X_OK) == 0)
		return (s);
	return (tool == TOOLGRAPH_NX ? TOOLGRAPH_NX_COMMAND :
	    TOOLGRAPH_TURBO_COMMAND);
}

/* The tool's name for messages. */
static const char *
toolgraph_tool_name(int tool)
{
	return (tool == TOOLGRAPH_NX ? "Nx" : "Turborepo");
}

/*
 * The version of package pkg installed in node_modules of the current
 * directory or the nearest parent that has one, as npx finds it; NULL if
 * none is found. Caller frees.
 */
static char *
toolgraph_installed(const char *pkg)
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
static int
toolgraph_check_version(int tool, const char *version, const char *where,
    char **cause)
{
	if (tool == TOOLGRAPH_NX &&
	    toolgraph_version_cmp(version, TOOLGRAPH_NX_MIN) < 0) {
		xasprintf(cause, "Nx %s (%s) is too old: agents run each task "
		    "with `nx run ID --excludeTaskDependencies`, which needs "
		    "Nx %s or later; upgrade the nx package", version, where,
		    TOOLGRAPH_NX_MIN);
		return (-1);
	}
	if (tool == TOOLGRAPH_TURBO &&
	    toolgraph_version_cmp(version, TOOLGRAPH_TURBO_MIN) < 0) {
		xasprintf(cause, "Turborepo %s (%s) is too old: agents run "
		    "each task with `turbo run TASK --filter=PKG --only`, "
		    "which needs Turborepo %s or later; upgrade the turbo "
		    "package", version, where, TOOLGRAPH_TURBO_MIN);
		return (-1);
	}
	return (0);
}

/* Check the tool installed here, if one is found. */
static int
toolgraph_check_installed(int tool, char **cause)
{
	char	*version;
	int	 rc;

	if ((version = toolgraph_installed(tool == TOOLGRAPH_NX ? "nx" :
	    "turbo")) == NULL)
		return (0);
	rc = toolgraph_check_version(tool, version, "installed in "
	    "node_modules", cause);
	free(version);
	return (rc);
}

/* Name the type of a JSON value for messages. */
static const char *
toolgraph_type(const cJSON *v)
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
static const cJSON *
toolgraph_get(const cJSON *o, const char *name)
{
	return (cJSON_GetObjectItemCaseSensitive(o, name));
}

/* Tell which kind of graph root is. */
static int
toolgraph_detect_json(const cJSON *root)
{
	const cJSON	*tasks, *first;

	if (!cJSON_IsObject(root))
		return (TOOLGRAPH_UNKNOWN);
	tasks = toolgraph_get(root, "tasks");
	if (cJSON_IsObject(tasks) &&
	    cJSON_IsObject(toolgraph_get(tasks, "tasks")))
		return (TOOLGRAPH_NX);
	if (cJSON_IsString(toolgraph_get(root, "turboVersion")))
		return (TOOLGRAPH_TURBO);
	if (cJSON_IsArray(tasks)) {
		first = tasks->child;
		if (cJSON_IsObject(first) &&
		    toolgraph_get(first, "taskId") != NULL)
			return (TOOLGRAPH_TURBO);
		return (TOOLGRAPH_DTEQ);
	}
	if (tasks == NULL && cJSON_IsObject(toolgraph_get(root, "graph")))
		return (TOOLGRAPH_NX_PROJECTS);
	return (TOOLGRAPH_UNKNOWN);
}

/* Parse buf (len bytes) into a cJSON tree; NULL if it is not JSON. */
static cJSON *
toolgraph_json(const char *buf, size_t len, size_t *off)
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
	    (root = toolgraph_json(buf, len, NULL)) == NULL)
		return (TOOLGRAPH_UNKNOWN);
	kind = toolgraph_detect_json(root);
	cJSON_Delete(root);
	return (kind);
}

/* Copy an optional array of non-empty strings, each prefixed by dir/. */
static int
toolgraph_strings(struct toolgraph_ctx *ctx, const cJSON *v,
    const char *field, const char *dir, char ***out, size_t *n)
{
	const cJSON	*e;
	size_t		 i = 0;

	*n = 0;
	if (v == NULL || cJSON_IsNull(v))
		return (0);
	if (!cJSON_IsArray(v)) {
		return (toolgraph_error(ctx, "\"%s\": expected an array of "
		    "strings, got %s", field, toolgraph_type(v)));
	}
	*out = xcalloc(cJSON_GetArraySize(v), sizeof **out);
	for (e = v->child; e != NULL; e = e->next) {
		if (!cJSON_IsString(e) || *e->valuestring == '\0') {
			return (toolgraph_error(ctx, "\"%s\": element #%zu is "
			    "%s, not a path", field, i + 1,
			    toolgraph_type(e)));
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
static void
toolgraph_add_dep(struct task *t, const char *id)
{
	size_t	i;

	for (i = 0; i < t->ndeps; i++) {
		if (strcmp(t->deps[i], id) == 0)
			return;
	}
	t->deps = xreallocarray(t->deps, t->ndeps + 1, sizeof *t->deps);
	t->deps[t->ndeps++] = xstrdup(id);
}

/*
 * Append an Nx task's overrides (what followed the targets on the command
 * line, for example `-- --coverage`) as arguments: the raw words Nx kept
 * in __overrides_unparsed__, or else --name=value for each parsed one.
 */
static int
toolgraph_nx_overrides(struct toolgraph_ctx *ctx, const cJSON *o,
    struct toolgraph_buf *cmd)
{
	const cJSON	*raw, *e;
	char		*arg;

	if (o == NULL || cJSON_IsNull(o))
		return (0);
	if (!cJSON_IsObject(o)) {
		return (toolgraph_error(ctx, "\"overrides\": expected an "
		    "object, got %s", toolgraph_type(o)));
	}
	if ((raw = toolgraph_get(o, "__overrides_unparsed__")) != NULL) {
		if (!cJSON_IsArray(raw))
			return (toolgraph_error(ctx, "\"overrides\": "
			    "__overrides_unparsed__ is not an array"));
		for (e = raw->child; e != NULL; e = e->next) {
			if (!cJSON_IsString(e))
				return (toolgraph_error(ctx, "\"overrides\": "
				    "__overrides_unparsed__ holds %s",
				    toolgraph_type(e)));
			toolgraph_adds(cmd, " ");
			toolgraph_quote(cmd, e->valuestring);
		}
		return (0);
	}
	for (e = o->child; e != NULL; e = e->next) {
		if (strncmp(e->string, "__", 2) == 0)
			continue;
		if (cJSON_IsString(e))
			xasprintf(&arg, "--%s=%s", e->string, e->valuestring);
		else if (cJSON_IsNumber(e))
			xasprintf(&arg, "--%s=%.17g", e->string,
			    e->valuedouble);
		else if (cJSON_IsBool(e))
			xasprintf(&arg, "--%s=%s", e->string,
			    cJSON_IsTrue(e) ? "true" : "false");
		else {
			return (toolgraph_error(ctx, "\"overrides\": \"%s\" is "
			    "%s; pass it after -- so Nx keeps it unparsed",
			    e->string, toolgraph_type(e)));
		}
		toolgraph_adds(cmd, " ");
		toolgraph_quote(cmd, arg);
		free(arg);
	}
	return (0);
}

/* Copy an Nx task's deps: ids as strings or as {"id": ...} objects. */
static int
toolgraph_nx_deps(struct toolgraph_ctx *ctx, const cJSON *v, struct task *t)
{
	const cJSON	*e, *id;

	if (v == NULL)
		return (0);
	if (!cJSON_IsArray(v)) {
		return (toolgraph_error(ctx, "tasks.dependencies: expected an "
		    "array, got %s", toolgraph_type(v)));
	}
	for (e = v->child; e != NULL; e = e->next) {
		id = cJSON_IsObject(e) ? toolgraph_get(e, "id") : e;
		if (!cJSON_IsString(id) || *id->valuestring == '\0') {
			return (toolgraph_error(ctx, "tasks.dependencies: an "
			    "element is %s, not a task id or {\"id\": ...}",
			    toolgraph_type(e)));
		}
		toolgraph_add_dep(t, id->valuestring);
	}
	return (0);
}

/* The first id a continuousDependencies entry names, or NULL. */
static const char *
toolgraph_nx_continuous(const cJSON *v)
{
	const cJSON	*e, *id;

	if (!cJSON_IsArray(v))
		return (NULL);
	for (e = v->child; e != NULL; e = e->next) {
		id = cJSON_IsObject(e) ? toolgraph_get(e, "id") : e;
		if (cJSON_IsString(id))
			return (id->valuestring);
		return ("?");
	}
	return (NULL);
}

/*
 * Set an Nx task's restore, the template `RUNNER run-many -t TARGET
 * [-c CONFIGURATION] --excludeTaskDependencies {} [overrides]`, and its
 * restore_arg --projects=PROJECT for the "{}" (worker.c). The project
 * is the target's, else the id up to its first ':'. Should the words
 * before "{}" hold a "{}" themselves, the arg goes in place and restore
 * is run as it is.
 */
static int
toolgraph_nx_restore(struct toolgraph_ctx *ctx, const cJSON *e,
    const cJSON *target, struct task *t)
{
	const cJSON		*v;
	struct toolgraph_buf	 b;
	char			*arg;
	int			 rc;

	v = toolgraph_get(target, "project");
	if (cJSON_IsString(v) && *v->valuestring != '\0')
		xasprintf(&arg, "--projects=%s", v->valuestring);
	else if (*t->id != ':') {
		xasprintf(&arg, "--projects=%.*s", (int)strcspn(t->id, ":"),
		    t->id);
	} else {
		return (toolgraph_error(ctx, "\"target\": no \"project\", "
		    "and the id names none"));
	}
	memset(&b, 0, sizeof b);
	toolgraph_quote(&b, arg);
	free(arg);
	t->restore_arg = b.s;

	memset(&b, 0, sizeof b);
	toolgraph_adds(&b, toolgraph_runner(TOOLGRAPH_NX));
	toolgraph_adds(&b, " run-many -t ");
	toolgraph_quote(&b, t->target);
	v = toolgraph_get(target, "configuration");
	if (cJSON_IsString(v) && *v->valuestring != '\0') {
		toolgraph_adds(&b, " -c ");
		toolgraph_quote(&b, v->valuestring);
	}
	toolgraph_adds(&b, " --excludeTaskDependencies ");
	if (strstr(b.s, "{}") != NULL) {
		toolgraph_adds(&b, t->restore_arg);
		free(t->restore_arg);
		t->restore_arg = NULL;
	} else
		toolgraph_adds(&b, "{}");
	rc = toolgraph_nx_overrides(ctx, toolgraph_get(e, "overrides"), &b);
	t->restore = b.s;
	return (rc);
}

/* Fill t from one member of an Nx graph's tasks.tasks. */
static int
toolgraph_nx_task(struct toolgraph_ctx *ctx, const cJSON *e,
    const cJSON *tasks, struct task *t)
{
	const cJSON		*v, *target, *name;
	const char		*cont;
	struct toolgraph_buf	 cmd;
	int			 rc;

	ctx->id = e->string;
	if (!cJSON_IsObject(e))
		return (toolgraph_error(ctx, "expected an object, got %s",
		    toolgraph_type(e)));
	if (*e->string == '\0' || strpbrk(e->string, "\n\r\t") != NULL)
		return (toolgraph_error(ctx, "not a usable task id"));
	v = toolgraph_get(e, "id");
	if (v != NULL && (!cJSON_IsString(v) ||
	    strcmp(v->valuestring, e->string) != 0))
		return (toolgraph_error(ctx, "\"id\" does not match the key"));
	if (cJSON_IsTrue(toolgraph_get(e, "continuous"))) {
		return (toolgraph_error(ctx, "is a continuous task (a server "
		    "or watcher that never ends); dteq runs tasks that finish "
		    "and cannot keep one running for other agents: leave its "
		    "target out, or start it inside the target that needs "
		    "it"));
	}
	v = toolgraph_get(toolgraph_get(tasks, "continuousDependencies"),
	    e->string);
	if ((cont = toolgraph_nx_continuous(v)) != NULL) {
		return (toolgraph_error(ctx, "depends on the continuous task "
		    "\"%s\" (continuousDependencies); dteq cannot keep a "
		    "continuous task running for its dependents on other "
		    "agents: start it inside this target instead", cont));
	}
	target = toolgraph_get(e, "target");
	name = toolgraph_get(target, "target");
	if (!cJSON_IsString(name) || *name->valuestring == '\0') {
		return (toolgraph_error(ctx, "\"target\": expected an object "
		    "with a \"target\" name, got %s", toolgraph_type(
		    cJSON_IsObject(target) ? name : target)));
	}

	t->id = xstrdup(e->string);
	t->target = xstrdup(name->valuestring);
	t->retries = -1;
	memset(&cmd, 0, sizeof cmd);
	toolgraph_adds(&cmd, toolgraph_runner(TOOLGRAPH_NX));
	toolgraph_adds(&cmd, " run ");
	toolgraph_quote(&cmd, t->id);
	toolgraph_adds(&cmd, " --excludeTaskDependencies");
	rc = toolgraph_nx_overrides(ctx, toolgraph_get(e, "overrides"), &cmd);
	t->command = cmd.s;
	if (rc != 0)
		return (-1);
	/*
	 * Plugins in Nx's own process: isolating them costs each short-lived
	 * `nx run` about half a second (bench/nx_overhead.sh).
	 */
	if (getenv("NX_ISOLATE_PLUGINS") == NULL) {
		t->env = xreallocarray(t->env, t->nenv + 1, sizeof *t->env);
		t->env[t->nenv].name = xstrdup("NX_ISOLATE_PLUGINS");
		t->env[t->nenv].value = xstrdup("false");
		t->nenv++;
	}
	if (toolgraph_strings(ctx, toolgraph_get(e, "outputs"), "outputs",
	    NULL, &t->outputs, &t->noutputs) != 0)
		return (-1);
	/* A task without outputs (lint, most tests) has nothing to bring. */
	if (ctx->restore && t->noutputs > 0 &&
	    toolgraph_nx_restore(ctx, e, target, t) != 0)
		return (-1);
	return (toolgraph_nx_deps(ctx, toolgraph_get(toolgraph_get(tasks,
	    "dependencies"), e->string), t));
}

/* Read DTEQ_TOOL_DEPS (restore, the default, or exclude) into ctx. */
static int
toolgraph_deps_mode(struct toolgraph_ctx *ctx)
{
	const char	*mode;

	ctx->restore = 1;
	if ((mode = getenv("DTEQ_TOOL_DEPS")) == NULL || *mode == '\0' ||
	    strcmp(mode, "restore") == 0)
		return (0);
	if (strcmp(mode, "exclude") != 0) {
		return (toolgraph_error(ctx, "DTEQ_TOOL_DEPS is \"%s\", not "
		    "restore or exclude", mode));
	}
	ctx->restore = 0;
	return (0);
}

/* Read an Nx task graph (root of --graph=FILE.json) into ts. */
static int
toolgraph_nx(struct toolgraph_ctx *ctx, const cJSON *root,
    struct taskset *ts)
{
	const cJSON	*tasks, *all, *e, *deps;

	ctx->kind = "Nx task graph";
	if (toolgraph_deps_mode(ctx) != 0)
		return (-1);
	tasks = toolgraph_get(root, "tasks");
	all = toolgraph_get(tasks, "tasks");
	deps = toolgraph_get(tasks, "dependencies");
	if (deps != NULL && !cJSON_IsObject(deps)) {
		return (toolgraph_error(ctx, "tasks.dependencies: expected an "
		    "object, got %s", toolgraph_type(deps)));
	}
	ts->ntasks = 0;
	ts->tasks = xcalloc(cJSON_GetArraySize(all), sizeof *ts->tasks);
	for (e = all->child; e != NULL; e = e->next) {
		if (toolgraph_nx_task(ctx, e, tasks,
		    &ts->tasks[ts->ntasks++]) != 0)
			return (-1);
	}
	ctx->id = NULL;
	return (0);
}

/* Order Turborepo refs by id. */
static int
toolgraph_ref_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct toolgraph_ref *)a)->id,
	    ((const struct toolgraph_ref *)b)->id));
}

/* Find a Turborepo task by id, or NULL. */
static struct toolgraph_ref *
toolgraph_ref_find(struct toolgraph_ref *refs, size_t n, const char *id)
{
	struct toolgraph_ref	key;

	memset(&key, 0, sizeof key);
	key.id = id;
	return (bsearch(&key, refs, n, sizeof *refs, toolgraph_ref_cmp));
}

/*
 * Add the deps of a Turborepo task, looking through the tasks that were
 * left out (no such script): their own deps are added instead. stamp marks
 * the refs seen for this task, so each is visited once.
 */
static int
toolgraph_turbo_deps(struct toolgraph_ctx *ctx, struct toolgraph_ref *refs,
    size_t n, const cJSON *deps, size_t stamp, struct task *t)
{
	const cJSON		*e;
	struct toolgraph_ref	*r;

	if (deps == NULL || cJSON_IsNull(deps))
		return (0);
	if (!cJSON_IsArray(deps)) {
		return (toolgraph_error(ctx, "\"dependencies\": expected an "
		    "array, got %s", toolgraph_type(deps)));
	}
	for (e = deps->child; e != NULL; e = e->next) {
		if (!cJSON_IsString(e) || *e->valuestring == '\0') {
			return (toolgraph_error(ctx, "\"dependencies\": an "
			    "element is %s, not a task id",
			    toolgraph_type(e)));
		}
		if ((r = toolgraph_ref_find(refs, n, e->valuestring)) == NULL ||
		    !r->missing) {
			toolgraph_add_dep(t, e->valuestring);
			continue;
		}
		if (r->stamp == stamp)
			continue;
		r->stamp = stamp;
		if (toolgraph_turbo_deps(ctx, refs, n, toolgraph_get(r->task,
		    "dependencies"), stamp, t) != 0)
			return (-1);
	}
	return (0);
}

/* A string member that must be there and not empty, or NULL. */
static const char *
toolgraph_turbo_string(struct toolgraph_ctx *ctx, const cJSON *task,
    const char *field)
{
	const cJSON	*v;

	v = toolgraph_get(task, field);
	if (!cJSON_IsString(v) || *v->valuestring == '\0') {
		toolgraph_error(ctx, "\"%s\": expected a string, got %s",
		    field, toolgraph_type(v));
		return (NULL);
	}
	return (v->valuestring);
}

/* Fill t from one element of a Turborepo dry run's tasks[]. */
static int
toolgraph_turbo_task(struct toolgraph_ctx *ctx, struct toolgraph_ref *refs,
    size_t n, const cJSON *e, size_t stamp, struct task *t)
{
	const cJSON		*v, *a;
	const char		*name, *pkg, *dir = NULL;
	struct toolgraph_buf	 cmd;
	char			*filter;

	if ((name = toolgraph_turbo_string(ctx, e, "task")) == NULL ||
	    (pkg = toolgraph_turbo_string(ctx, e, "package")) == NULL)
		return (-1);
	v = toolgraph_get(toolgraph_get(e, "resolvedTaskDefinition"),
	    "persistent");
	if (cJSON_IsTrue(v)) {
		return (toolgraph_error(ctx, "is a persistent task (a server "
		    "or watcher that never ends); dteq runs tasks that finish "
		    "and cannot keep one running for other agents: leave it "
		    "out of the run"));
	}
	if (cJSON_IsString(v = toolgraph_get(e, "directory")))
		dir = v->valuestring;

	t->id = xstrdup(ctx->id);
	t->target = xstrdup(name);
	t->retries = -1;
	memset(&cmd, 0, sizeof cmd);
	toolgraph_adds(&cmd, toolgraph_runner(TOOLGRAPH_TURBO));
	toolgraph_adds(&cmd, " run ");
	toolgraph_quote(&cmd, name);
	toolgraph_adds(&cmd, " ");
	xasprintf(&filter, "--filter=%s", pkg);
	toolgraph_quote(&cmd, filter);
	free(filter);
	if (!ctx->restore)
		toolgraph_adds(&cmd, " --only");
	a = toolgraph_get(e, "cliArguments");
	if (cJSON_IsArray(a) && a->child != NULL) {
		toolgraph_adds(&cmd, " --");
		for (v = a->child; v != NULL; v = v->next) {
			if (!cJSON_IsString(v))
				continue;
			toolgraph_adds(&cmd, " ");
			toolgraph_quote(&cmd, v->valuestring);
		}
	}
	t->command = cmd.s;
	if (toolgraph_strings(ctx, toolgraph_get(e, "outputs"), "outputs",
	    dir, &t->outputs, &t->noutputs) != 0)
		return (-1);
	/*
	 * Without --only, a dependent's own `turbo run` restores this
	 * task's outputs (turbo's hash of a task holds those of the
	 * dependencies in its run, so no other command would hit the same
	 * cache entry): its agent lets one such task at a time restore.
	 */
	t->restore_inline = ctx->restore && t->noutputs > 0;
	return (toolgraph_turbo_deps(ctx, refs, n, toolgraph_get(e,
	    "dependencies"), stamp, t));
}

/* Index the tasks[] of a Turborepo dry run; -1 on a task with no id. */
static int
toolgraph_turbo_index(struct toolgraph_ctx *ctx, const cJSON *tasks,
    struct toolgraph_ref **refs, size_t *n)
{
	const cJSON	*e, *v;
	size_t		 i = 0;

	*n = (size_t)cJSON_GetArraySize(tasks);
	*refs = xcalloc(*n, sizeof **refs);
	for (e = tasks->child; e != NULL; e = e->next, i++) {
		v = toolgraph_get(e, "taskId");
		if (!cJSON_IsObject(e) || !cJSON_IsString(v) ||
		    *v->valuestring == '\0' ||
		    strpbrk(v->valuestring, "\n\r\t") != NULL) {
			return (toolgraph_error(ctx, "task #%zu has no usable "
			    "\"taskId\"", i + 1));
		}
		(*refs)[i].id = v->valuestring;
		(*refs)[i].task = e;
		v = toolgraph_get(e, "command");
		(*refs)[i].missing = cJSON_IsString(v) &&
		    strcmp(v->valuestring, TOOLGRAPH_NONEXISTENT) == 0;
		(*refs)[i].stamp = (size_t)-1;
	}
	qsort(*refs, *n, sizeof **refs, toolgraph_ref_cmp);
	return (0);
}

/* Read a Turborepo dry run (turbo run ... --dry=json) into ts. */
static int
toolgraph_turbo(struct toolgraph_ctx *ctx, const cJSON *root,
    struct taskset *ts)
{
	const cJSON		*tasks, *v, *e;
	struct toolgraph_ref	*refs = NULL, *r;
	size_t			 n, i;
	int			 rc = -1;

	ctx->kind = "Turborepo dry run";
	if (toolgraph_deps_mode(ctx) != 0)
		return (-1);
	if (cJSON_IsString(v = toolgraph_get(root, "turboVersion")) &&
	    toolgraph_check_version(TOOLGRAPH_TURBO, v->valuestring,
	    "which wrote the graph", ctx->cause) != 0)
		return (-1);
	tasks = toolgraph_get(root, "tasks");
	if (!cJSON_IsArray(tasks)) {
		return (toolgraph_error(ctx, "\"tasks\": expected an array, "
		    "got %s", toolgraph_type(tasks)));
	}
	if (toolgraph_turbo_index(ctx, tasks, &refs, &n) != 0)
		goto out;
	ts->ntasks = 0;
	ts->tasks = xcalloc(n, sizeof *ts->tasks);
	for (e = tasks->child, i = 0; e != NULL; e = e->next, i++) {
		ctx->id = toolgraph_get(e, "taskId")->valuestring;
		r = toolgraph_ref_find(refs, n, ctx->id);
		if (r->missing)
			continue;
		if (toolgraph_turbo_task(ctx, refs, n, e, i,
		    &ts->tasks[ts->ntasks++]) != 0)
			goto out;
	}
	ctx->id = NULL;
	rc = 0;
out:
	free(refs);
	return (rc);
}

/* Report where a graph stops being JSON; returns -1. */
static int
toolgraph_json_error(struct toolgraph_ctx *ctx, const char *buf, size_t len,
    size_t off)
{
	size_t	i, line = 1, col = 1, blank = 0;

	while (blank < len && strchr(" \t\r\n", buf[blank]) != NULL &&
	    buf[blank] != '\0')
		blank++;
	if (blank == len)
		return (toolgraph_error(ctx, "empty: no JSON"));
	for (i = 0; i < off && i < len; i++) {
		col++;
		if (buf[i] == '\n') {
			line++;
			col = 1;
		}
	}
	return (toolgraph_error(ctx, "invalid JSON at line %zu, column %zu",
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
	struct toolgraph_ctx	 ctx;
	cJSON			*root;
	size_t			 off;
	int			 kind, rc = -1;

	memset(ts, 0, sizeof *ts);
	memset(&ctx, 0, sizeof ctx);
	ctx.name = name == NULL || strcmp(name, "-") == 0 ? "<stdin>" : name;
	ctx.kind = "task graph";
	ctx.cause = cause;
	if (memchr(buf, '\0', len) != NULL)
		return (toolgraph_error(&ctx, "holds a NUL byte: not JSON"));
	if ((root = toolgraph_json(buf, len, &off)) == NULL)
		return (toolgraph_json_error(&ctx, buf, len, off));
	switch (kind = toolgraph_detect_json(root)) {
	case TOOLGRAPH_NX:
		if ((rc = toolgraph_check_installed(TOOLGRAPH_NX, cause)) == 0)
			rc = toolgraph_nx(&ctx, root, ts);
		break;
	case TOOLGRAPH_TURBO:
		rc = toolgraph_turbo(&ctx, root, ts);
		break;
	case TOOLGRAPH_DTEQ:
		rc = taskfile_parse(buf, len, name, ts, cause);
		break;
	case TOOLGRAPH_NX_PROJECTS:
		toolgraph_error(&ctx, "this is Nx's project graph, which has "
		    "no tasks: write the task graph with `nx run-many -t "
		    "TARGET --graph=FILE.json` (or nx affected)");
		break;
	default:
		toolgraph_error(&ctx, "not a task graph: expected one written "
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
toolgraph_drain(int fd, struct toolgraph_buf *b)
{
	char	buf[65536];
	ssize_t	n;

	n = read(fd, buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return (0);
	if (n <= 0)
		return (1);
	toolgraph_add(b, buf, (size_t)n);
	return (0);
}

/*
 * Run argv with stdin from /dev/null, its stdout into out and its stderr
 * into err (or into out as well when err is NULL), and wait for it.
 * *status is its exit code, 128 + the signal if one killed it, 127 if it
 * could not be run (with a message in its output). -1 with *cause if no
 * process could be started. Reading stops once the tool has exited and
 * its pipes are quiet, even if a process it left behind (a daemon) still
 * holds them open.
 */
static int
toolgraph_exec(char **argv, struct toolgraph_buf *out,
    struct toolgraph_buf *err, int *status, char **cause)
{
	struct pollfd	 pfd[2];
	int		 op[2], ep[2] = { -1, -1 }, null, st, nfd = 0, i, n;
	int		 exited = 0;
	pid_t		 pid;
	char		*msg;

	toolgraph_add(out, "", 0);
	if (err != NULL)
		toolgraph_add(err, "", 0);
	if (pipe2(op, O_CLOEXEC) != 0)
		fatal("%s: pipe", __func__);
	if (err != NULL && pipe2(ep, O_CLOEXEC) != 0)
		fatal("%s: pipe", __func__);
	xasprintf(&msg, "dteq: cannot run %s (is it installed and on "
	    "PATH?)\n", argv[0]);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		free(msg);
		close(op[0]);
		close(op[1]);
		if (err != NULL) {
			close(ep[0]);
			close(ep[1]);
		}
		return (-1);
	}
	if (pid == 0) {
		if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, STDIN_FILENO);
		dup2(op[1], STDOUT_FILENO);
		dup2(err != NULL ? ep[1] : op[1], STDERR_FILENO);
		execvp(argv[0], argv);
		if (write(STDERR_FILENO, msg, strlen(msg)) == -1)
			_exit(127);
		_exit(127);
	}
	free(msg);
	close(op[1]);
	pfd[nfd].fd = op[0];
	pfd[nfd++].events = POLLIN;
	if (err != NULL) {
		close(ep[1]);
		pfd[nfd].fd = ep[0];
		pfd[nfd++].events = POLLIN;
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
			if (toolgraph_drain(pfd[i].fd, i == 0 ? out : err)) {
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
	while (!exited && waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			fatal("%s: waitpid", __func__);
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return (0);
}

/* The last TOOLGRAPH_SHOW_MAX bytes of the tool's output, for a message. */
static const char *
toolgraph_tail(const struct toolgraph_buf *b)
{
	const char	*s;

	if (b->s == NULL)
		return ("");
	if (b->len <= TOOLGRAPH_SHOW_MAX)
		return (b->s);
	s = b->s + b->len - TOOLGRAPH_SHOW_MAX;
	if ((s = strchr(s, '\n')) == NULL)
		return (b->s + b->len - TOOLGRAPH_SHOW_MAX);
	return (s + 1);
}

/* Find --parallel N / --concurrency N in the tool's words; 0: none. */
static int
toolgraph_parallel(int tool, char **words, size_t n)
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
toolgraph_argv(int tool, const char *args, const char *file, char ***argv,
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
		    toolgraph_tool_name(tool), tool == TOOLGRAPH_NX ?
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
	*parallel = toolgraph_parallel(tool, user, nuser);
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
toolgraph_cmdline(char **argv, size_t argc)
{
	struct toolgraph_buf	b;
	size_t			i;

	memset(&b, 0, sizeof b);
	for (i = 0; i < argc; i++) {
		if (i > 0)
			toolgraph_adds(&b, " ");
		toolgraph_quote(&b, argv[i]);
	}
	return (b.s);
}

/*
 * Run the tool (TOOLGRAPH_NX or TOOLGRAPH_TURBO) with the user's args
 * (one string, split as sh would) to get its task graph, and read that
 * into ts. *parallel is the --parallel (Nx) or --concurrency (Turborepo)
 * found in args, 0 if none. On error -1 with *cause set: a tool too old
 * or that failed is reported with its own output.
 */
int
toolgraph_run(int tool, const char *args, struct taskset *ts, int *parallel,
    char **cause)
{
	struct toolgraph_buf	 out, err;
	char			 file[PATH_MAX], **argv = NULL, *line = NULL;
	char			*graph = NULL;
	const char		*tmp;
	size_t			 argc = 0, len;
	int			 fd = -1, status, rc = -1;

	memset(ts, 0, sizeof *ts);
	memset(&out, 0, sizeof out);
	memset(&err, 0, sizeof err);
	*parallel = 0;
	file[0] = '\0';
	if (toolgraph_check_installed(tool, cause) != 0)
		return (-1);
	if (tool == TOOLGRAPH_NX) {
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
			tmp = "/tmp";
		snprintf(file, sizeof file, "%s/dteq-nx-graph.XXXXXX.json",
		    tmp);
		if ((fd = mkstemps(file, 5)) == -1) {
			xasprintf(cause, "%s: %s", file, strerror(errno));
			return (-1);
		}
		close(fd);
	}
	if (toolgraph_argv(tool, args, file, &argv, &argc, parallel,
	    cause) != 0)
		goto out;
	line = toolgraph_cmdline(argv, argc);
	log_info("getting the task graph: %s", line);
	if (toolgraph_exec(argv, &out, tool == TOOLGRAPH_NX ? NULL : &err,
	    &status, cause) != 0)
		goto out;
	if (status != 0) {
		xasprintf(cause, "`%s` failed (exit %d)%s\n%s%s", line, status,
		    status == 127 ? ": is the tool installed?" : "",
		    toolgraph_tail(&out), toolgraph_tail(&err));
		goto out;
	}
	log_debug("%s: the tool said:\n%s%s", __func__, out.s, err.s);
	if (tool == TOOLGRAPH_NX) {
		if (util_read_file(file, &graph, &len, cause) != 0)
			goto out;
		rc = toolgraph_parse(graph, len, line, ts, cause);
	} else
		rc = toolgraph_parse(out.s, out.len, line, ts, cause);
	if (rc == 0 && toolgraph_detect(tool == TOOLGRAPH_NX ? graph : out.s,
	    tool == TOOLGRAPH_NX ? len : out.len) != tool) {
		taskset_free(ts);
		xasprintf(cause, "`%s` wrote no %s task graph", line,
		    toolgraph_tool_name(tool));
		rc = -1;
	}

out:
	if (file[0] != '\0')
		unlink(file);
	toolgraph_words_free(argv, argc);
	free(graph);
	free(line);
	free(out.s);
	free(err.s);
	return (rc);
}
