/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Nx's task graph (`nx run-many|affected ... --graph=FILE.json`) into a
 * taskset. Each task of tasks.tasks becomes one:
 *
 *	id	 project:target[:configuration], the key
 *	deps	 tasks.dependencies (strings, or {"id": ...} objects as Nx 24
 *		 writes them)
 *	outputs	 the task's
 *	command	 `"${DTEQ_BIN:-dteq}" nx-task [--overrides=JSON] ID`: the
 *		 agent's long-lived Nx runs it (cmd/nxtask.c), hashed with its
 *		 whole task graph as the full run hashes it, the overrides
 *		 those of the graph; or, with DTEQ_NX_RUNNER=off, `RUNNER run
 *		 ID --excludeTaskDependencies [overrides]`, a new Nx per task
 *		 whose hash differs from the full run's when the task's inputs
 *		 take in its dependencies' outputs. NX_ISOLATE_PLUGINS=false is
 *		 in its environment unless set: plugins load in Nx's process.
 *
 * Continuous tasks, such as dev servers, and tasks that depend on one are
 * refused with an error naming them: they never finish, and an agent
 * cannot keep one running for a dependent on another machine.
 *
 * A task never runs its dependencies: an Nx that restored a task's
 * dependencies itself deleted and copied their outputs again while
 * another task on the same checkout read them. Instead, by default
 * (DTEQ_TOOL_DEPS=restore), each Nx task with outputs carries a restore:
 * before a task runs, its agent fetches the outputs of the dependencies
 * its checkout lacks from the remote cache dteq work serves (they ran
 * elsewhere), once per checkout and one restore at a time, all of one
 * template in one command (worker/restore.c). The template is
 * `"${DTEQ_BIN:-dteq}" nx-task --quiet {}` with `[--overrides=JSON] ID`
 * for its "{}" (the list comes in dependency order, so each task's
 * dependencies are there when it is hashed), or, with DTEQ_NX_RUNNER=off,
 * `RUNNER run-many -t TARGET [-c CONFIGURATION] --excludeTaskDependencies
 * {} [overrides]` with --projects=PROJECT. DTEQ_TOOL_DEPS=exclude gives
 * no restores.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tools.h"

/*
 * Append an Nx task's overrides (what followed the targets on the command
 * line, for example `-- --coverage`) as arguments: the raw words Nx kept
 * in __overrides_unparsed__, or else --name=value for each parsed one.
 */
static int
nx_overrides(struct tool_ctx *ctx, const cJSON *o,
    struct tool_buf *cmd)
{
	const cJSON	*raw, *e;
	char		*arg;

	if (o == NULL || cJSON_IsNull(o))
		return (0);
	if (!cJSON_IsObject(o)) {
		return (tool_error(ctx, "\"overrides\": expected an "
		    "object, got %s", taskfile_type(o)));
	}
	if ((raw = tool_get(o, "__overrides_unparsed__")) != NULL) {
		if (!cJSON_IsArray(raw))
			return (tool_error(ctx, "\"overrides\": "
			    "__overrides_unparsed__ is not an array"));
		for (e = raw->child; e != NULL; e = e->next) {
			if (!cJSON_IsString(e))
				return (tool_error(ctx, "\"overrides\": "
				    "__overrides_unparsed__ holds %s",
				    taskfile_type(e)));
			tool_adds(cmd, " ");
			tool_quote(cmd, e->valuestring);
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
			return (tool_error(ctx, "\"overrides\": \"%s\" is "
			    "%s; pass it after -- so Nx keeps it unparsed",
			    e->string, taskfile_type(e)));
		}
		tool_adds(cmd, " ");
		tool_quote(cmd, arg);
		free(arg);
	}
	return (0);
}

/* Copy an Nx task's deps: ids as strings or as {"id": ...} objects. */
static int
nx_deps(struct tool_ctx *ctx, const cJSON *v, struct task *t)
{
	const cJSON	*e, *id;

	if (v == NULL)
		return (0);
	if (!cJSON_IsArray(v)) {
		return (tool_error(ctx, "tasks.dependencies: expected an "
		    "array, got %s", taskfile_type(v)));
	}
	for (e = v->child; e != NULL; e = e->next) {
		id = cJSON_IsObject(e) ? tool_get(e, "id") : e;
		if (!cJSON_IsString(id) || *id->valuestring == '\0') {
			return (tool_error(ctx, "tasks.dependencies: an "
			    "element is %s, not a task id or {\"id\": ...}",
			    taskfile_type(e)));
		}
		tool_add_dep(t, id->valuestring);
	}
	return (0);
}

/* The first id a continuousDependencies entry names, or NULL. */
static const char *
nx_continuous(const cJSON *v)
{
	const cJSON	*e, *id;

	if (!cJSON_IsArray(v))
		return (NULL);
	for (e = v->child; e != NULL; e = e->next) {
		id = cJSON_IsObject(e) ? tool_get(e, "id") : e;
		if (cJSON_IsString(id))
			return (id->valuestring);
		return ("?");
	}
	return (NULL);
}

/* The runner's command: `"${DTEQ_BIN:-dteq}" nx-task`. */
#define NX_TASK_COMMAND	"\"${DTEQ_BIN:-dteq}\" nx-task"

/* DTEQ_NX_RUNNER: on (the default) or off; -1 with the error. */
static int
nx_runner_mode(struct tool_ctx *ctx)
{
	const char	*mode;

	if ((mode = cli_env("DTEQ_NX_RUNNER")) == NULL ||
	    strcmp(mode, "on") == 0)
		return (1);
	if (strcmp(mode, "off") == 0)
		return (0);
	return (tool_error(ctx, "DTEQ_NX_RUNNER is \"%s\", not on or off",
	    mode));
}

/*
 * `[--overrides=JSON ]ID`, quoted for sh: the words `dteq nx-task` takes
 * for one task. Overrides that are none (absent, null, {}, or nothing but
 * an empty __overrides_unparsed__) are left out. -1 if they are no object.
 */
static int
nx_task_words(struct tool_ctx *ctx, const cJSON *o, const char *id,
    struct tool_buf *b)
{
	const cJSON	*raw;
	char		*json, *arg;

	if (o != NULL && !cJSON_IsNull(o)) {
		if (!cJSON_IsObject(o)) {
			return (tool_error(ctx, "\"overrides\": expected an "
			    "object, got %s", taskfile_type(o)));
		}
		raw = tool_get(o, "__overrides_unparsed__");
		if (cJSON_GetArraySize(o) > (raw != NULL ? 1 : 0) ||
		    (raw != NULL && (!cJSON_IsArray(raw) ||
		    cJSON_GetArraySize(raw) != 0))) {
			if ((json = cJSON_PrintUnformatted(o)) == NULL)
				fatalx("%s: out of memory", __func__);
			xasprintf(&arg, "--overrides=%s", json);
			cJSON_free(json);
			tool_quote(b, arg);
			tool_adds(b, " ");
			free(arg);
		}
	}
	tool_quote(b, id);
	return (0);
}

/*
 * Set an Nx task's restore for the runner: the template `"${DTEQ_BIN:-dteq}"
 * nx-task --quiet {}`, the task's own words for its "{}".
 */
static int
nx_runner_restore(struct tool_ctx *ctx, const cJSON *e, struct task *t)
{
	struct tool_buf	b;

	memset(&b, 0, sizeof b);
	if (nx_task_words(ctx, tool_get(e, "overrides"), t->id, &b) != 0) {
		free(b.s);
		return (-1);
	}
	t->restore_arg = b.s;
	t->restore = xstrdup(NX_TASK_COMMAND " --quiet {}");
	return (0);
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
nx_restore(struct tool_ctx *ctx, const cJSON *e,
    const cJSON *target, struct task *t)
{
	const cJSON	*v;
	struct tool_buf	 b;
	char		*arg;
	int		 rc;

	v = tool_get(target, "project");
	if (cJSON_IsString(v) && *v->valuestring != '\0')
		xasprintf(&arg, "--projects=%s", v->valuestring);
	else if (*t->id != ':') {
		xasprintf(&arg, "--projects=%.*s", (int)strcspn(t->id, ":"),
		    t->id);
	} else {
		return (tool_error(ctx, "\"target\": no \"project\", "
		    "and the id names none"));
	}
	memset(&b, 0, sizeof b);
	tool_quote(&b, arg);
	free(arg);
	t->restore_arg = b.s;

	memset(&b, 0, sizeof b);
	tool_adds(&b, toolgraph_runner(TOOLGRAPH_NX));
	tool_adds(&b, " run-many -t ");
	tool_quote(&b, t->target);
	v = tool_get(target, "configuration");
	if (cJSON_IsString(v) && *v->valuestring != '\0') {
		tool_adds(&b, " -c ");
		tool_quote(&b, v->valuestring);
	}
	tool_adds(&b, " --excludeTaskDependencies ");
	if (strstr(b.s, "{}") != NULL) {
		tool_adds(&b, t->restore_arg);
		free(t->restore_arg);
		t->restore_arg = NULL;
	} else
		tool_adds(&b, "{}");
	rc = nx_overrides(ctx, tool_get(e, "overrides"), &b);
	t->restore = b.s;
	return (rc);
}

/* Add NAME=VALUE to t's environment. */
static void
nx_env(struct task *t, const char *name, const char *value)
{
	t->env = xreallocarray(t->env, t->nenv + 1, sizeof *t->env);
	t->env[t->nenv].name = xstrdup(name);
	t->env[t->nenv].value = xstrdup(value);
	t->nenv++;
}

/* Fill t from one member of an Nx graph's tasks.tasks. */
static int
nx_task(struct tool_ctx *ctx, const cJSON *e,
    const cJSON *tasks, struct task *t)
{
	const cJSON	*v, *target, *name;
	const char	*cont;
	struct tool_buf	 cmd;
	int		 rc;

	ctx->id = e->string;
	if (!cJSON_IsObject(e))
		return (tool_error(ctx, "expected an object, got %s",
		    taskfile_type(e)));
	if (*e->string == '\0' || strpbrk(e->string, "\n\r\t") != NULL)
		return (tool_error(ctx, "not a usable task id"));
	v = tool_get(e, "id");
	if (v != NULL && (!cJSON_IsString(v) ||
	    strcmp(v->valuestring, e->string) != 0))
		return (tool_error(ctx, "\"id\" does not match the key"));
	if (cJSON_IsTrue(tool_get(e, "continuous"))) {
		return (tool_error(ctx, "is a continuous task (a server "
		    "or watcher that never ends); dteq runs tasks that finish "
		    "and cannot keep one running for other agents: leave its "
		    "target out, or start it inside the target that needs "
		    "it"));
	}
	v = tool_get(tool_get(tasks, "continuousDependencies"),
	    e->string);
	if ((cont = nx_continuous(v)) != NULL) {
		return (tool_error(ctx, "depends on the continuous task "
		    "\"%s\" (continuousDependencies); dteq cannot keep a "
		    "continuous task running for its dependents on other "
		    "agents: start it inside this target instead", cont));
	}
	target = tool_get(e, "target");
	name = tool_get(target, "target");
	if (!cJSON_IsString(name) || *name->valuestring == '\0') {
		return (tool_error(ctx, "\"target\": expected an object "
		    "with a \"target\" name, got %s", taskfile_type(
		    cJSON_IsObject(target) ? name : target)));
	}

	t->id = xstrdup(e->string);
	t->target = xstrdup(name->valuestring);
	t->retries = -1;
	memset(&cmd, 0, sizeof cmd);
	if (ctx->nx_runner) {
		tool_adds(&cmd, NX_TASK_COMMAND " ");
		rc = nx_task_words(ctx, tool_get(e, "overrides"), t->id, &cmd);
	} else {
		tool_adds(&cmd, toolgraph_runner(TOOLGRAPH_NX));
		tool_adds(&cmd, " run ");
		tool_quote(&cmd, t->id);
		tool_adds(&cmd, " --excludeTaskDependencies");
		rc = nx_overrides(ctx, tool_get(e, "overrides"), &cmd);
	}
	t->command = cmd.s;
	if (rc != 0)
		return (-1);
	/*
	 * Plugins in Nx's own process: isolating them costs each Nx about
	 * half a second (bench/nx_overhead.sh).
	 */
	if (getenv("NX_ISOLATE_PLUGINS") == NULL)
		nx_env(t, "NX_ISOLATE_PLUGINS", "false");
	/* How dteq nx-task runs an Nx without the runner, as submit says. */
	if (ctx->nx_runner && cli_env("DTEQ_NX_COMMAND") != NULL)
		nx_env(t, "DTEQ_NX_COMMAND", cli_env("DTEQ_NX_COMMAND"));
	if (tool_strings(ctx, tool_get(e, "outputs"), "outputs",
	    NULL, &t->outputs, &t->noutputs) != 0)
		return (-1);
	/* A task without outputs (lint, most tests) has nothing to bring. */
	if (ctx->restore && t->noutputs > 0 && (ctx->nx_runner ?
	    nx_runner_restore(ctx, e, t) : nx_restore(ctx, e, target, t)) != 0)
		return (-1);
	return (nx_deps(ctx, tool_get(tool_get(tasks,
	    "dependencies"), e->string), t));
}

/* Read an Nx task graph (root of --graph=FILE.json) into ts. */
int
nx_parse(struct tool_ctx *ctx, const cJSON *root,
    struct taskset *ts)
{
	const cJSON	*tasks, *all, *e, *deps;

	ctx->kind = "Nx task graph";
	if (tool_deps_mode(ctx) != 0 ||
	    (ctx->nx_runner = nx_runner_mode(ctx)) == -1)
		return (-1);
	tasks = tool_get(root, "tasks");
	all = tool_get(tasks, "tasks");
	deps = tool_get(tasks, "dependencies");
	if (deps != NULL && !cJSON_IsObject(deps)) {
		return (tool_error(ctx, "tasks.dependencies: expected an "
		    "object, got %s", taskfile_type(deps)));
	}
	ts->ntasks = 0;
	ts->tasks = xcalloc(cJSON_GetArraySize(all), sizeof *ts->tasks);
	for (e = all->child; e != NULL; e = e->next) {
		if (nx_task(ctx, e, tasks,
		    &ts->tasks[ts->ntasks++]) != 0)
			return (-1);
	}
	ctx->id = NULL;
	return (0);
}
