/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Turborepo's dry run (`turbo run ... --dry=json`) into a taskset. Each
 * element of tasks[] becomes one:
 *
 *	id	 pkg#task (taskId)
 *	deps	 dependencies
 *	outputs	 the task's, under the package's directory
 *	command	 `RUNNER run TASK --filter=PKG [--only] [-- args]`
 *	hash	 hash, with DTEQ_TOOL_DEPS=restore, unless the task is not
 *		 cacheable
 *	cache_as hash, with DTEQ_TOOL_DEPS=exclude, unless the task is not
 *		 cacheable
 *
 * Persistent tasks, such as dev servers, are refused with an error naming
 * them: they never finish, and an agent cannot keep one running for a
 * dependent on another machine. Turborepo lists tasks of packages that
 * lack the script ("<NONEXISTENT>"); they are left out and their
 * dependents inherit their dependencies.
 *
 * By default (DTEQ_TOOL_DEPS=restore) the commands leave --only out, so
 * turbo on the agent restores the dependencies' outputs itself from the
 * remote cache: a Turborepo task with outputs is restored inline, and an
 * agent runs one task at a time that has such dependencies missing.
 * DTEQ_TOOL_DEPS=exclude keeps --only, for agents that share one file
 * system.
 *
 * The dry run's hash of a task is the key under which the agent's `turbo
 * run` stores the task in the remote cache when it runs the task with
 * its dependencies, as restore mode does. With --only, Turborepo hashes
 * a task without its dependencies' hashes: its key would be another one,
 * which a later full `turbo run` (the main job's replay) never asks for,
 * and which stays the same when only a dependency changed, so that a
 * cache read under it could bring back stale outputs. In exclude mode the
 * dry run's hash is therefore the task's cache_as: the agent points that
 * task's turbo at its cache under /key/HASH (worker/env.c), and the one
 * artifact that turbo reads or writes there is the dry run's hash's
 * (cache/cache.c). Only in restore mode do the dependents' own commands
 * bring a task's outputs from the cache, so the hash, which lets submit
 * skip a task already in the cache, is given in restore mode alone.
 */

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tools.h"

#define TURBO_NONEXISTENT	"<NONEXISTENT>"

/* A Turborepo task id and its place in tasks[], sorted for bsearch. */
struct turbo_ref {
	const char	*id;
	const cJSON	*task;
	int		 missing;	/* command <NONEXISTENT> */
	size_t		 stamp;		/* last visit while splicing */
};

/* Order Turborepo refs by id. */
static int
turbo_ref_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct turbo_ref *)a)->id,
	    ((const struct turbo_ref *)b)->id));
}

/* Find a Turborepo task by id, or NULL. */
static struct turbo_ref *
turbo_ref_find(struct turbo_ref *refs, size_t n, const char *id)
{
	struct turbo_ref	key;

	memset(&key, 0, sizeof key);
	key.id = id;
	return (bsearch(&key, refs, n, sizeof *refs, turbo_ref_cmp));
}

/*
 * Add the deps of a Turborepo task, looking through the tasks that were
 * left out (no such script): their own deps are added instead. stamp marks
 * the refs seen for this task, so each is visited once.
 */
static int
turbo_deps(struct tool_ctx *ctx, struct turbo_ref *refs,
    size_t n, const cJSON *deps, size_t stamp, struct task *t)
{
	const cJSON		*e;
	struct turbo_ref	*r;

	if (deps == NULL || cJSON_IsNull(deps))
		return (0);
	if (!cJSON_IsArray(deps)) {
		return (tool_error(ctx, "\"dependencies\": expected an "
		    "array, got %s", taskfile_type(deps)));
	}
	for (e = deps->child; e != NULL; e = e->next) {
		if (!cJSON_IsString(e) || *e->valuestring == '\0') {
			return (tool_error(ctx, "\"dependencies\": an "
			    "element is %s, not a task id",
			    taskfile_type(e)));
		}
		if ((r = turbo_ref_find(refs, n, e->valuestring)) == NULL ||
		    !r->missing) {
			tool_add_dep(t, e->valuestring);
			continue;
		}
		if (r->stamp == stamp)
			continue;
		r->stamp = stamp;
		if (turbo_deps(ctx, refs, n, tool_get(r->task,
		    "dependencies"), stamp, t) != 0)
			return (-1);
	}
	return (0);
}

/* A string member that must be there and not empty, or NULL. */
static const char *
turbo_string(struct tool_ctx *ctx, const cJSON *task,
    const char *field)
{
	const cJSON	*v;

	v = tool_get(task, field);
	if (!cJSON_IsString(v) || *v->valuestring == '\0') {
		tool_error(ctx, "\"%s\": expected a string, got %s",
		    field, taskfile_type(v));
		return (NULL);
	}
	return (v->valuestring);
}

/* Fill t from one element of a Turborepo dry run's tasks[]. */
static int
turbo_task(struct tool_ctx *ctx, struct turbo_ref *refs,
    size_t n, const cJSON *e, size_t stamp, struct task *t)
{
	const cJSON	*v, *a;
	const char	*name, *pkg, *dir = NULL;
	struct tool_buf	 cmd;
	char		*filter;

	if ((name = turbo_string(ctx, e, "task")) == NULL ||
	    (pkg = turbo_string(ctx, e, "package")) == NULL)
		return (-1);
	v = tool_get(tool_get(e, "resolvedTaskDefinition"),
	    "persistent");
	if (cJSON_IsTrue(v)) {
		return (tool_error(ctx, "is a persistent task (a server "
		    "or watcher that never ends); dteq runs tasks that finish "
		    "and cannot keep one running for other agents: leave it "
		    "out of the run"));
	}
	if (cJSON_IsString(v = tool_get(e, "directory")))
		dir = v->valuestring;

	t->id = xstrdup(ctx->id);
	t->target = xstrdup(name);
	t->retries = -1;
	memset(&cmd, 0, sizeof cmd);
	tool_adds(&cmd, toolgraph_runner(TOOLGRAPH_TURBO));
	tool_adds(&cmd, " run ");
	tool_quote(&cmd, name);
	tool_adds(&cmd, " ");
	xasprintf(&filter, "--filter=%s", pkg);
	tool_quote(&cmd, filter);
	free(filter);
	if (!ctx->restore)
		tool_adds(&cmd, " --only");
	a = tool_get(e, "cliArguments");
	if (cJSON_IsArray(a) && a->child != NULL) {
		tool_adds(&cmd, " --");
		for (v = a->child; v != NULL; v = v->next) {
			if (!cJSON_IsString(v))
				continue;
			tool_adds(&cmd, " ");
			tool_quote(&cmd, v->valuestring);
		}
	}
	t->command = cmd.s;
	if (tool_strings(ctx, tool_get(e, "outputs"), "outputs",
	    dir, &t->outputs, &t->noutputs) != 0)
		return (-1);
	/*
	 * Without --only, a dependent's own `turbo run` restores this
	 * task's outputs (turbo's hash of a task holds those of the
	 * dependencies in its run, so no other command would hit the same
	 * cache entry): its agent lets one such task at a time restore.
	 */
	t->restore_inline = ctx->restore && t->noutputs > 0;
	v = tool_get(e, "hash");
	if (cJSON_IsString(v) && task_hash_valid(v->valuestring) &&
	    !cJSON_IsFalse(tool_get(tool_get(e, "resolvedTaskDefinition"),
	    "cache"))) {
		if (ctx->restore)
			t->hash = xstrdup(v->valuestring);
		else
			t->cache_as = xstrdup(v->valuestring);
	}
	return (turbo_deps(ctx, refs, n, tool_get(e,
	    "dependencies"), stamp, t));
}

/* Index the tasks[] of a Turborepo dry run; -1 on a task with no id. */
static int
turbo_index(struct tool_ctx *ctx, const cJSON *tasks,
    struct turbo_ref **refs, size_t *n)
{
	const cJSON	*e, *v;
	size_t		 i = 0;

	*n = (size_t)cJSON_GetArraySize(tasks);
	*refs = xcalloc(*n, sizeof **refs);
	for (e = tasks->child; e != NULL; e = e->next, i++) {
		v = tool_get(e, "taskId");
		if (!cJSON_IsObject(e) || !cJSON_IsString(v) ||
		    *v->valuestring == '\0' ||
		    strpbrk(v->valuestring, "\n\r\t") != NULL) {
			return (tool_error(ctx, "task #%zu has no usable "
			    "\"taskId\"", i + 1));
		}
		(*refs)[i].id = v->valuestring;
		(*refs)[i].task = e;
		v = tool_get(e, "command");
		(*refs)[i].missing = cJSON_IsString(v) &&
		    strcmp(v->valuestring, TURBO_NONEXISTENT) == 0;
		(*refs)[i].stamp = (size_t)-1;
	}
	qsort(*refs, *n, sizeof **refs, turbo_ref_cmp);
	return (0);
}

/* Read a Turborepo dry run (turbo run ... --dry=json) into ts. */
int
turbo_parse(struct tool_ctx *ctx, const cJSON *root,
    struct taskset *ts)
{
	const cJSON		*tasks, *v, *e;
	struct turbo_ref	*refs = NULL, *r;
	size_t			 n, i;
	int			 rc = -1;

	ctx->kind = "Turborepo dry run";
	if (tool_deps_mode(ctx) != 0)
		return (-1);
	if (cJSON_IsString(v = tool_get(root, "turboVersion")) &&
	    tool_check_version(TOOLGRAPH_TURBO, v->valuestring,
	    "which wrote the graph", ctx->cause) != 0)
		return (-1);
	tasks = tool_get(root, "tasks");
	if (!cJSON_IsArray(tasks)) {
		return (tool_error(ctx, "\"tasks\": expected an array, "
		    "got %s", taskfile_type(tasks)));
	}
	if (turbo_index(ctx, tasks, &refs, &n) != 0)
		goto out;
	ts->ntasks = 0;
	ts->tasks = xcalloc(n, sizeof *ts->tasks);
	for (e = tasks->child, i = 0; e != NULL; e = e->next, i++) {
		ctx->id = tool_get(e, "taskId")->valuestring;
		r = turbo_ref_find(refs, n, ctx->id);
		if (r->missing)
			continue;
		if (turbo_task(ctx, refs, n, e, i,
		    &ts->tasks[ts->ntasks++]) != 0)
			goto out;
	}
	ctx->id = NULL;
	rc = 0;
out:
	free(refs);
	return (rc);
}
