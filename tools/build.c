/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The bottom of tools/: what nx.c and turbo.c share to build tasks from
 * a tool's JSON, and what tool.c needs of the same (sh words, how a tool
 * is run, the version check). tool.c calls the readers, the readers call
 * this file, and this file calls neither.
 *
 * - struct tool_buf, a growable string, and sh words: tool_quote() writes
 *   one into a task's command, toolgraph_split() reads a command line
 *   back into words, as sh would without expansions;
 * - tool_error(): messages that name the graph, its kind and the task
 *   (JSON types are named by taskfile_type(), as in the task file);
 * - tool_get(), tool_strings(): members of the tool's JSON;
 * - tool_add_dep(): a dependency, once;
 * - how the agents run a tool: toolgraph_runner(), tool_deps_mode() and
 *   tool_check_version().
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
 * The agents run each task alone, which needs Nx 19.6 or later
 * (--excludeTaskDependencies) or Turborepo 2.0 or later (--only with
 * --filter); tool_check_version() refuses older ones.
 */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tools.h"

#define TOOL_NX_COMMAND		"npx --no nx"
#define TOOL_TURBO_COMMAND	"npx --no turbo"
#define TOOL_NX_MIN		"19.6.0"	/* --excludeTaskDependencies */
#define TOOL_TURBO_MIN		"2.0.0"		/* --only trims to --filter */

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

/* Free n words and the array. */
void
toolgraph_words_free(char **words, size_t n)
{
	size_t	i;

	for (i = 0; i < n && words != NULL; i++)
		free(words[i]);
	free(words);
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

/* Member name of object o, or NULL. */
const cJSON *
tool_get(const cJSON *o, const char *name)
{
	return (cJSON_GetObjectItemCaseSensitive(o, name));
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
		    "strings, got %s", field, taskfile_type(v)));
	}
	*out = xcalloc(cJSON_GetArraySize(v), sizeof **out);
	for (e = v->child; e != NULL; e = e->next) {
		if (!cJSON_IsString(e) || *e->valuestring == '\0') {
			return (tool_error(ctx, "\"%s\": element #%zu is "
			    "%s, not a path", field, i + 1,
			    taskfile_type(e)));
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
