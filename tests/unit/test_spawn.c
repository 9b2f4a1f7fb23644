/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/spawn.c: the environment set and unset before
 * fork, the working directory, pipes and files, and the causes of a
 * command that cannot be run.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dteq.h"
#include "test.h"

/* Read all of fd into buf (NUL-terminated); the bytes read. */
static size_t
read_all(int fd, char *buf, size_t size)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got + 1 < size &&
	    (n = read(fd, buf + got, size - 1 - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return (got);
}

/* Run sh -c script with sp's settings; its stdout in out, exit code back. */
static int
run_sh(struct spawn *sp, const char *script, char *out, size_t size)
{
	char	*argv[] = { (char *)"sh", (char *)"-c", (char *)script, NULL };
	char	*cause = NULL;

	sp->argv = argv;
	sp->out = SPAWN_PIPE;
	if (spawn_start(sp, &cause) != 0) {
		printf("    spawn_start: %s\n", cause);
		free(cause);
		return (-1);
	}
	CHECK(sp->pid > 0);
	CHECK(sp->out_fd >= 0);
	read_all(sp->out_fd, out, size);
	return (spawn_wait(sp->pid));
}

static void
test_env_set_unset(void)
{
	char		*set[] = { (char *)"SPAWN_A=one",
			    (char *)"SPAWN_KEEP=new", NULL };
	char		*unset[] = { (char *)"SPAWN_GONE", NULL };
	struct spawn	 sp;
	char		 out[256];

	setenv("SPAWN_GONE", "secret", 1);
	setenv("SPAWN_KEEP", "old", 1);
	memset(&sp, 0, sizeof sp);
	sp.set = set;
	sp.unset = unset;
	CHECK(run_sh(&sp, "echo \"$SPAWN_A:$SPAWN_KEEP:${SPAWN_GONE-unset}\"",
	    out, sizeof out) == 0);
	CHECK_STREQ(out, "one:new:unset\n");
	/* The parent's own environment is left as it was. */
	CHECK_STREQ(getenv("SPAWN_GONE"), "secret");
	CHECK_STREQ(getenv("SPAWN_KEEP"), "old");
	unsetenv("SPAWN_GONE");
	unsetenv("SPAWN_KEEP");
}

static void
test_cwd_and_exit(void)
{
	struct spawn	 sp;
	char		 out[256];

	memset(&sp, 0, sizeof sp);
	sp.cwd = "/";
	sp.flags = SPAWN_NULL_STDIN;
	CHECK(run_sh(&sp, "pwd; cat; exit 7", out, sizeof out) == 7);
	CHECK_STREQ(out, "/\n");
}

static void
test_err_to_out_and_file(void)
{
	char		 path[] = "/tmp/test_spawn.XXXXXX", out[256];
	char		*argv[] = { (char *)"sh", (char *)"-c",
			    (char *)"echo to-out; echo to-err >&2", NULL };
	struct spawn	 sp;
	char		*cause = NULL;
	int		 fd;

	memset(&sp, 0, sizeof sp);
	sp.err = SPAWN_TO_OUT;
	CHECK(run_sh(&sp, "echo a; echo b >&2", out, sizeof out) == 0);
	CHECK_STREQ(out, "a\nb\n");

	CHECK((fd = mkstemp(path)) != -1);
	CHECK(write(fd, "kept\n", 5) == 5);
	close(fd);
	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.out = SPAWN_FILE;
	sp.err = SPAWN_TO_OUT;
	sp.path = path;
	CHECK(spawn_start(&sp, &cause) == 0);
	CHECK(sp.out_fd == -1);
	CHECK(spawn_wait(sp.pid) == 0);
	/* The file is appended to, not truncated. */
	CHECK((fd = open(path, O_RDONLY)) != -1);
	read_all(fd, out, sizeof out);
	CHECK_STREQ(out, "kept\nto-out\nto-err\n");
	unlink(path);
}

static void
test_cannot_run(void)
{
	char		*missing[] = { (char *)"dteq-no-such-command", NULL };
	char		*argv[] = { (char *)"true", NULL };
	struct spawn	 sp;
	char		*cause = NULL;

	memset(&sp, 0, sizeof sp);
	sp.argv = missing;
	CHECK(spawn_start(&sp, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "dteq-no-such-command") != NULL);
	CHECK(cause != NULL && strstr(cause, strerror(ENOENT)) != NULL);
	free(cause);
	cause = NULL;

	/* A working directory that does not exist: the cause says so. */
	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.cwd = "/nonexistent/dteq-spawn";
	CHECK(spawn_start(&sp, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, strerror(ENOENT)) != NULL);
	free(cause);
}

static void
test_exit_code(void)
{
	struct spawn	 sp;
	char		 out[16];

	memset(&sp, 0, sizeof sp);
	CHECK(run_sh(&sp, "kill -TERM $$", out, sizeof out) ==
	    128 + SIGTERM);
	CHECK(spawn_exit_code(3 << 8) == 3);
}

/*
 * spawn_ignore_sigpipe(): writing to a pipe nobody reads is EPIPE here,
 * not death; a child started afterwards has SIGPIPE's default (this
 * process was not started with it ignored).
 */
static void
test_sigpipe(void)
{
	struct spawn	 sp;
	char		 out[16];
	int		 p[2];

	spawn_ignore_sigpipe();
	CHECK(pipe(p) == 0);
	close(p[0]);
	errno = 0;
	CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE);
	close(p[1]);
	memset(&sp, 0, sizeof sp);
	CHECK(run_sh(&sp, "kill -PIPE $$; echo survived", out, sizeof out) ==
	    128 + SIGPIPE);
	CHECK_STREQ(out, "");
}

/*
 * SPAWN_FD: stdout (and stderr) to the caller's descriptor; extra
 * descriptors become the child's 3 and 4, whatever their numbers;
 * SPAWN_SETSID: a session of its own.
 */
static void
test_fd_extra_setsid(void)
{
	struct spawn	 sp;
	int		 out[2], a[2], b[2], extra[2], status;
	char		 buf[256];
	char		*argv[] = { (char *)"sh", (char *)"-c", (char *)
			    "echo out; echo err >&2; echo three >&3; "
			    "echo four >&4; cut -d' ' -f6 /proc/$$/stat",
			    NULL };
	char		*cause = NULL;

	CHECK(pipe2(out, O_CLOEXEC) == 0 && pipe2(a, O_CLOEXEC) == 0 &&
	    pipe2(b, O_CLOEXEC) == 0);
	/* In the other order, so each must move past the other. */
	extra[0] = b[1];
	extra[1] = a[1];
	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.out = SPAWN_FD;
	sp.fd = out[1];
	sp.err = SPAWN_TO_OUT;
	sp.extra = extra;
	sp.nextra = 2;
	sp.flags = SPAWN_NULL_STDIN | SPAWN_SETSID;
	if (spawn_start(&sp, &cause) != 0) {
		printf("    spawn_start: %s\n", cause);
		free(cause);
		CHECK(0);
		return;
	}
	close(out[1]);
	close(a[1]);
	close(b[1]);
	status = spawn_wait(sp.pid);
	CHECK(status == 0);
	read_all(out[0], buf, sizeof buf);
	CHECK(strncmp(buf, "out\nerr\n", 8) == 0);
	/* Its session is its own pid. */
	CHECK(atol(buf + 8) == (long)sp.pid);
	read_all(b[0], buf, sizeof buf);
	CHECK_STREQ(buf, "three\n");
	read_all(a[0], buf, sizeof buf);
	CHECK_STREQ(buf, "four\n");
}

int
main(void)
{
	TEST_RUN(test_env_set_unset);
	TEST_RUN(test_cwd_and_exit);
	TEST_RUN(test_err_to_out_and_file);
	TEST_RUN(test_cannot_run);
	TEST_RUN(test_exit_code);
	TEST_RUN(test_fd_extra_setsid);
	TEST_RUN(test_sigpipe);
	return (test_exit());
}
