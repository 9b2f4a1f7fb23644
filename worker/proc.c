/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Child supervision: one task attempt is one `/bin/sh -c COMMAND` in its
 * own process group, stdin from /dev/null, stdout and stderr on one pipe
 * (so their interleaving is kept). proc.c knows nothing of Redis: it
 * reports output chunks and the final status through callbacks.
 *
 * Life of a proc:
 *
 * 1. proc_start() spawns the child with posix_spawn (new process group,
 *    default signal dispositions, empty mask, cwd, fds above 2 closed).
 * 2. proc_read_cb() hands output to the owner's output callback.
 * 3. proc_reap() (the owner calls it on SIGCHLD) records the exit status.
 * 4. When both the pipe is at EOF and the child was reaped, proc_done()
 *    calls the exit callback and frees the proc. If the child exited but
 *    something it started still holds the pipe, the pipe is closed after
 *    PROC_LINGER ms and the leftover process group killed.
 *
 * Timeouts follow a TERM-then-KILL ladder on the whole process group:
 * SIGTERM at the deadline, SIGKILL PROC_GRACE seconds later.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "worker.h"

#define PROC_GRACE	5		/* s between TERM and KILL */
#define PROC_LINGER	2000		/* ms to wait for EOF after exit */

struct proc {
	struct event_base	*base;
	pid_t			 pid;
	int			 fd;		/* read end of the output pipe */
	struct event		*ev_read;
	struct event		*ev_timer;	/* deadline, grace, linger */
	int			 timer_kind;
	int			 exited;	/* reaped */
	int			 closed;	/* pipe at EOF */
	int			 timed_out;
	int			 killed;	/* proc_kill() was called */
	int			 status;	/* waitpid status */
	proc_output_cb		 output_cb;
	proc_exit_cb		 exit_cb;
	void			*arg;
	LIST_ENTRY(proc)	 entry;
};

#define PROC_TIMER_NONE		0
#define PROC_TIMER_DEADLINE	1
#define PROC_TIMER_GRACE	2
#define PROC_TIMER_LINGER	3

static LIST_HEAD(, proc) procs = LIST_HEAD_INITIALIZER(procs);

static void	proc_done(struct proc *);

/* Arm the proc's single timer for kind, after ms. */
static void
proc_arm(struct proc *p, int kind, int ms)
{
	struct timeval	tv;

	p->timer_kind = kind;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->ev_timer, &tv);
}

/* Signal the whole process group (the child is its leader). */
static void
proc_signal(struct proc *p, int sig)
{
	if (killpg(p->pid, sig) == -1 && errno != ESRCH)
		log_warn("%s: killpg %ld", __func__, (long)p->pid);
}

/* The deadline, grace and linger timer. */
static void
proc_timer_cb(int fd, short events, void *arg)
{
	struct proc	*p = arg;

	(void)fd;
	(void)events;
	switch (p->timer_kind) {
	case PROC_TIMER_DEADLINE:
		log_debug("%s: pid %ld timed out", __func__, (long)p->pid);
		p->timed_out = 1;
		proc_signal(p, SIGTERM);
		proc_arm(p, PROC_TIMER_GRACE, PROC_GRACE * 1000);
		break;
	case PROC_TIMER_GRACE:
		proc_signal(p, SIGKILL);
		break;
	case PROC_TIMER_LINGER:
		/* The child exited; whatever holds the pipe goes. */
		proc_signal(p, SIGKILL);
		p->closed = 1;
		proc_done(p);
		break;
	}
}

/* Output is ready on the pipe. */
static void
proc_read_cb(int fd, short events, void *arg)
{
	struct proc	*p = arg;
	char		 buf[65536];
	ssize_t		 n;

	(void)events;
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n > 0) {
			p->output_cb(p, buf, (size_t)n, p->arg);
			if ((size_t)n < sizeof buf)
				return;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		break;		/* EOF or error: the pipe is done */
	}
	p->closed = 1;
	proc_done(p);
}

/*
 * Call the exit callback once both EOF and exit happened, then free.
 * The owner must not use p after its exit callback returns.
 */
static void
proc_done(struct proc *p)
{
	struct proc_status	 st;

	if (!p->exited)
		return;
	if (!p->closed) {
		if (p->timer_kind != PROC_TIMER_LINGER)
			proc_arm(p, PROC_TIMER_LINGER, PROC_LINGER);
		return;
	}
	memset(&st, 0, sizeof st);
	if (WIFEXITED(p->status)) {
		st.code = WEXITSTATUS(p->status);
		st.how = PROC_EXITED;
	} else if (WIFSIGNALED(p->status)) {
		st.code = 128 + WTERMSIG(p->status);
		st.how = PROC_SIGNALLED;
	} else {
		st.code = 255;
		st.how = PROC_SIGNALLED;
	}
	if (p->timed_out)
		st.how = PROC_TIMED_OUT;
	else if (p->killed)
		st.how = PROC_KILLED;
	LIST_REMOVE(p, entry);
	p->exit_cb(p, &st, p->arg);
	event_free(p->ev_read);
	event_free(p->ev_timer);
	close(p->fd);
	free(p);
}

/*
 * Start spec->command. Returns NULL with *cause set when the child could
 * not be started at all (no such directory, out of processes).
 */
struct proc *
proc_start(struct event_base *base, const struct proc_spec *spec,
    char **cause)
{
	struct proc			*p;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, all;
	struct stat			 sb;
	char				*argv[4];
	int				 pfd[2], error;
	pid_t				 pid;

	if (spec->cwd != NULL && (stat(spec->cwd, &sb) != 0 ||
	    !S_ISDIR(sb.st_mode))) {
		xasprintf(cause, "working directory \"%s\": %s", spec->cwd,
		    errno != 0 ? strerror(errno) : "not a directory");
		return (NULL);
	}
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return (NULL);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	if (spec->cwd != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, spec->cwd);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)spec->command;
	argv[3] = NULL;
	error = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, spec->env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pfd[1]);
	if (error != 0) {
		close(pfd[0]);
		xasprintf(cause, "cannot start /bin/sh: %s", strerror(error));
		return (NULL);
	}
	fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);

	p = xcalloc(1, sizeof *p);
	p->base = base;
	p->pid = pid;
	p->fd = pfd[0];
	p->output_cb = spec->output_cb;
	p->exit_cb = spec->exit_cb;
	p->arg = spec->arg;
	p->ev_read = event_new(base, p->fd, EV_READ | EV_PERSIST,
	    proc_read_cb, p);
	p->ev_timer = evtimer_new(base, proc_timer_cb, p);
	if (p->ev_read == NULL || p->ev_timer == NULL)
		fatalx("%s: event_new", __func__);
	event_add(p->ev_read, NULL);
	if (spec->timeout > 0)
		proc_arm(p, PROC_TIMER_DEADLINE, spec->timeout * 1000);
	LIST_INSERT_HEAD(&procs, p, entry);
	return (p);
}

/* Kill the proc's whole process group: TERM now, KILL after the grace. */
void
proc_kill(struct proc *p)
{
	if (p->exited || p->killed)
		return;
	p->killed = 1;
	proc_signal(p, SIGTERM);
	proc_arm(p, PROC_TIMER_GRACE, PROC_GRACE * 1000);
}

/* Kill every proc's process group at once (exit paths). */
void
proc_kill_all(int sig)
{
	struct proc	*p;

	LIST_FOREACH(p, &procs, entry) {
		p->killed = 1;
		proc_signal(p, sig);
	}
}

pid_t
proc_pid(const struct proc *p)
{
	return (p->pid);
}

/* The number of procs not yet done. */
int
proc_count(void)
{
	struct proc	*p;
	int		 n = 0;

	LIST_FOREACH(p, &procs, entry)
		n++;
	return (n);
}

/* Reap every exited child (called on SIGCHLD). */
void
proc_reap(void)
{
	struct proc	*p;
	pid_t		 pid;
	int		 status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0 || (pid == -1 && errno != EINTR))
			break;
		if (pid == -1)
			continue;
		LIST_FOREACH(p, &procs, entry) {
			if (p->pid == pid)
				break;
		}
		if (p == NULL) {
			log_debug("%s: unknown child %ld", __func__,
			    (long)pid);
			continue;
		}
		p->exited = 1;
		p->status = status;
		if (p->timer_kind == PROC_TIMER_DEADLINE)
			evtimer_del(p->ev_timer);
		proc_done(p);
	}
}
