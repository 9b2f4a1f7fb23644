/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Helpers several unit tests share (test.h is the harness): task sets
 * built from a short description, the fixtures, a parser's refusal and
 * a message's contents. Everything is static inline, so a test uses
 * what it needs.
 */

#ifndef HELPERS_H
#define HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dteq.h"
#include "test.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

/* Check that s contains sub, and show s when it does not. */
#define CHECK_HAS(s, sub) do {						\
	CHECK((s) != NULL && strstr((s), (sub)) != NULL);		\
	if ((s) == NULL || strstr((s), (sub)) == NULL)			\
		printf("    got: %s\n", (s) != NULL ? (s) : "(null)");	\
} while (0)

/*
 * Append to ts a task with id, command "true" and the deps named in deps
 * (space-separated; NULL or "" for none).
 */
static inline void
add_task(struct taskset *ts, const char *id, const char *deps)
{
	struct task	*t;
	char		*copy, *s, *dep;

	/* The array doubles whenever ntasks reaches a power of two. */
	if ((ts->ntasks & (ts->ntasks - 1)) == 0) {
		ts->tasks = xreallocarray(ts->tasks,
		    ts->ntasks == 0 ? 1 : ts->ntasks * 2, sizeof *ts->tasks);
	}
	t = &ts->tasks[ts->ntasks++];
	memset(t, 0, sizeof *t);
	t->id = xstrdup(id);
	t->command = xstrdup("true");
	t->target = task_target_of(id);
	t->retries = -1;
	copy = s = xstrdup(deps != NULL ? deps : "");
	while ((dep = strsep(&s, " ")) != NULL) {
		if (*dep == '\0')
			continue;
		t->deps = xreallocarray(t->deps, t->ndeps + 1,
		    sizeof *t->deps);
		t->deps[t->ndeps++] = xstrdup(dep);
	}
	free(copy);
}

/*
 * Append the tasks of spec to ts: "ID, ID(DEP DEP), ..." in file order,
 * each ID followed by its deps in parentheses if it has any. The diamond
 * is "a, b(a), c(a), d(b c)".
 */
static inline void
add_tasks(struct taskset *ts, const char *spec)
{
	char	*copy, *s, *item, *deps;

	copy = s = xstrdup(spec);
	while ((item = strsep(&s, ",")) != NULL) {
		item += strspn(item, " ");
		if (*item == '\0')
			continue;
		if ((deps = strchr(item, '(')) != NULL) {
			*deps++ = '\0';
			deps[strcspn(deps, ")")] = '\0';
		}
		item[strcspn(item, " ")] = '\0';
		add_task(ts, item, deps);
	}
	free(copy);
}

/* Read a fixture of tests/fixtures; NULL (and a failed check) if not. */
static inline char *
fixture(const char *name, size_t *len)
{
	char	*path, *buf, *cause;

	xasprintf(&path, "%s/%s", FIXTURES_DIR, name);
	if (util_read_file(path, &buf, len, &cause) != 0) {
		printf("    %s\n", cause);
		free(cause);
		buf = NULL;
	}
	CHECK(buf != NULL);
	free(path);
	return (buf);
}

/* A parser of task files or tool graphs (taskfile_parse, toolgraph_parse). */
typedef int	(*parse_fn)(const char *, size_t, const char *,
		    struct taskset *, char **);

/*
 * Parse len bytes of buf (as file name) expecting a refusal: -1, nothing
 * in the task set, a cause. Returns the cause ("" if none); caller frees.
 */
static inline char *
parse_refused(parse_fn parse, const char *buf, size_t len, const char *name)
{
	struct taskset	 ts;
	char		*cause = NULL;
	int		 rc;

	rc = parse(buf, len, name, &ts, &cause);
	CHECK(rc == -1);
	CHECK(ts.tasks == NULL);
	CHECK(ts.ntasks == 0);
	CHECK(cause != NULL);
	if (rc == 0)
		taskset_free(&ts);
	return (cause != NULL ? cause : xstrdup(""));
}

/*
 * The refusal of json (parse_refused) has a cause holding each of the
 * strings of want, up to a NULL.
 */
static inline void
check_refusal(parse_fn parse, const char *json, const char *name,
    const char *const *want)
{
	char	*cause;

	cause = parse_refused(parse, json, strlen(json), name);
	for (; *want != NULL; want++)
		CHECK_HAS(cause, *want);
	free(cause);
}

#endif /* HELPERS_H */
