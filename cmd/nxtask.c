/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq nx-task [--quiet] [--report FILE] [--overrides=JSON] ID ...`: run
 * Nx tasks through a long-lived Nx runner (tools/nxrun.c), in the order
 * given, each once the one before succeeded. The command of every Nx task
 * of a --nx run, of its restores and of the replay:
 *
 * - Each task is hashed with its whole task graph, as `nx run-many` of
 *   the user's targets hashes it, so what an agent stores in the remote
 *   cache is what the main job's replay asks for.
 * - Inside an agent (DTEQ_AGENT_PID set) the runner is one of the
 *   agent's pool and outlives the task: Nx starts once per runner, not
 *   once per task. Elsewhere it is private to this command.
 * - --overrides=JSON gives the next ID its overrides, as the task graph
 *   Nx writes has them (default none).
 * - --quiet: a task that is a cache hit prints one line naming it, not
 *   its output (restores and the replay).
 * - --hits-only: only the tasks the remote cache holds run (restored
 *   from it); a task it lacks, and its dependents, are reported "miss"
 *   (the main job's look at the cache before a run).
 * - --report FILE: one JSON line per task run appended to FILE: id,
 *   hash, Nx's status, code, and the runner's pid.
 * - --start (no ID): start a runner of the pool of DTEQ_AGENT_PID for
 *   this checkout, unless one is free already, wait until it is ready,
 *   and leave it there (the main job starts its own while Nx makes the
 *   task graph; producer/warm.c).
 *
 * An Nx without what the runner needs (runDiscreteTasks, Nx 22 or later)
 * gets `nx run ID --excludeTaskDependencies [overrides]` per task
 * instead, with a line saying so. Exits with the first failed task's code
 * (0: all succeeded), 2 on bad arguments, 1 if the runner fails.
 */

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cmd.h"

#define NXTASK_START	0x100	/* a flag beside nxrun.c's NXRUN_* */

/* Write the runner's output to stdout. */
static void
nxtask_output(const char *buf, size_t len, void *arg)
{
	ssize_t	n;

	(void)arg;
	while (len > 0) {
		if ((n = write(STDOUT_FILENO, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= n;
	}
}

/*
 * The words of an overrides object that `nx run` takes back: its
 * __overrides_unparsed__, appended to the command in b.
 */
static void
nxtask_override_words(const char *json, struct tool_buf *b)
{
	cJSON		*o;
	const cJSON	*raw, *e;

	if (json == NULL || (o = cJSON_Parse(json)) == NULL)
		return;
	raw = cJSON_GetObjectItemCaseSensitive(o, "__overrides_unparsed__");
	if (cJSON_IsArray(raw)) {
		for (e = raw->child; e != NULL; e = e->next) {
			if (!cJSON_IsString(e))
				continue;
			tool_adds(b, " ");
			tool_quote(b, e->valuestring);
		}
	}
	cJSON_Delete(o);
}

/* Without the runner: `nx run ID --excludeTaskDependencies` each. */
static int
nxtask_each(const struct nxrun_task *t, size_t n)
{
	struct tool_buf	 b;
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		memset(&b, 0, sizeof b);
		tool_adds(&b, toolgraph_runner(TOOLGRAPH_NX));
		tool_adds(&b, " run ");
		tool_quote(&b, t[i].id);
		tool_adds(&b, " --excludeTaskDependencies");
		nxtask_override_words(t[i].overrides, &b);
		fflush(stdout);
		rc = system(b.s);
		rc = rc == -1 ? 1 : WIFEXITED(rc) ? WEXITSTATUS(rc) :
		    128 + WTERMSIG(rc);
		free(b.s);
	}
	return (rc);
}

/* Append the results to the report file; -1 if it cannot be written. */
static int
nxtask_report(const char *path, const struct nxrun_result *r, size_t n)
{
	FILE	*f;
	cJSON	*o;
	char	*s;
	size_t	 i;
	int	 rc = 0;

	if ((f = fopen(path, "a")) == NULL) {
		log_warnx("--report %s: %s", path, strerror(errno));
		return (-1);
	}
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", r[i].id);
		if (r[i].hash != NULL)
			cJSON_AddStringToObject(o, "hash", r[i].hash);
		else
			cJSON_AddNullToObject(o, "hash");
		cJSON_AddStringToObject(o, "status", r[i].status);
		cJSON_AddNumberToObject(o, "code", r[i].code);
		cJSON_AddNumberToObject(o, "runner", r[i].runner);
		s = cJSON_PrintUnformatted(o);
		if (s == NULL || fprintf(f, "%s\n", s) < 0)
			rc = -1;
		cJSON_free(s);
		cJSON_Delete(o);
	}
	if (fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		log_warnx("--report %s: %s", path, strerror(errno));
	return (rc);
}

static const char nxtask_usage[] =
    "usage: dteq nx-task [--quiet] [--hits-only] [--report FILE]\n"
    "                    [--overrides=JSON] ID ...\n"
    "       dteq nx-task --start\n"
    "\n"
    "Run Nx tasks in the order given, each once the one before succeeded,\n"
    "through a long-lived Nx runner (an agent's, when DTEQ_AGENT_PID is\n"
    "set), each hashed with its whole task graph as `nx run-many` hashes\n"
    "it. The command of the tasks of a --nx run, of their restores and of\n"
    "the replay. Exits with the first failed task's status; 2 on bad\n"
    "usage.\n"
    "\n"
    "  --overrides=JSON   the next ID's overrides, as Nx's task graph has\n"
    "                     them\n"
    "  --quiet            a cache hit prints one line, not its output\n"
    "  --hits-only        run only the tasks the remote cache has (and\n"
    "                     whose dependencies it has); the others are\n"
    "                     reported as \"miss\"\n"
    "  --report FILE      append one JSON line per task to FILE\n"
    "  --start            start a runner of the pool of DTEQ_AGENT_PID for\n"
    "                     this checkout and leave it ready (no ID)\n";

/* Parse the arguments into *t; -1 after a usage message, 1 for --help. */
static int
nxtask_args(int argc, char **argv, struct nxrun_task **t, size_t *n,
    int *flags, const char **report)
{
	const char	*over = NULL;
	cJSON		*o;
	int		 i;

	*t = xcalloc(argc, sizeof **t);
	*n = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(nxtask_usage, stdout);
			return (1);
		} else if (strcmp(argv[i], "--quiet") == 0)
			*flags |= NXRUN_QUIET;
		else if (strcmp(argv[i], "--hits-only") == 0)
			*flags |= NXRUN_HITS_ONLY;
		else if (strcmp(argv[i], "--start") == 0)
			*flags |= NXTASK_START;
		else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
			*report = argv[++i];
		else if (strncmp(argv[i], "--overrides=", 12) == 0) {
			over = argv[i] + 12;
			if ((o = cJSON_Parse(over)) == NULL ||
			    !cJSON_IsObject(o)) {
				cJSON_Delete(o);
				log_warnx("%s: not a JSON object", argv[i]);
				return (-1);
			}
			cJSON_Delete(o);
		} else if (argv[i][0] == '-' || argv[i][0] == '\0') {
			log_warnx("unknown option %s", argv[i]);
			return (-1);
		} else {
			(*t)[*n].id = argv[i];
			(*t)[(*n)++].overrides = over;
			over = NULL;
		}
	}
	if ((*flags & NXTASK_START) ? *n != 0 || *flags != NXTASK_START ||
	    *report != NULL : *n == 0 || over != NULL) {
		fputs(nxtask_usage, stderr);
		return (-1);
	}
	return (0);
}

/*
 * --start: a ready runner in the pool of pid for cwd, left there. 0 also
 * when this Nx has no runner (its tasks will say so); 1 on failure.
 */
static int
nxtask_start(const char *cwd, pid_t pid)
{
	char	*cause = NULL;
	int	 fd, lock, rc = 0;

	if (pid == 0) {
		log_warnx("--start needs DTEQ_AGENT_PID: the process whose "
		    "pool of runners it starts one in");
		return (2);
	}
	if ((fd = nxrun_connect(cwd, pid, &lock, &cause)) == NXRUN_UNSUPPORTED) {
		free(cause);
		return (0);
	}
	if (fd < 0 || nxrun_ping(fd, &cause) != 0) {
		log_warnx("%s", cause);
		free(cause);
		rc = 1;
	}
	if (fd >= 0) {
		close(fd);
		close(lock);
	}
	return (rc);
}

/*
 * Send the request on fd (lock: its slot's) and read the replies. A
 * runner that closed before any reply was exiting (its last task killed):
 * nothing ran, so once more, with another runner. As nxrun_request().
 */
static int
nxtask_ask(const char *cwd, pid_t pid, int fd, int lock,
    const struct nxrun_task *t, size_t n, int flags,
    struct nxrun_result **r, size_t *nr, char **cause)
{
	int	rc;

	rc = nxrun_request(fd, t, n, flags, nxtask_output, NULL, r, nr,
	    cause);
	close(fd);
	close(lock);
	if (rc != NXRUN_GONE)
		return (rc);
	free(*cause);
	*cause = NULL;
	nxrun_results_free(*r, *nr);
	*r = NULL;
	*nr = 0;
	if ((fd = nxrun_connect(cwd, pid, &lock, cause)) < 0)
		return (-1);
	rc = nxrun_request(fd, t, n, flags, nxtask_output, NULL, r, nr,
	    cause);
	close(fd);
	close(lock);
	return (rc);
}

int
nxtask_main(int argc, char **argv)
{
	struct nxrun_task	*t;
	struct nxrun_result	*r;
	const char		*report = NULL, *s;
	char			*cwd, *cause = NULL;
	size_t			 n, nr, i;
	pid_t			 pid = 0;
	int			 flags = 0, fd, lock, rc;

	log_set_prefix("dteq nx-task");
	if ((rc = nxtask_args(argc, argv, &t, &n, &flags, &report)) != 0) {
		free(t);
		return (rc == 1 ? 0 : 2);
	}
	if ((s = cli_env("DTEQ_AGENT_PID")) != NULL)
		pid = (pid_t)strtol(s, NULL, 10);
	if ((cwd = getcwd(NULL, 0)) == NULL)
		fatal("getcwd");
	if (flags & NXTASK_START) {
		rc = nxtask_start(cwd, pid);
		free(cwd);
		free(t);
		return (rc);
	}
	fd = nxrun_connect(cwd, pid, &lock, &cause);
	if (fd < 0 && pid == 0)
		util_runner_pool_remove(getpid());
	if (fd == NXRUN_UNSUPPORTED) {
		printf("dteq: %s: running each task with `nx run`\n", cause);
		free(cause);
		free(cwd);
		rc = nxtask_each(t, n);
		free(t);
		return (rc);
	}
	if (fd < 0) {
		log_warnx("%s", cause);
		free(cause);
		free(cwd);
		free(t);
		return (1);
	}
	rc = nxtask_ask(cwd, pid, fd, lock, t, n, flags, &r, &nr, &cause);
	free(cwd);
	if (rc != 0) {
		log_warnx("%s", cause);
		free(cause);
	}
	if (pid == 0)
		util_runner_pool_remove(getpid());
	/* The first failure's code; 1 if a task got no result. */
	rc = nr < n ? 1 : 0;
	for (i = 0; i < nr; i++) {
		if (r[i].code != 0) {
			rc = r[i].code;
			break;
		}
	}
	if (report != NULL && nxtask_report(report, r, nr) != 0 && rc == 0)
		rc = 1;
	nxrun_results_free(r, nr);
	free(t);
	return (rc);
}
