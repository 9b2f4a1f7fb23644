/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The reaper: a small process of its own, forked when the agent starts,
 * that kills what the agent's tasks left running if the agent dies
 * without doing it itself (SIGKILL, the OOM killer, a crash). Every task
 * runs in a process group of its own (proc.c), which the agent kills on
 * a timeout, a cancel or its own exit; a dead agent kills nothing, and
 * its tasks would run on unseen, writing into the checkout.
 *
 * The agent tells the reaper of each group through a pipe:
 *
 *	+PGID\n		a task's group started (proc_start())
 *	-PGID\n		its child was reaped (proc_done())
 *
 * The pipe's end of file is the agent's end, however it came: then every
 * group the reaper still holds gets SIGTERM, and SIGKILL if one is still
 * there PROC_GRACE seconds later, and the reaper exits as soon as none
 * is. After a normal exit the agent has killed them already, and the
 * reaper goes within a moment. It holds no other descriptor of the agent's (no Redis
 * connection, no listening socket), sits in a process group of its own
 * (a Ctrl-C meant for the agent does not reach it), and takes SIGTERM,
 * SIGINT and SIGHUP as the agent's own end would come anyway.
 *
 * A reaper that could not start, or died, costs nothing but this
 * safety: the agent stops writing to it and goes on.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

#define REAPER_GROUPS_MAX	4096	/* groups held at once */

static int	reaper_fd = -1;		/* the agent's write end */

/* In the reaper: the groups it holds. */
static pid_t	reaper_groups[REAPER_GROUPS_MAX];
static size_t	reaper_ngroups;

/* In the reaper: apply one line, "+PGID" or "-PGID". */
static void
reaper_line(const char *line)
{
	char	*end;
	long	 v;
	size_t	 i;

	v = strtol(line + 1, &end, 10);
	if (v <= 1 || *end != '\0')
		return;
	if (line[0] == '+' && reaper_ngroups < REAPER_GROUPS_MAX)
		reaper_groups[reaper_ngroups++] = (pid_t)v;
	else if (line[0] == '-') {
		for (i = 0; i < reaper_ngroups; i++) {
			if (reaper_groups[i] == (pid_t)v) {
				reaper_groups[i] =
				    reaper_groups[--reaper_ngroups];
				break;
			}
		}
	}
}

/* In the reaper: sig to every group held; 1 if any was still there. */
static int
reaper_signal(int sig)
{
	size_t	i;
	int	any = 0;

	for (i = 0; i < reaper_ngroups; i++) {
		if (kill(-reaper_groups[i], sig) == 0)
			any = 1;
	}
	return (any);
}

/* The reaper's life: read the pipe to its end, then kill what is left. */
static void __attribute__((noreturn))
reaper_main(int fd)
{
	char	buf[512], line[32];
	size_t	len = 0;
	ssize_t	n, i;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				line[len] = '\0';
				reaper_line(line);
				len = 0;
			} else if (len < sizeof line - 1)
				line[len++] = buf[i];
		}
	}
	/* Until every group is gone, or the grace is over: then KILL. */
	if (reaper_signal(SIGTERM)) {
		for (i = 0; i < PROC_GRACE * 10; i++) {
			usleep(100 * 1000);
			if (!reaper_signal(0))
				_exit(0);
		}
		reaper_signal(SIGKILL);
	}
	_exit(0);
}

/*
 * Fork the reaper, before the agent opens its connections and its cache
 * (the reaper closes every descriptor but its pipe anyway). Quietly
 * without one if it cannot start.
 */
void
reaper_start(void)
{
	int	p[2], null;
	pid_t	pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warnx("no reaper for the tasks: pipe: %s",
		    strerror(errno));
		return;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_warnx("no reaper for the tasks: fork: %s",
		    strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if ((null = open("/dev/null", O_RDWR)) != -1) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		if (dup2(p[0], 3) == -1)
			_exit(1);
		close_range(4, ~0U, 0);
		reaper_main(3);
	}
	close(p[0]);
	reaper_fd = p[1];
	log_debug("reaper %ld watches the tasks' process groups", (long)pid);
}

/* Tell the reaper a line; on any failure stop using it. */
static void
reaper_tell(char sign, pid_t pgid)
{
	char	line[32];
	int	len;
	ssize_t	n;

	if (reaper_fd == -1)
		return;
	len = snprintf(line, sizeof line, "%c%ld\n", sign, (long)pgid);
	do
		n = write(reaper_fd, line, len);
	while (n == -1 && errno == EINTR);
	if (n != len) {
		log_warnx("the tasks' reaper is gone: tasks of this agent "
		    "may outlive it if it is killed");
		close(reaper_fd);
		reaper_fd = -1;
	}
}

/* A task's process group started. */
void
reaper_watch(pid_t pgid)
{
	reaper_tell('+', pgid);
}

/* A task's child was reaped: its group is the agent's to kill no more. */
void
reaper_forget(pid_t pgid)
{
	reaper_tell('-', pgid);
}
