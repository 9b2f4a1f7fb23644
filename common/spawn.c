/* dteq: self-hosted distributed task execution over Redis. */

/*
 * One fork and exec for the commands dteq runs itself, outside an agent's
 * task slots (worker/proc.c has its own): the command of `dteq record`,
 * the redis-server, agents and submit of `dteq run`, the Nx or Turborepo
 * run that writes a task graph, and the replay after a run.
 *
 * Data flow of spawn_start():
 *
 * 1. In the parent, before fork: the child's environment (environ less
 *    the unset names, with the set ones added or replaced), /dev/null,
 *    the output file and the pipes, all close-on-exec. The child then
 *    has nothing left to allocate or format.
 * 2. Every signal is blocked across fork, so no handler of the parent
 *    runs in the child before it is reset.
 * 3. The child makes only async-signal-safe calls: the parent's handlers
 *    back to the default, and SIGPIPE too unless dteq was started with
 *    it ignored (spawn_ignore_sigpipe(); SPAWN_SIGPIPE: in any case),
 *    setsid or setpgid,
 *    the parent-death signal on request (prctl), fcntl and dup2 (stdio,
 *    then the caller's extra descriptors as 3, 4, ...), chdir,
 *    the parent's signal mask, execvpe. If one fails it writes the step
 *    and errno to a close-on-exec pipe and _exits 127.
 * 4. The parent reads that pipe: EOF means the exec happened; a report
 *    means it did not, and spawn_start() reaps the child and fails with
 *    a cause naming the command and the error. So "command not found" is
 *    an error of spawn_start(), never an exit status 127 to decode.
 *
 * The caller waits for the child itself (spawn_wait(), its own poll loop
 * or a SIGCHLD event) and turns its status into an exit code with
 * spawn_exit_code().
 */

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dteq.h"

extern char	**environ;

/* SIGPIPE was ignored when dteq started (spawn_ignore_sigpipe()). */
static int	spawn_sigpipe_inherited;

/* At most this many extra descriptors, moved above SPAWN_EXTRA_HIGH. */
#define SPAWN_EXTRA_MAX		4
#define SPAWN_EXTRA_HIGH	100

/* What a failed child writes to its parent: the step and errno. */
#define SPAWN_STEP_DUP		1
#define SPAWN_STEP_CHDIR	2
#define SPAWN_STEP_EXEC		3
struct spawn_report {
	int	step;
	int	error;
};

/* The descriptors the child is given, all opened by the parent. */
struct spawn_fds {
	int	null;			/* /dev/null for stdin, or -1 */
	int	file;			/* SPAWN_FILE, or -1 */
	int	out[2];			/* SPAWN_PIPE for stdout */
	int	err[2];			/* SPAWN_PIPE for stderr */
	int	report[2];		/* the child's report of a failure */
	pid_t	parent;			/* SPAWN_PARENT_DEATH: who we watch */
};

/* Is the name of entry e ("NAME=value" or "NAME") one in list? */
static int
spawn_env_has(char *const *list, const char *e)
{
	size_t	len = strcspn(e, "="), i;

	for (i = 0; list != NULL && list[i] != NULL; i++) {
		if (strcspn(list[i], "=") == len &&
		    strncmp(list[i], e, len) == 0)
			return (1);
	}
	return (0);
}

/*
 * The child's environment: environ less the names in unset and in set,
 * then set. The strings are borrowed; the caller frees the array alone.
 */
static char **
spawn_env(const struct spawn *sp)
{
	char	**env;
	size_t	  n = 0, nset = 0, k = 0, i;

	while (environ != NULL && environ[n] != NULL)
		n++;
	while (sp->set != NULL && sp->set[nset] != NULL)
		nset++;
	env = xcalloc(n + nset + 1, sizeof *env);
	for (i = 0; i < n; i++) {
		if (!spawn_env_has(sp->unset, environ[i]) &&
		    !spawn_env_has(sp->set, environ[i]))
			env[k++] = environ[i];
	}
	for (i = 0; i < nset; i++)
		env[k++] = sp->set[i];
	env[k] = NULL;
	return (env);
}

/* Close whatever of fds is open. */
static void
spawn_fds_close(struct spawn_fds *fds)
{
	int	*all[] = { &fds->null, &fds->file, &fds->out[0], &fds->out[1],
	    &fds->err[0], &fds->err[1], &fds->report[0], &fds->report[1] };
	size_t	 i;

	for (i = 0; i < nitems(all); i++) {
		if (*all[i] != -1)
			close(*all[i]);
		*all[i] = -1;
	}
}

/* Open what the child will be given; -1 with *cause. */
static int
spawn_fds_open(const struct spawn *sp, struct spawn_fds *fds, char **cause)
{
	const char	*what = "pipe";

	memset(fds, -1, sizeof *fds);
	if (pipe2(fds->report, O_CLOEXEC) != 0)
		goto fail;
	if ((sp->flags & SPAWN_NULL_STDIN) && (fds->null = open("/dev/null",
	    O_RDONLY | O_CLOEXEC)) == -1) {
		what = "/dev/null";
		goto fail;
	}
	if ((sp->out == SPAWN_FILE || sp->err == SPAWN_FILE) &&
	    (fds->file = open(sp->path, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, 0600)) == -1) {
		what = sp->path;
		goto fail;
	}
	if ((sp->out == SPAWN_PIPE && pipe2(fds->out, O_CLOEXEC) != 0) ||
	    (sp->err == SPAWN_PIPE && pipe2(fds->err, O_CLOEXEC) != 0))
		goto fail;
	return (0);

fail:
	xasprintf(cause, "cannot run %s: %s: %s", sp->argv[0], what,
	    strerror(errno));
	spawn_fds_close(fds);
	return (-1);
}

/* The child's side of one descriptor: fd becomes target (0, 1 or 2). */
static int
spawn_child_dup(int fd, int target)
{
	if (fd == target)	/* dup2 would keep its close-on-exec */
		return (fcntl(fd, F_SETFD, 0));
	return (dup2(fd, target) == -1 ? -1 : 0);
}

/* The child: only async-signal-safe calls from fork to exec or _exit. */
static void __attribute__((noreturn))
spawn_child(const struct spawn *sp, const struct spawn_fds *fds,
    char **env, const sigset_t *mask)
{
	struct sigaction	 sa;
	struct spawn_report	 rep;
	int			 sig, out, err, i, moved[SPAWN_EXTRA_MAX];
	int			 report = fds->report[1];

	for (sig = 1; sig < NSIG; sig++) {
		if (sigaction(sig, NULL, &sa) != 0)
			continue;
		if ((sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) ||
		    (sig == SIGPIPE && ((sp->flags & SPAWN_SIGPIPE) ||
		    !spawn_sigpipe_inherited))) {
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(sig, &sa, NULL);
		}
	}
	if (sp->flags & SPAWN_SETSID)
		setsid();
	else if (sp->flags & SPAWN_SETPGID)
		setpgid(0, 0);
	/* Die with the parent; it may already be gone (then ppid moved). */
	if ((sp->flags & SPAWN_PARENT_DEATH) &&
	    (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != fds->parent))
		_exit(127);
	/*
	 * The extra descriptors (and the report pipe) go above any number
	 * they will be given, then to 3, 4, ... once stdio is in place.
	 */
	rep.step = SPAWN_STEP_DUP;
	if (sp->nextra > 0 && (report = fcntl(report, F_DUPFD_CLOEXEC,
	    SPAWN_EXTRA_HIGH)) == -1) {
		report = fds->report[1];
		goto fail;
	}
	for (i = 0; i < sp->nextra; i++) {
		if ((moved[i] = fcntl(sp->extra[i], F_DUPFD_CLOEXEC,
		    SPAWN_EXTRA_HIGH)) == -1)
			goto fail;
	}
	out = sp->out == SPAWN_PIPE ? fds->out[1] : sp->out == SPAWN_FILE ?
	    fds->file : sp->out == SPAWN_FD ? sp->fd : -1;
	err = sp->err == SPAWN_PIPE ? fds->err[1] : sp->err == SPAWN_FILE ?
	    fds->file : sp->err == SPAWN_TO_OUT ? 1 : -1;
	rep.step = SPAWN_STEP_DUP;
	if ((fds->null != -1 && spawn_child_dup(fds->null, 0) != 0) ||
	    (out != -1 && spawn_child_dup(out, 1) != 0) ||
	    (err != -1 && spawn_child_dup(err, 2) != 0))
		goto fail;
	for (i = 0; i < sp->nextra; i++) {
		if (dup2(moved[i], 3 + i) == -1)
			goto fail;
	}
	rep.step = SPAWN_STEP_CHDIR;
	if (sp->cwd != NULL && chdir(sp->cwd) != 0)
		goto fail;
	sigprocmask(SIG_SETMASK, mask, NULL);
	rep.step = SPAWN_STEP_EXEC;
	execvpe(sp->argv[0], sp->argv, env);
fail:
	rep.error = errno;
	(void)!write(report, &rep, sizeof rep);
	_exit(127);
}

/* Read the child's report; -1 with *cause if it did not exec. */
static int
spawn_check(const struct spawn *sp, int fd, char **cause)
{
	struct spawn_report	rep;
	ssize_t			n;

	while ((n = read(fd, &rep, sizeof rep)) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof rep)
		return (0);	/* EOF: the exec closed the pipe */
	if (rep.step == SPAWN_STEP_CHDIR) {
		xasprintf(cause, "cannot run %s: %s: %s", sp->argv[0],
		    sp->cwd, strerror(rep.error));
	} else if (rep.step == SPAWN_STEP_DUP) {
		xasprintf(cause, "cannot run %s: dup2: %s", sp->argv[0],
		    strerror(rep.error));
	} else
		xasprintf(cause, "cannot run %s: %s", sp->argv[0],
		    strerror(rep.error));
	return (-1);
}

/*
 * Ignore SIGPIPE for good, first thing in main(): a peer that goes away
 * (Redis cut by CLIENT KILL, a reader that closed its pipe) is then an
 * EPIPE the caller reports, never a silent death by the signal (exit
 * 141 with nothing said). Children get the disposition dteq was started
 * with (step 3).
 */
void
spawn_ignore_sigpipe(void)
{
	struct sigaction	sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
		spawn_sigpipe_inherited = 1;
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Start sp->argv and fill in sp->pid, sp->out_fd and sp->err_fd (the read
 * ends of SPAWN_PIPE, close-on-exec, for the caller to read and close;
 * else -1). -1 with *cause ("cannot run CMD: ...") if the command could
 * not be started, the child reaped already.
 */
int
spawn_start(struct spawn *sp, char **cause)
{
	struct spawn_fds	 fds;
	sigset_t		 all, old;
	char			**env = NULL;
	int			 rc;

	sp->pid = -1;
	sp->out_fd = sp->err_fd = -1;
	if (sp->nextra < 0 || sp->nextra > SPAWN_EXTRA_MAX)
		fatalx("%s: %d extra descriptors", __func__, sp->nextra);
	if (spawn_fds_open(sp, &fds, cause) != 0)
		return (-1);
	if (sp->set != NULL || sp->unset != NULL)
		env = spawn_env(sp);
	fflush(stdout);		/* the parent's output comes first */
	fflush(stderr);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	fds.parent = getpid();
	if ((sp->pid = fork()) == 0)
		spawn_child(sp, &fds, env != NULL ? env : environ, &old);
	rc = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(env);
	if (sp->pid == -1) {
		xasprintf(cause, "cannot run %s: fork: %s", sp->argv[0],
		    strerror(rc));
		spawn_fds_close(&fds);
		return (-1);
	}
	close(fds.report[1]);
	fds.report[1] = -1;
	if (spawn_check(sp, fds.report[0], cause) != 0) {
		spawn_wait(sp->pid);
		sp->pid = -1;
		spawn_fds_close(&fds);
		return (-1);
	}
	sp->out_fd = fds.out[0];
	sp->err_fd = fds.err[0];
	fds.out[0] = fds.err[0] = -1;
	spawn_fds_close(&fds);
	log_debug("%s: %s: pid %ld", __func__, sp->argv[0], (long)sp->pid);
	return (0);
}

/* A wait status as an exit code: the exit status, or 128 + the signal. */
int
spawn_exit_code(int status)
{
	if (WIFEXITED(status))
		return (WEXITSTATUS(status));
	return (128 + WTERMSIG(status));
}

/* Wait for pid, through signals; its exit code (spawn_exit_code). */
int
spawn_wait(pid_t pid)
{
	int	status;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			fatal("%s: waitpid %ld", __func__, (long)pid);
	}
	return (spawn_exit_code(status));
}
