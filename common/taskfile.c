/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The task file: dteq's own JSON description of the tasks of a run, read
 * into a struct taskset. This file owns that format and the struct task
 * helpers (task_clear, task_env_free, taskset_free, task_target_of).
 * tools/ reads the tools' graphs with its JSON helpers: taskfile_json(),
 * taskfile_type() and taskfile_position().
 *
 * taskfile_parse() checks the whole file before it hands anything back:
 *
 * 1. the bytes: not empty, no NUL byte;
 * 2. cJSON parses the text; a syntax error is reported as line:column;
 * 3. no string holds \u0000, which C strings would silently cut short;
 * 4. the top level is an object with exactly one field, "tasks", a
 *    non-empty array;
 * 5. each task is an object of known fields, each checked for type and
 *    range (taskfile_fields[]); unknown fields are errors.
 *
 * Every message names the file, the task (by id, or "task #N" counting
 * from 1 when it has no usable id) and the field. On any error what was
 * built is freed and the taskset is left empty. The checks that need the
 * whole set (duplicate ids, unknown deps, cycles) are graph.c's.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dteq.h"

#define TASKFILE_ID_MAX		512
#define TASKFILE_TIMEOUT_MAX	(7 * 24 * 3600)
#define TASKFILE_RETRIES_MAX	100
#define TASKFILE_NO_TASK	((size_t)-1)

/* Where the parser is, for error messages. */
struct taskfile_ctx {
	const char	*file;		/* name to print */
	size_t		 index;		/* from 0; TASKFILE_NO_TASK: none */
	const char	*id;		/* the task's id if usable, or NULL */
	const char	*field;		/* field being checked, or NULL */
	char	       **cause;
};

/* One known task field and the function that checks and copies it. */
struct taskfile_field {
	const char	*name;
	int		(*parse)(struct taskfile_ctx *, const cJSON *,
			    struct task *);
};

static int	taskfile_parse_id(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_command(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_deps(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_cwd(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_env(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_timeout(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_retries(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_outputs(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_target(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_restore(struct taskfile_ctx *, const cJSON *,
		    struct task *);
static int	taskfile_parse_hash(struct taskfile_ctx *, const cJSON *,
		    struct task *);

/* The fields of a task; id and command must be present. */
static const struct taskfile_field taskfile_fields[] = {
	{ "id", taskfile_parse_id },
	{ "command", taskfile_parse_command },
	{ "deps", taskfile_parse_deps },
	{ "cwd", taskfile_parse_cwd },
	{ "env", taskfile_parse_env },
	{ "timeout", taskfile_parse_timeout },
	{ "retries", taskfile_parse_retries },
	{ "outputs", taskfile_parse_outputs },
	{ "target", taskfile_parse_target },
	{ "restore", taskfile_parse_restore },
	{ "hash", taskfile_parse_hash },
};
#define TASKFILE_NFIELDS \
	(sizeof taskfile_fields / sizeof taskfile_fields[0])
#define TASKFILE_KNOWN \
	"id, command, deps, cwd, env, timeout, retries, outputs, target, " \
	"restore, hash"

/* Set *ctx->cause to "FILE: task ...: field ...: MESSAGE"; returns -1. */
static int __attribute__((format(printf, 2, 3)))
taskfile_error(struct taskfile_ctx *ctx, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *task = NULL, *field = NULL;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);

	if (ctx->index != TASKFILE_NO_TASK && ctx->id != NULL)
		xasprintf(&task, "task \"%s\": ", ctx->id);
	else if (ctx->index != TASKFILE_NO_TASK)
		xasprintf(&task, "task #%zu: ", ctx->index + 1);
	if (ctx->field != NULL)
		xasprintf(&field, "field \"%s\": ", ctx->field);
	xasprintf(ctx->cause, "%s: %s%s%s", ctx->file,
	    task != NULL ? task : "", field != NULL ? field : "", msg);

	free(field);
	free(task);
	free(msg);
	return (-1);
}

/*
 * Name the type of a JSON value for messages: "a number", "null", and
 * "missing" for NULL (a member not there). tools/ names types in its
 * messages the same way.
 */
const char *
taskfile_type(const cJSON *v)
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
	if (cJSON_IsObject(v))
		return ("an object");
	return ("an unknown value");
}

/*
 * Parse len bytes of buf (need not be NUL-terminated) into a cJSON tree
 * (caller frees with cJSON_Delete), or NULL with *off, if off is not NULL,
 * the byte offset where cJSON stopped. tools/ reads its graphs with it.
 */
cJSON *
taskfile_json(const char *buf, size_t len, size_t *off)
{
	cJSON		*root;
	const char	*end = NULL;
	char		*copy;

	/* cJSON wants the terminating NUL counted in the length. */
	copy = xmalloc(len + 1);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (off != NULL)
		*off = end != NULL && end >= copy ? (size_t)(end - copy) : 0;
	free(copy);
	return (root);
}

/* Count the elements of an array or the members of an object. */
static size_t
taskfile_count(const cJSON *v)
{
	const cJSON	*e;
	size_t		 n = 0;

	for (e = v->child; e != NULL; e = e->next)
		n++;
	return (n);
}

/*
 * Turn a byte offset into a 1-based line and column (in bytes), for
 * messages here and in tools/.
 */
void
taskfile_position(const char *buf, size_t off, size_t *line, size_t *col)
{
	size_t	i, start = 0;

	*line = 1;
	for (i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	}
	*col = off - start + 1;
}

/* Reject input that is empty or holds a NUL byte. */
static int
taskfile_check_bytes(struct taskfile_ctx *ctx, const char *buf, size_t len)
{
	const char	*nul;
	size_t		 i, line, col;

	if ((nul = memchr(buf, '\0', len)) != NULL) {
		taskfile_position(buf, nul - buf, &line, &col);
		return (taskfile_error(ctx, "NUL byte at line %zu, column %zu "
		    "(byte offset %zu): not a text file", line, col,
		    (size_t)(nul - buf)));
	}
	for (i = 0; i < len; i++) {
		if (strchr(" \t\r\n", buf[i]) == NULL)
			return (0);
	}
	return (taskfile_error(ctx, "empty file: expected a JSON object "
	    "with a \"tasks\" array"));
}

/* Report where cJSON stopped parsing buf (len bytes), at off. */
static int
taskfile_json_error(struct taskfile_ctx *ctx, const char *buf, size_t len,
    size_t off)
{
	size_t	line, col;

	if (off > len)
		off = len;
	taskfile_position(buf, off, &line, &col);
	if (off == len) {
		return (taskfile_error(ctx, "invalid JSON: unexpected end of "
		    "file at line %zu, column %zu (byte offset %zu)", line,
		    col, off));
	}
	return (taskfile_error(ctx, "invalid JSON at line %zu, column %zu "
	    "(byte offset %zu)", line, col, off));
}

/*
 * Reject the escape \u0000 in any string: cJSON decodes it into a NUL that
 * would cut the C string short without a word. Only called on text cJSON
 * accepted, so the scan can trust the string and escape syntax.
 */
static int
taskfile_check_nul_escapes(struct taskfile_ctx *ctx, const char *buf,
    size_t len)
{
	size_t	i, line, col;
	int	in = 0;

	for (i = 0; i < len; i++) {
		if (!in) {
			if (buf[i] == '"')
				in = 1;
			continue;
		}
		if (buf[i] == '"') {
			in = 0;
			continue;
		}
		if (buf[i] != '\\' || i + 1 >= len)
			continue;
		if (buf[i + 1] == 'u' && i + 6 <= len &&
		    memcmp(buf + i + 2, "0000", 4) == 0) {
			taskfile_position(buf, i, &line, &col);
			return (taskfile_error(ctx, "line %zu, column %zu: "
			    "\\u0000 (NUL) is not allowed in a string", line,
			    col));
		}
		i++;	/* skip the escaped character */
	}
	return (0);
}

/* Copy a string value that must not be empty. */
static int
taskfile_string(struct taskfile_ctx *ctx, const cJSON *v, char **out)
{
	if (!cJSON_IsString(v)) {
		return (taskfile_error(ctx, "expected a string, got %s",
		    taskfile_type(v)));
	}
	if (*v->valuestring == '\0')
		return (taskfile_error(ctx, "must not be empty"));
	*out = xstrdup(v->valuestring);
	return (0);
}

/* Copy an array of non-empty strings; *n is set before the copying. */
static int
taskfile_strings(struct taskfile_ctx *ctx, const cJSON *v, char ***out,
    size_t *n)
{
	const cJSON	*e;
	size_t		 i = 0;

	if (!cJSON_IsArray(v)) {
		return (taskfile_error(ctx, "expected an array of strings, "
		    "got %s", taskfile_type(v)));
	}
	if ((*n = taskfile_count(v)) == 0)
		return (0);
	*out = xcalloc(*n, sizeof **out);
	for (e = v->child; e != NULL; e = e->next, i++) {
		if (!cJSON_IsString(e)) {
			return (taskfile_error(ctx, "expected an array of "
			    "strings, but element #%zu is %s", i + 1,
			    taskfile_type(e)));
		}
		if (*e->valuestring == '\0') {
			return (taskfile_error(ctx, "element #%zu is an "
			    "empty string", i + 1));
		}
		(*out)[i] = xstrdup(e->valuestring);
	}
	return (0);
}

/* Read a whole number from 0 to max; what says what is expected. */
static int
taskfile_integer(struct taskfile_ctx *ctx, const cJSON *v, int max,
    const char *what, int *out)
{
	double	d;

	if (!cJSON_IsNumber(v)) {
		return (taskfile_error(ctx, "expected %s, got %s", what,
		    taskfile_type(v)));
	}
	d = v->valuedouble;
	if (d < 0 || d > max) {
		return (taskfile_error(ctx, "must be from 0 to %d, got %.15g",
		    max, d));
	}
	if ((double)(int)d != d) {
		return (taskfile_error(ctx, "expected %s, got %.15g", what,
		    d));
	}
	*out = (int)d;
	return (0);
}

/* Check and copy the id: non-empty, short, no control characters. */
static int
taskfile_parse_id(struct taskfile_ctx *ctx, const cJSON *v, struct task *t)
{
	const unsigned char	*s;
	size_t			 len;

	if (!cJSON_IsString(v)) {
		return (taskfile_error(ctx, "expected a string, got %s",
		    taskfile_type(v)));
	}
	s = (const unsigned char *)v->valuestring;
	if ((len = strlen(v->valuestring)) == 0)
		return (taskfile_error(ctx, "must not be empty"));
	if (len > TASKFILE_ID_MAX) {
		return (taskfile_error(ctx, "is %zu bytes long, more than %d",
		    len, TASKFILE_ID_MAX));
	}
	for (; *s != '\0'; s++) {
		if (*s < 0x20 || *s == 0x7f) {
			return (taskfile_error(ctx, "contains a control "
			    "character (0x%02x) at byte %zu", *s,
			    (size_t)(s - (const unsigned char *)
			    v->valuestring)));
		}
	}
	t->id = xstrdup(v->valuestring);
	return (0);
}

/* Copy the command, run with /bin/sh -c. */
static int
taskfile_parse_command(struct taskfile_ctx *ctx, const cJSON *v,
    struct task *t)
{
	return (taskfile_string(ctx, v, &t->command));
}

/* Copy the ids of the tasks this one needs. */
static int
taskfile_parse_deps(struct taskfile_ctx *ctx, const cJSON *v, struct task *t)
{
	return (taskfile_strings(ctx, v, &t->deps, &t->ndeps));
}

/* Copy the working directory, relative to the checkout root or absolute. */
static int
taskfile_parse_cwd(struct taskfile_ctx *ctx, const cJSON *v, struct task *t)
{
	return (taskfile_string(ctx, v, &t->cwd));
}

/*
 * Copy the command that brings this task's outputs onto a checkout where
 * it did not run (a dependent's agent runs it first, once), or take true:
 * its dependents' own commands bring them (one such at a time).
 */
static int
taskfile_parse_restore(struct taskfile_ctx *ctx, const cJSON *v,
    struct task *t)
{
	if (cJSON_IsTrue(v)) {
		t->restore_inline = 1;
		return (0);
	}
	if (!cJSON_IsString(v)) {
		return (taskfile_error(ctx, "expected a command or true, got "
		    "%s", taskfile_type(v)));
	}
	return (taskfile_string(ctx, v, &t->restore));
}

/*
 * Is hash a key the remote cache can hold: 1 to TASK_HASH_MAX of
 * A-Z a-z 0-9 _ - (what cache/parse.c's parse_hash_valid() accepts in a
 * request)?
 */
int
task_hash_valid(const char *hash)
{
	size_t	len = strlen(hash);

	return (len > 0 && len <= TASK_HASH_MAX && strspn(hash,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-") == len);
}

/*
 * Copy the key of the task's outputs in the remote cache: when the run's
 * Redis holds that artifact at submit, the task is a cache hit and is not
 * run.
 */
static int
taskfile_parse_hash(struct taskfile_ctx *ctx, const cJSON *v, struct task *t)
{
	if (!cJSON_IsString(v)) {
		return (taskfile_error(ctx, "expected a string, got %s",
		    taskfile_type(v)));
	}
	if (!task_hash_valid(v->valuestring)) {
		return (taskfile_error(ctx, "\"%s\" is not a cache key (1 to "
		    "%d of A-Z a-z 0-9 _ -)", v->valuestring, TASK_HASH_MAX));
	}
	t->hash = xstrdup(v->valuestring);
	return (0);
}

/* Tell whether name is a portable environment variable name. */
static int
taskfile_env_name_is_valid(const char *name)
{
	const char	*s;

	if (*name == '\0' || (*name >= '0' && *name <= '9'))
		return (0);
	for (s = name; *s != '\0'; s++) {
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return (0);
	}
	return (1);
}

/* Order pointers to task_env by name, for the duplicate check. */
static int
taskfile_env_cmp(const void *a, const void *b)
{
	const struct task_env	*ea = *(const struct task_env *const *)a;
	const struct task_env	*eb = *(const struct task_env *const *)b;

	return (strcmp(ea->name, eb->name));
}

/* Reject a variable named twice; sorts a copy so it is O(n log n). */
static int
taskfile_env_unique(struct taskfile_ctx *ctx, struct task *t)
{
	const struct task_env	**sorted;
	size_t			  i;
	int			  rc = 0;

	if (t->nenv < 2)
		return (0);
	sorted = xreallocarray(NULL, t->nenv, sizeof *sorted);
	for (i = 0; i < t->nenv; i++)
		sorted[i] = &t->env[i];
	qsort(sorted, t->nenv, sizeof *sorted, taskfile_env_cmp);
	for (i = 1; i < t->nenv; i++) {
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			rc = taskfile_error(ctx, "variable \"%s\" is given "
			    "more than once", sorted[i]->name);
			break;
		}
	}
	free(sorted);
	return (rc);
}

/* Copy the environment: an object of valid names to string values. */
static int
taskfile_parse_env(struct taskfile_ctx *ctx, const cJSON *v, struct task *t)
{
	const cJSON	*e;
	size_t		 i = 0;

	if (!cJSON_IsObject(v)) {
		return (taskfile_error(ctx, "expected an object of strings, "
		    "got %s", taskfile_type(v)));
	}
	if ((t->nenv = taskfile_count(v)) == 0)
		return (0);
	t->env = xcalloc(t->nenv, sizeof *t->env);
	for (e = v->child; e != NULL; e = e->next, i++) {
		if (!taskfile_env_name_is_valid(e->string)) {
			return (taskfile_error(ctx, "\"%s\" is not a valid "
			    "variable name ([A-Za-z_][A-Za-z0-9_]*)",
			    e->string));
		}
		if (!cJSON_IsString(e)) {
			return (taskfile_error(ctx, "variable \"%s\": "
			    "expected a string, got %s", e->string,
			    taskfile_type(e)));
		}
		t->env[i].name = xstrdup(e->string);
		t->env[i].value = xstrdup(e->valuestring);
	}
	return (taskfile_env_unique(ctx, t));
}

/* Read the timeout in whole seconds; 0 means none. */
static int
taskfile_parse_timeout(struct taskfile_ctx *ctx, const cJSON *v,
    struct task *t)
{
	return (taskfile_integer(ctx, v, TASKFILE_TIMEOUT_MAX,
	    "a whole number of seconds (at most 7 days)", &t->timeout));
}

/* Read how many times a failed attempt is retried. */
static int
taskfile_parse_retries(struct taskfile_ctx *ctx, const cJSON *v,
    struct task *t)
{
	return (taskfile_integer(ctx, v, TASKFILE_RETRIES_MAX,
	    "a whole number", &t->retries));
}

/* Copy the paths the task produces. */
static int
taskfile_parse_outputs(struct taskfile_ctx *ctx, const cJSON *v,
    struct task *t)
{
	return (taskfile_strings(ctx, v, &t->outputs, &t->noutputs));
}

/* Copy the explicit target name. */
static int
taskfile_parse_target(struct taskfile_ctx *ctx, const cJSON *v,
    struct task *t)
{
	return (taskfile_string(ctx, v, &t->target));
}

/* Find a task field by exact name; -1 if unknown. */
static int
taskfile_field_find(const char *name)
{
	size_t	i;

	for (i = 0; i < TASKFILE_NFIELDS; i++) {
		if (strcmp(taskfile_fields[i].name, name) == 0)
			return ((int)i);
	}
	return (-1);
}

/* Use the task's id in messages if it is one taskfile_parse_id accepts. */
static void
taskfile_find_id(struct taskfile_ctx *ctx, const cJSON *obj)
{
	const cJSON	*v;
	const char	*s;

	ctx->id = NULL;
	for (v = obj->child; v != NULL; v = v->next) {
		if (strcmp(v->string, "id") == 0)
			break;
	}
	if (v == NULL || !cJSON_IsString(v))
		return;
	if (*v->valuestring == '\0' ||
	    strlen(v->valuestring) > TASKFILE_ID_MAX)
		return;
	for (s = v->valuestring; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return;
	}
	ctx->id = v->valuestring;
}

/* Check one task object and fill t from it. */
static int
taskfile_parse_task(struct taskfile_ctx *ctx, const cJSON *obj,
    struct task *t)
{
	const cJSON	*v;
	uint32_t	 seen = 0;
	int		 k;

	t->retries = -1;
	ctx->id = NULL;
	ctx->field = NULL;
	if (!cJSON_IsObject(obj)) {
		return (taskfile_error(ctx, "expected an object, got %s",
		    taskfile_type(obj)));
	}
	taskfile_find_id(ctx, obj);

	for (v = obj->child; v != NULL; v = v->next) {
		if ((k = taskfile_field_find(v->string)) == -1) {
			ctx->field = NULL;
			return (taskfile_error(ctx, "unknown field \"%s\" "
			    "(known fields: %s)", v->string, TASKFILE_KNOWN));
		}
		ctx->field = taskfile_fields[k].name;
		if (seen & (1U << k))
			return (taskfile_error(ctx, "given more than once"));
		seen |= 1U << k;
		if (taskfile_fields[k].parse(ctx, v, t) != 0)
			return (-1);
	}
	ctx->field = NULL;

	if (t->id == NULL)
		return (taskfile_error(ctx, "missing field \"id\""));
	if (t->command == NULL)
		return (taskfile_error(ctx, "missing field \"command\""));
	if (t->target == NULL)
		t->target = task_target_of(t->id);
	return (0);
}

/* Check the top level: an object whose only field is a "tasks" array. */
static const cJSON *
taskfile_tasks(struct taskfile_ctx *ctx, const cJSON *root)
{
	const cJSON	*v, *tasks = NULL;

	if (!cJSON_IsObject(root)) {
		taskfile_error(ctx, "expected an object with a \"tasks\" array "
		    "at the top level, got %s", taskfile_type(root));
		return (NULL);
	}
	for (v = root->child; v != NULL; v = v->next) {
		if (strcmp(v->string, "tasks") != 0) {
			taskfile_error(ctx, "unknown top-level field \"%s\" "
			    "(the only field is \"tasks\")", v->string);
			return (NULL);
		}
		if (tasks != NULL) {
			taskfile_error(ctx, "field \"tasks\" is given more "
			    "than once");
			return (NULL);
		}
		tasks = v;
	}
	if (tasks == NULL) {
		taskfile_error(ctx, "missing field \"tasks\"");
		return (NULL);
	}
	ctx->field = "tasks";
	if (!cJSON_IsArray(tasks)) {
		taskfile_error(ctx, "expected an array of tasks, got %s",
		    taskfile_type(tasks));
		return (NULL);
	}
	if (tasks->child == NULL) {
		taskfile_error(ctx, "no tasks (the array is empty)");
		return (NULL);
	}
	ctx->field = NULL;
	return (tasks);
}

/*
 * Parse the task file in buf (len bytes, need not be NUL-terminated) into
 * ts, which is overwritten. name is the file name for messages, "-" for
 * stdin. On error returns -1 with *cause set (caller frees) and ts empty.
 */
int
taskfile_parse(const char *buf, size_t len, const char *name,
    struct taskset *ts, char **cause)
{
	struct taskfile_ctx	 ctx;
	struct taskset		 new;
	const cJSON		*tasks, *e;
	cJSON			*root = NULL;
	size_t			 i, off;
	int			 rc = -1;

	memset(ts, 0, sizeof *ts);
	memset(&new, 0, sizeof new);
	memset(&ctx, 0, sizeof ctx);
	if (name == NULL || strcmp(name, "-") == 0)
		name = "<stdin>";
	ctx.file = name;
	ctx.index = TASKFILE_NO_TASK;
	ctx.cause = cause;

	if (taskfile_check_bytes(&ctx, buf, len) != 0)
		return (-1);

	if ((root = taskfile_json(buf, len, &off)) == NULL) {
		taskfile_json_error(&ctx, buf, len, off);
		goto out;
	}
	if (taskfile_check_nul_escapes(&ctx, buf, len) != 0)
		goto out;
	if ((tasks = taskfile_tasks(&ctx, root)) == NULL)
		goto out;

	new.ntasks = taskfile_count(tasks);
	new.tasks = xcalloc(new.ntasks, sizeof *new.tasks);
	i = 0;
	for (e = tasks->child; e != NULL; e = e->next, i++) {
		ctx.index = i;
		if (taskfile_parse_task(&ctx, e, &new.tasks[i]) != 0)
			goto out;
	}
	*ts = new;
	memset(&new, 0, sizeof new);
	rc = 0;

out:
	taskset_free(&new);
	cJSON_Delete(root);
	return (rc);
}

/*
 * The target of a task id: Nx's project:target[:configuration] gives the
 * part after the first ':' up to the next; an id with no ':' is its own
 * target. Caller frees.
 */
char *
task_target_of(const char *id)
{
	const char	*start, *colon;

	if ((start = strchr(id, ':')) == NULL)
		return (xstrdup(id));
	start++;
	if ((colon = strchr(start, ':')) == NULL)
		return (xstrdup(start));
	return (xstrndup(start, colon - start));
}

/* Free everything a task owns and leave it zeroed. */
void
task_clear(struct task *t)
{
	size_t	i;

	free(t->id);
	free(t->command);
	free(t->cwd);
	free(t->target);
	for (i = 0; i < t->ndeps && t->deps != NULL; i++)
		free(t->deps[i]);
	free(t->deps);
	task_env_free(t->env, t->nenv);
	for (i = 0; i < t->noutputs && t->outputs != NULL; i++)
		free(t->outputs[i]);
	free(t->outputs);
	free(t->restore);
	free(t->restore_arg);
	free(t->hash);
	free(t->cache_as);
	memset(t, 0, sizeof *t);
}

/* Free n variables and the array; fine on NULL. task_msg_clear uses it. */
void
task_env_free(struct task_env *env, size_t n)
{
	size_t	i;

	for (i = 0; i < n && env != NULL; i++) {
		free(env[i].name);
		free(env[i].value);
	}
	free(env);
}

/* Free every task and the array, and leave ts zeroed; fine on a zeroed ts. */
void
taskset_free(struct taskset *ts)
{
	size_t	i;

	for (i = 0; i < ts->ntasks && ts->tasks != NULL; i++)
		task_clear(&ts->tasks[i]);
	free(ts->tasks);
	memset(ts, 0, sizeof *ts);
}
