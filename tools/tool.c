/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Task graphs from the tools themselves. Nx writes its task graph with
 * `nx run-many|affected ... --graph=FILE.json` and Turborepo with
 * `turbo run ... --dry=json`; nx.c and turbo.c read either into a struct
 * taskset whose commands hand each task back to the tool on the agents,
 * so the tool's own executors, caching and output stay in charge. This
 * file holds the entry points, on top of tools/ (tool.c -> nx.c,
 * turbo.c -> build.c, which holds what the readers share):
 *
 * - toolgraph_detect() tells an Nx task graph, a Turborepo dry run, a dteq
 *   task file and Nx's project graph (no tasks) apart;
 * - toolgraph_parse() reads any of the three task graphs into a taskset
 *   (Nx's through nx_parse, Turborepo's through turbo_parse, dteq's own
 *   through taskfile_parse);
 * - toolgraph_run() runs the tool (toolgraph_runner(), build.c) with the
 *   user's arguments plus --graph=TMP.json or --dry=json, after checking
 *   the installed version can run single tasks (tool_check_version(),
 *   build.c), and parses what it wrote. A tool that fails, or cannot be
 *   run, is reported with its own output.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tools.h"

#define TOOL_SHOW_MAX		(32 * 1024)	/* tool output in an error */

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

/* Tell which kind of graph buf holds (TOOLGRAPH_*). */
int
toolgraph_detect(const char *buf, size_t len)
{
	cJSON	*root;
	int	 kind;

	if (memchr(buf, '\0', len) != NULL ||
	    (root = taskfile_json(buf, len, NULL)) == NULL)
		return (TOOLGRAPH_UNKNOWN);
	kind = tool_detect_json(root);
	cJSON_Delete(root);
	return (kind);
}

/* Report where a graph stops being JSON; returns -1. */
static int
tool_json_error(struct tool_ctx *ctx, const char *buf, size_t len,
    size_t off)
{
	size_t	line, col, blank = 0;

	while (blank < len && strchr(" \t\r\n", buf[blank]) != NULL &&
	    buf[blank] != '\0')
		blank++;
	if (blank == len)
		return (tool_error(ctx, "empty: no JSON"));
	taskfile_position(buf, off < len ? off : len, &line, &col);
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
	if ((root = taskfile_json(buf, len, &off)) == NULL)
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
