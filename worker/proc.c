/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Child supervision: one task attempt is one `/bin/sh -c COMMAND` in its
 * own process group, stdin from /dev/null, stdout and stderr on one pipe
 * (so their interleaving is kept). proc.c knows nothing of Redis: it
 * reports output chunks and the final status through callbacks.
 *
 * A command of plain words only (`npx nx run app:build`, `true`) is
 * executed the way the shell would execute it, without starting the
 * shell: the first word is looked up in the task's PATH, PWD is set as
 * the shell sets it, and the statuses are the shell's (127 not found,
 * 126 not executable). That saves a shell start per task, about a fifth
 * of what running `true` costs. Anything else (quotes, `$`, `;`, `&&`,
 * redirections, globs, an assignment, a builtin) goes to /bin/sh -c.
 *
 * Life of a proc:
 *
 * 1. proc_start() spawns the child: clone(CLONE_VM | CLONE_VFORK) on a
 *    static stack (proc_clone()); the child sets up its process group,
 *    descriptors, signals and directory and execs the shell (see
 *    proc_child()).
 * 2. proc_read_cb() hands output to the owner's output callback.
 * 3. At EOF the child is almost always exiting too: waitpid(WNOHANG)
 *    collects it, after a sched_yield() or two when it has closed its
 *    descriptors but is not a zombie yet (waking this loop often
 *    preempts it in exit(); without the yield that was 14 % of the tasks
 *    of a flat graph and 40 % of a chain). There is no SIGCHLD handler,
 *    so an exit costs no signal delivery and no extra wake-up. The two
 *    other orders are rare and handled apart: a child still running
 *    after its EOF (it closed its output) is watched through a
 *    pidfd; a child that exited while something it started holds the
 *    pipe is found by proc_poll() (once a second), and the pipe is closed
 *    after PROC_LINGER ms and the leftover process group killed.
 * 4. When both the pipe is at EOF and the child was reaped, proc_done()
 *    calls the exit callback and frees the proc.
 *
 * Timeouts follow a TERM-then-KILL ladder on the whole process group:
 * SIGTERM at the deadline, SIGKILL PROC_GRACE seconds later.
 */

#include <sys/types.h>
#include <sys/pidfd.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "worker.h"

#define PROC_LINGER	2000		/* ms to wait for EOF after exit */
#define PROC_YIELDS	2		/* sched_yield()s at EOF before a pidfd */
#define PROC_STACK	65536		/* the child's stack until exec */

struct proc {
	struct event_base	*base;
	pid_t			 pid;
	int			 fd;		/* read end of the output pipe */
	struct event		*ev_read;
	struct event		*ev_timer;	/* deadline, grace, linger */
	struct event		*ev_exit;	/* pidfd, when EOF came first */
	int			 pidfd;
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

/* What the child needs before exec; it runs on proc_stack. */
struct proc_exec {
	int		 out;		/* write end of the pipe */
	const char	*cwd;
	char		**argv;		/* /bin/sh -c COMMAND, or the words */
	char		**env;
	sigset_t	 mask;		/* the task's: empty */

	/* Direct execution only (argv holds the words). */
	int		 direct;
	char		**shell;	/* /bin/sh -c COMMAND, for ENOEXEC */
	const char	*path;		/* the task's PATH */
	size_t		 pwd_slot;	/* env[pwd_slot] is set to PWD=... */
	char		*pwd;		/* "PWD=..." the task inherits, or NULL */
};

static LIST_HEAD(, proc) procs = LIST_HEAD_INITIALIZER(procs);

static int	proc_null = -1;		/* /dev/null, the children's stdin */
static int	proc_sigs[NSIG];	/* reset to SIG_DFL in the child */
static int	proc_nsigs = -1;
static char	proc_stack[PROC_STACK] __attribute__((aligned(16)));
static char	proc_pwd[4 + PATH_MAX];	/* the child's PWD=, when it builds one */

/*
 * First words that must reach the shell (sorted, for bsearch): its
 * reserved words, and the builtins with no program of the same name and
 * meaning in PATH (echo and printf differ from coreutils' on options and
 * escapes, pwd prints the logical directory).
 */
static const char *proc_shell_words[] = {
	".", ":", "alias", "bg", "break", "case", "cd", "command",
	"continue", "do", "done", "echo", "elif", "else", "esac", "eval",
	"exec", "exit", "export", "fc", "fg", "fi", "for", "getopts", "hash",
	"if", "in", "jobs", "kill", "local", "printf", "pwd", "read",
	"readonly", "return", "set", "shift", "test", "then", "times", "trap",
	"type", "ulimit", "umask", "unalias", "unset", "until", "wait",
	"while",
};

/* Bytes the shell gives no meaning to inside a word. */
#define PROC_PLAIN \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" \
	"_-./,:@%+="

static void	proc_done(struct proc *);
static void	proc_collect(struct proc *, int);

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

/*
 * Output is ready on the pipe. The read end stays blocking: one read per
 * readiness cannot block, and more output simply makes the event fire
 * again.
 */
static void
proc_read_cb(int fd, short events, void *arg)
{
	struct proc	*p = arg;
	char		 buf[65536];
	ssize_t		 n;

	(void)events;
	n = read(fd, buf, sizeof buf);
	if (n > 0) {
		p->output_cb(p, buf, (size_t)n, p->arg);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF or error: the pipe is done, and the child is usually gone. */
	event_del(p->ev_read);
	p->closed = 1;
	if (!p->exited)
		proc_collect(p, 1);
	proc_done(p);
}

/* The pidfd of a child still running after EOF is readable: it exited. */
static void
proc_pidfd_cb(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	proc_collect(arg, 0);
	proc_done(arg);
}

/*
 * Collect the child's status if it has exited. With watch set, a child
 * still running gets a pidfd to wake the loop when it exits.
 */
static void
proc_collect(struct proc *p, int watch)
{
	pid_t	pid;
	int	status, yields = watch ? PROC_YIELDS : 0;

	for (;;) {
		pid = waitpid(p->pid, &status, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid != 0 || yields-- == 0)
			break;
		/*
		 * At EOF the child is almost always inside exit(): its
		 * descriptors are closed but it is not a zombie yet, often
		 * because waking this loop preempted it. Let it finish.
		 */
		sched_yield();
	}
	if (pid == p->pid) {
		p->exited = 1;
		p->status = status;
		if (p->timer_kind == PROC_TIMER_DEADLINE)
			evtimer_del(p->ev_timer);
		return;
	}
	if (pid == -1) {		/* not our child any more: give up */
		log_warn("%s: waitpid %ld", __func__, (long)p->pid);
		p->exited = 1;
		p->status = 255 << 8;
		return;
	}
	if (!watch || p->ev_exit != NULL)
		return;
	if ((p->pidfd = pidfd_open(p->pid, 0)) == -1) {
		log_warn("%s: pidfd_open %ld", __func__, (long)p->pid);
		return;			/* proc_poll() finds it */
	}
	p->ev_exit = event_new(p->base, p->pidfd, EV_READ, proc_pidfd_cb, p);
	if (p->ev_exit == NULL)
		fatalx("%s: event_new", __func__);
	event_add(p->ev_exit, NULL);
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
	reaper_forget(p->pid);
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
	if (p->ev_exit != NULL) {
		event_free(p->ev_exit);
		close(p->pidfd);
	}
	close(p->fd);
	free(p);
}

/*
 * The kernel's struct sigaction: the raw system call reaches the two
 * real-time signals the C library keeps for itself (32 and 33), which
 * its sigaction() refuses, and a shell that ignored them hands that on.
 */
struct proc_ksigaction {
	void		*handler;
	unsigned long	 flags;
	void		*restorer;
	uint64_t	 mask;
};

static int
proc_sigaction(int sig, const struct proc_ksigaction *act,
    struct proc_ksigaction *old)
{
	return ((int)syscall(SYS_rt_sigaction, sig, act, old,
	    sizeof act->mask));
}

/*
 * The signals whose disposition is not the default: the agent's handlers
 * and what it ignores or inherited ignored (SIGPIPE, or SIGINT under a
 * non-interactive shell's `&`). Read once, at the first spawn, after the
 * agent has set up its signals.
 */
static void
proc_scan_signals(void)
{
	struct proc_ksigaction	ka;
	int			sig;

	proc_nsigs = 0;
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (proc_sigaction(sig, NULL, &ka) == 0 &&
		    ka.handler != (void *)SIG_DFL)
			proc_sigs[proc_nsigs++] = sig;
	}
}

/* Write a message to fd 2 of the child; only raw system calls here. */
static void
proc_child_error(const char *what, const char *arg, const char *msg)
{
	(void)!write(2, what, strlen(what));
	if (arg != NULL) {
		(void)!write(2, " \"", 2);
		(void)!write(2, arg, strlen(arg));
		(void)!write(2, "\"", 1);
	}
	if (msg != NULL) {
		(void)!write(2, ": ", 2);
		(void)!write(2, msg, strlen(msg));
	}
	(void)!write(2, "\n", 1);
}

/*
 * PWD as the shell would export it: the inherited one if it names the
 * working directory, else the physical path. Builds into proc_pwd, which
 * the agent does not touch while the child runs.
 */
static void
proc_child_pwd(struct proc_exec *x)
{
	struct stat	 here, there;

	if (x->pwd != NULL && x->pwd[4] == '/' && stat(".", &here) == 0 &&
	    stat(x->pwd + 4, &there) == 0 && here.st_dev == there.st_dev &&
	    here.st_ino == there.st_ino) {
		x->env[x->pwd_slot] = x->pwd;
		return;
	}
	memcpy(proc_pwd, "PWD=", 4);
	if (getcwd(proc_pwd + 4, sizeof proc_pwd - 4) != NULL)
		x->env[x->pwd_slot] = proc_pwd;
}

/*
 * Execute the words as the shell would: a name with a slash as it is,
 * any other through each directory of PATH in turn (an empty one is the
 * working directory), going on past any failure as dash does and
 * reporting the last one that was not "no such file". A file the kernel
 * cannot execute is a script without #!, which only the shell runs.
 * Returns only on ENOEXEC.
 */
static void
proc_child_direct(struct proc_exec *x)
{
	const char	*file = x->argv[0], *dir = x->path, *end;
	char		 buf[PATH_MAX];
	size_t		 dlen, flen = strlen(file);
	int		 error = ENOENT;

	proc_child_pwd(x);
	if (strchr(file, '/') != NULL) {
		execve(file, x->argv, x->env);
		if ((error = errno) == ENOEXEC)
			return;
	} else {
		for (;;) {
			end = strchrnul(dir, ':');
			dlen = (size_t)(end - dir);
			if (dlen + 1 + flen < sizeof buf) {
				memcpy(buf, dir, dlen);
				if (dlen > 0)
					buf[dlen++] = '/';
				memcpy(buf + dlen, file, flen + 1);
				execve(buf, x->argv, x->env);
				if (errno == ENOEXEC)
					return;
				if (errno != ENOENT && errno != ENOTDIR)
					error = errno;
			}
			if (*end == '\0')
				break;
			dir = end + 1;
		}
	}
	if (error == ENOENT || error == ENOTDIR) {
		proc_child_error("cannot run", file, "command not found");
		_exit(127);
	}
	proc_child_error("cannot run", file, strerrordesc_np(error));
	_exit(126);
}

/*
 * The child, on proc_stack, sharing the agent's memory until it execs
 * (the agent is suspended meanwhile): it only makes system calls and
 * writes nothing but its own stack. Every signal is blocked on entry, so
 * no handler of the agent can run here; the dispositions the agent set
 * go back to the default before the task's empty mask is installed.
 */
static int
proc_child(void *arg)
{
	struct proc_exec	*x = arg;
	struct proc_ksigaction	 ka;
	int			 i;

	memset(&ka, 0, sizeof ka);
	ka.handler = (void *)SIG_DFL;
	for (i = 0; i < proc_nsigs; i++)
		proc_sigaction(proc_sigs[i], &ka, NULL);
	if (setpgid(0, 0) == -1 ||
	    dup2(proc_null, 0) == -1 || dup2(x->out, 1) == -1 ||
	    dup2(x->out, 2) == -1) {
		proc_child_error("cannot set up the task's descriptors", NULL,
		    strerrordesc_np(errno));
		_exit(127);
	}
	if (x->cwd != NULL && chdir(x->cwd) == -1) {
		proc_child_error("working directory", x->cwd,
		    strerrordesc_np(errno));
		_exit(127);
	}
	close_range(3, ~0U, 0);
	sigprocmask(SIG_SETMASK, &x->mask, NULL);
	if (x->direct) {
		proc_child_direct(x);
		x->argv = x->shell;	/* a script without #! */
	}
	execve("/bin/sh", x->argv, x->env);
	proc_child_error("cannot start", "/bin/sh", strerrordesc_np(errno));
	_exit(127);
}

/* bsearch() over proc_shell_words. */
static int
proc_cmp_word(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(const char *const *)b));
}

/* A byte the shell gives no meaning to inside a word. */
static int
proc_plain(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr(PROC_PLAIN, c)));
}

/*
 * The words of a command the shell would run as one program found in
 * PATH: plain bytes, spaces and tabs only, and a first word that is no
 * assignment, reserved word or builtin. Returns a NULL-terminated argv
 * in one allocation (free it), or NULL when the shell must run it.
 */
char **
proc_words(const char *command)
{
	const char	*c;
	char		**argv, *w;
	size_t		 len = strlen(command), n = 0;

	for (c = command; *c != '\0'; c++) {
		if (*c != ' ' && *c != '\t' && !proc_plain((unsigned char)*c))
			return (NULL);
	}
	argv = xmalloc((len / 2 + 2) * sizeof *argv + len + 1);
	w = memcpy(argv + len / 2 + 2, command, len + 1);
	for (;;) {
		while (*w == ' ' || *w == '\t')
			*w++ = '\0';
		if (*w == '\0')
			break;
		argv[n++] = w;
		w += strcspn(w, " \t");
	}
	argv[n] = NULL;
	if (n == 0 || strchr(argv[0], '=') != NULL)
		goto shell;
	if (bsearch(&argv[0], proc_shell_words, sizeof proc_shell_words /
	    sizeof proc_shell_words[0], sizeof proc_shell_words[0],
	    proc_cmp_word) != NULL)
		goto shell;
	return (argv);
shell:
	free(argv);
	return (NULL);
}

/*
 * Set x up to execute words without the shell: its PATH and PWD, and a
 * copy of the environment with a slot for the PWD the child settles.
 * Returns the copy, or NULL (the shell runs it) when there is no PATH,
 * whose default only the shell knows.
 */
static char **
proc_direct(struct proc_exec *x, char **words, char **env)
{
	char	**copy;
	size_t	 n, slot = SIZE_MAX;

	x->path = NULL;
	x->pwd = NULL;
	for (n = 0; env[n] != NULL; n++) {
		if (strncmp(env[n], "PATH=", 5) == 0)
			x->path = env[n] + 5;
		else if (strncmp(env[n], "PWD=", 4) == 0) {
			x->pwd = env[n];
			slot = n;
		}
	}
	if (x->path == NULL)
		return (NULL);
	copy = xreallocarray(NULL, n + 2, sizeof *copy);
	memcpy(copy, env, (n + 1) * sizeof *copy);
	x->pwd_slot = slot != SIZE_MAX ? slot : n;
	copy[n + 1] = NULL;
	x->direct = 1;
	x->shell = x->argv;
	x->argv = words;
	x->env = copy;
	return (copy);
}

/*
 * What every spawn needs before the child: the working directory checked,
 * /dev/null open, the signal dispositions read, the output pipe (pfd).
 * -1 with *cause when the child could not be started at all.
 */
static int
proc_prepare(const struct proc_spec *spec, int pfd[2], char **cause)
{
	struct stat	sb;

	if (spec->cwd != NULL && (stat(spec->cwd, &sb) != 0 ||
	    !S_ISDIR(sb.st_mode))) {
		xasprintf(cause, "working directory \"%s\": %s", spec->cwd,
		    errno != 0 ? strerror(errno) : "not a directory");
		return (-1);
	}
	if (proc_null == -1 &&
	    (proc_null = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "/dev/null: %s", strerror(errno));
		return (-1);
	}
	if (proc_nsigs == -1)
		proc_scan_signals();
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Clone the child for x, every signal blocked meanwhile (see
 * proc_child()). Returns its pid, or -1 with *error.
 */
static pid_t
proc_clone(struct proc_exec *x, int *error)
{
	sigset_t	all, old;
	pid_t		pid;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = clone(proc_child, proc_stack + sizeof proc_stack,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, x);
	*error = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
#ifdef __SANITIZE_ADDRESS__
	/* The child's frames never returned: clear what they left marked. */
	ASAN_UNPOISON_MEMORY_REGION(proc_stack, sizeof proc_stack);
#endif
	return (pid);
}

/* The proc of a started child pid, reading its output from fd. */
static struct proc *
proc_new(struct event_base *base, const struct proc_spec *spec, pid_t pid,
    int fd)
{
	struct proc	*p;

	p = xcalloc(1, sizeof *p);
	p->base = base;
	p->pid = pid;
	p->fd = fd;
	p->pidfd = -1;
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

/*
 * Start spec->command. Returns NULL with *cause set when the child could
 * not be started at all (no such directory, out of processes).
 */
struct proc *
proc_start(struct event_base *base, const struct proc_spec *spec,
    char **cause)
{
	struct proc_exec	 x;
	char			*argv[4], **words, **env = NULL;
	int			 pfd[2], error;
	pid_t			 pid;

	if (proc_prepare(spec, pfd, cause) != 0)
		return (NULL);
	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)spec->command;
	argv[3] = NULL;
	memset(&x, 0, sizeof x);
	x.out = pfd[1];
	x.cwd = spec->cwd;
	x.argv = argv;
	x.env = spec->env;
	sigemptyset(&x.mask);
	if ((words = proc_words(spec->command)) != NULL &&
	    (env = proc_direct(&x, words, spec->env)) == NULL) {
		free(words);
		words = NULL;
	}
	pid = proc_clone(&x, &error);
	free(words);
	free(env);
	close(pfd[1]);
	if (pid == -1) {
		close(pfd[0]);
		xasprintf(cause, "cannot start /bin/sh: %s", strerror(error));
		return (NULL);
	}
	reaper_watch(pid);	/* its group's id is its pid */
	return (proc_new(base, spec, pid, pfd[0]));
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

/*
 * Once a second: collect children that exited while their pipe is still
 * held open by something they started (their EOF will not come).
 */
void
proc_poll(void)
{
	struct proc	*p, *next;

	for (p = LIST_FIRST(&procs); p != NULL; p = next) {
		next = LIST_NEXT(p, entry);
		if (p->exited || p->ev_exit != NULL)
			continue;
		proc_collect(p, 0);
		if (p->exited)
			proc_done(p);
	}
}
