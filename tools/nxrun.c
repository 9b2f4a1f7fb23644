/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The Nx runner's client: finds or starts a long-lived Node process that
 * runs Nx tasks (tools/nxrunner.js, embedded in the binary) and sends it
 * one request. `dteq nx-task` (cmd/nxtask.c) is its only caller; the
 * agents and the replay run that command.
 *
 * Runners of an agent form a pool, so that Nx and its project graph load
 * once per runner and not once per task. A pool is a directory private to
 * the user, one per process the runners watch (the agent, DTEQ_AGENT_PID):
 *
 *	${TMPDIR:-/tmp}/dteq-UID/nx-PID/
 *	  runner-SUM.js		the runner's source (SUM: of its text)
 *	  CWD-N.lock		slot N of the checkout CWD (a sum of its
 *				path): flock()ed by the client using it
 *	  CWD-N.sock		the runner of slot N listens here
 *
 * A client takes the first slot whose lock is free, so one runner serves
 * one task at a time, and connects to its socket; when nothing listens
 * there it starts the runner (its own session, stdin /dev/null, stdout and
 * stderr into a pipe it reads itself, fd 3 the ready pipe) and waits for
 * its "ready" line. The runner exits when the watched process does. The
 * client's death (a timeout, a cancel) closes the connection, and the
 * runner kills its tasks and itself.
 *
 * Without a process to watch, the runner is private to the client (a
 * temporary pool) and exits after its one request.
 *
 * Data flow of one request: a JSON line out, then frames back (a type
 * byte, a 4-byte big-endian length, the bytes) until EOF: 'o' output to
 * the caller's callback, 'r' one task's result, 'e' an error.
 */

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tools.h"

extern char		**environ;
extern const char	  nxrunner_js[];	/* nxrunner.js, built in */

#define NXRUN_SLOTS	64	/* runners a pool may hold per checkout */
#define NXRUN_FRAME_MAX	(64 * 1024 * 1024)

/* FNV-1a over s: names a checkout or a source text in the pool. */
static uint64_t
nxrun_sum(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (h);
}

/* mkdir dir 0700 unless it is there, ours and private; -1 with *cause. */
static int
nxrun_private_dir(const char *dir, char **cause)
{
	struct stat	st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	if (lstat(dir, &st) != 0) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077) != 0) {
		xasprintf(cause, "%s: not a directory private to this user",
		    dir);
		return (-1);
	}
	return (0);
}

/* The runner's source in dir, written once (atomically). */
static char *
nxrun_source(const char *dir, char **cause)
{
	char	*path, *tmp;
	FILE	*f;

	xasprintf(&path, "%s/runner-%016llx.js", dir,
	    (unsigned long long)nxrun_sum(nxrunner_js));
	if (access(path, R_OK) == 0)
		return (path);
	xasprintf(&tmp, "%s.%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL ||
	    fputs(nxrunner_js, f) == EOF || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		free(path);
		return (NULL);
	}
	free(tmp);
	return (path);
}

/* Connect to the unix socket path: the descriptor, or -1 (errno). */
static int
nxrun_dial(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, e;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	return (fd);
}

/*
 * Start a runner for sock (watching pid, 0: none) and wait until it is
 * ready. 0, NXRUN_UNSUPPORTED (*cause says why) or -1 with *cause.
 */
static int
nxrun_start(const char *js, const char *sock, pid_t pid, char **cause)
{
	struct spawn	 sp;
	char		 pidarg[32], line[1024], *argv[5];
	int		 ready[2], out[2], extra[2], rc;
	size_t		 len = 0;
	ssize_t		 n;

	if (pipe2(ready, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return (-1);
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		close(ready[0]);
		close(ready[1]);
		return (-1);
	}
	snprintf(pidarg, sizeof pidarg, "%ld", (long)pid);
	argv[0] = (char *)"node";
	argv[1] = (char *)js;
	argv[2] = (char *)sock;
	argv[3] = pid != 0 ? pidarg : NULL;
	argv[4] = NULL;
	extra[0] = ready[1];
	extra[1] = out[0];
	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.out = SPAWN_FD;
	sp.fd = out[1];
	sp.err = SPAWN_TO_OUT;
	sp.extra = extra;
	sp.nextra = 2;
	sp.flags = SPAWN_NULL_STDIN | SPAWN_SETSID;
	rc = spawn_start(&sp, cause);
	close(ready[1]);
	close(out[0]);
	close(out[1]);
	if (rc != 0) {
		close(ready[0]);
		return (-1);
	}
	while (len < sizeof line - 1) {
		n = read(ready[0], line + len, sizeof line - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	close(ready[0]);
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "ready") == 0)
		return (0);
	if (strncmp(line, "unsupported: ", 13) == 0) {
		*cause = xstrdup(line + 13);
		return (NXRUN_UNSUPPORTED);
	}
	if (strncmp(line, "error: ", 7) == 0)
		xasprintf(cause, "the Nx runner: %s", line + 7);
	else
		xasprintf(cause, "the Nx runner exited before it was ready");
	return (-1);
}

/*
 * A connection to a runner of the checkout cwd: in the pool of pid (and
 * *lock the slot's lock, held until closed), or, pid 0, a private one.
 * The descriptor, NXRUN_UNSUPPORTED or -1, with *cause.
 */
int
nxrun_connect(const char *cwd, pid_t pid, int *lock, char **cause)
{
	char		*top, *dir, *js = NULL, *path, *sock = NULL;
	uint64_t	 sum = nxrun_sum(cwd);
	int		 fd = -1, i, rc;

	*lock = -1;
	dir = util_runner_pool(pid != 0 ? pid : getpid());
	top = xstrdup(dir);
	*strrchr(top, '/') = '\0';
	if (nxrun_private_dir(top, cause) != 0 ||
	    nxrun_private_dir(dir, cause) != 0 ||
	    (js = nxrun_source(dir, cause)) == NULL)
		goto out;
	for (i = 0; i < NXRUN_SLOTS && *lock == -1; i++) {
		xasprintf(&path, "%s/%016llx-%d.lock", dir,
		    (unsigned long long)sum, i);
		*lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		free(path);
		if (*lock != -1 && flock(*lock, LOCK_EX | LOCK_NB) != 0) {
			close(*lock);
			*lock = -1;
		}
	}
	if (*lock == -1) {
		xasprintf(cause, "%s: no free runner slot of %d", dir,
		    NXRUN_SLOTS);
		goto out;
	}
	xasprintf(&sock, "%s/%016llx-%d.sock", dir, (unsigned long long)sum,
	    i - 1);
	if (pid != 0 && (fd = nxrun_dial(sock)) != -1)
		goto out;
	if ((rc = nxrun_start(js, sock, pid, cause)) != 0) {
		fd = rc;
		goto out;
	}
	if ((fd = nxrun_dial(sock)) == -1)
		xasprintf(cause, "%s: %s", sock, strerror(errno));
out:
	if (fd < 0 && *lock != -1) {
		close(*lock);
		*lock = -1;
	}
	free(sock);
	free(js);
	free(dir);
	free(top);
	return (fd);
}

/* write() all of buf; -1 on error. */
static int
nxrun_write(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= n;
	}
	return (0);
}

/* read() exactly len bytes: 1, 0 at EOF before any, -1 on error. */
static int
nxrun_read(int fd, void *buf, size_t len)
{
	size_t	got = 0;
	ssize_t	n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (-1);
		if (n == 0)
			return (got == 0 ? 0 : -1);
		got += n;
	}
	return (1);
}

/*
 * Ask the runner on fd for nothing ({"ping": true}), so that it stays
 * once the connection closes: it was only to be started. 0 when it
 * closed without a word; -1 with *cause.
 */
int
nxrun_ping(int fd, char **cause)
{
	static const char	ping[] = "{\"ping\":true}\n";
	char			c;
	ssize_t			n;

	if (nxrun_write(fd, ping, sizeof ping - 1) != 0) {
		xasprintf(cause, "the Nx runner: %s", strerror(errno));
		return (-1);
	}
	while ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
		;
	if (n != 0) {
		xasprintf(cause, "the Nx runner answered a ping");
		return (-1);
	}
	return (0);
}

/* The request line: the tasks, the environment, the flags. */
static char *
nxrun_request_line(const struct nxrun_task *t, size_t n, int flags)
{
	cJSON	*req, *tasks, *o, *env;
	char	*s, **e, *eq;
	size_t	 i;

	req = cJSON_CreateObject();
	tasks = cJSON_AddArrayToObject(req, "tasks");
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", t[i].id);
		if (t[i].overrides != NULL)
			cJSON_AddRawToObject(o, "overrides", t[i].overrides);
		cJSON_AddItemToArray(tasks, o);
	}
	env = cJSON_AddObjectToObject(req, "env");
	for (e = environ; *e != NULL; e++) {
		if ((eq = strchr(*e, '=')) == NULL)
			continue;
		*eq = '\0';
		if (cJSON_GetObjectItemCaseSensitive(env, *e) == NULL)
			cJSON_AddStringToObject(env, *e, eq + 1);
		*eq = '=';
	}
	cJSON_AddBoolToObject(req, "quiet", (flags & NXRUN_QUIET) != 0);
	cJSON_AddBoolToObject(req, "hitsOnly", (flags & NXRUN_HITS_ONLY) != 0);
	if ((s = cJSON_PrintUnformatted(req)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(req);
	return (s);
}

/* One 'r' frame into *r; -1 if it is not a result. */
static int
nxrun_result(const char *body, struct nxrun_result *r)
{
	cJSON		*o;
	const cJSON	*v;

	memset(r, 0, sizeof *r);
	if ((o = cJSON_Parse(body)) == NULL)
		return (-1);
	v = cJSON_GetObjectItemCaseSensitive(o, "id");
	r->id = xstrdup(cJSON_IsString(v) ? v->valuestring : "?");
	v = cJSON_GetObjectItemCaseSensitive(o, "hash");
	r->hash = cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
	v = cJSON_GetObjectItemCaseSensitive(o, "status");
	r->status = xstrdup(cJSON_IsString(v) ? v->valuestring : "?");
	v = cJSON_GetObjectItemCaseSensitive(o, "code");
	r->code = cJSON_IsNumber(v) ? v->valueint : 1;
	v = cJSON_GetObjectItemCaseSensitive(o, "runner");
	r->runner = cJSON_IsNumber(v) ? (pid_t)v->valuedouble : 0;
	cJSON_Delete(o);
	return (0);
}

/*
 * Send the request for tasks t on fd (flags: NXRUN_QUIET, a hit prints
 * one line; NXRUN_HITS_ONLY, only the remote cache's hits run, the others
 * are "miss") and read the replies to the end:
 * output to out_cb, results into *res (*nres of them; caller frees with
 * nxrun_results_free). 0, or -1 with *cause (the runner's error, or its
 * death), the results so far kept; NXRUN_GONE when it closed before any
 * reply (a runner that was exiting: nothing ran, ask another).
 */
int
nxrun_request(int fd, const struct nxrun_task *t, size_t n, int flags,
    nxrun_output_cb out_cb, void *arg, struct nxrun_result **res,
    size_t *nres, char **cause)
{
	unsigned char	 head[5];
	char		*line, *body;
	uint32_t	 len;
	size_t		 nframes = 0;
	int		 rc;

	*res = NULL;
	*nres = 0;
	line = nxrun_request_line(t, n, flags);
	rc = nxrun_write(fd, line, strlen(line));
	free(line);
	if (rc != 0 || nxrun_write(fd, "\n", 1) != 0) {
		xasprintf(cause, "the Nx runner: %s", strerror(errno));
		return (-1);
	}
	for (;;) {
		if ((rc = nxrun_read(fd, head, sizeof head)) == 0)
			break;
		len = (uint32_t)head[1] << 24 | (uint32_t)head[2] << 16 |
		    (uint32_t)head[3] << 8 | head[4];
		if (rc == -1 || len > NXRUN_FRAME_MAX) {
			xasprintf(cause, "the Nx runner died mid-reply");
			return (-1);
		}
		body = xmalloc(len + 1);
		if (nxrun_read(fd, body, len) != 1 && len > 0) {
			free(body);
			xasprintf(cause, "the Nx runner died mid-reply");
			return (-1);
		}
		body[len] = '\0';
		nframes++;
		if (head[0] == 'o')
			out_cb(body, len, arg);
		else if (head[0] == 'e') {
			xasprintf(cause, "the Nx runner: %s", body);
			free(body);
			return (-1);
		} else if (head[0] == 'r') {
			*res = xreallocarray(*res, *nres + 1, sizeof **res);
			if (nxrun_result(body, &(*res)[*nres]) == 0)
				(*nres)++;
		}
		free(body);
	}
	if (*nres == 0) {
		xasprintf(cause, "the Nx runner ended without a result");
		return (nframes == 0 ? NXRUN_GONE : -1);
	}
	return (0);
}

/* Free what nxrun_request gave. */
void
nxrun_results_free(struct nxrun_result *r, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(r[i].id);
		free(r[i].hash);
		free(r[i].status);
	}
	free(r);
}
