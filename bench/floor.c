/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The floor of the throughput and overhead benchmarks: what this machine
 * charges for running N tasks of COMMAND from one libevent loop with
 * SLOTS at a time, the way an agent does (posix_spawn, stdout and stderr
 * on a pipe read to EOF, SIGCHLD, waitpid), with no Redis, no scheduling
 * and no bookkeeping. Like an agent, it executes a COMMAND of one plain
 * word itself (through PATH) and any other through `/bin/sh -c`.
 * bench.py runs four of them side by side, 2 slots each, like 4 agents x
 * --parallel 2: the gap between them and dteq is dteq's own cost.
 *
 * With SOCKET, the path of a redis-server's unix socket, each task
 * starts only when the reply to one command has come back (LMOVE of a
 * one-element list onto itself, through hiredis on the same loop): the
 * least any design with one Redis round trip per task pays, the floor
 * of agents plus Redis.
 *
 *	floor N SLOTS [COMMAND [SOCKET]]
 *
 * prints one JSON line: tasks, slots, wall seconds, tasks per second, and
 * the loop's own CPU time per task in microseconds (children excluded).
 */

#include <sys/resource.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

extern char **environ;

/* A command of these bytes only is one word the shell would not touch. */
#define PLAIN	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
		"0123456789_-./,:@%+"

struct slot {
	pid_t		 pid;
	int		 fd;
	int		 eof;
	int		 exited;
	struct event	*ev;
};

static struct event_base *base;
static struct slot	*slots;
static int		 nslots, left, running;
static const char	*command = "true";

/* With a socket: one command per task, answered before the task starts. */
static redisAsyncContext *ac;
static char		 key[64];
static int		 total, requested, asking, granted;

static void	start(void);
static void	ask(void);

static void
claimed_cb(redisAsyncContext *c, void *r, void *privdata)
{
	redisReply	*reply = r;

	(void)c;
	(void)privdata;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
		fprintf(stderr, "LMOVE: %s\n", reply == NULL ? "no reply" :
		    reply->type == REDIS_REPLY_ERROR ? reply->str : "no element");
		exit(1);
	}
	asking--;
	granted++;
	start();
}

/* Ask for as many tasks as there are slots without one. */
static void
ask(void)
{
	while (requested < total && running + asking + granted < nslots) {
		redisAsyncCommand(ac, claimed_cb, NULL, "LMOVE %s %s RIGHT LEFT",
		    key, key);
		requested++;
		asking++;
	}
}

static void
finish(struct slot *s)
{
	if (!s->eof || !s->exited)
		return;
	event_free(s->ev);
	close(s->fd);
	s->pid = 0;
	running--;
	if (ac != NULL)
		ask();
	else
		start();
	if (left == 0 && running == 0)
		event_base_loopexit(base, NULL);
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot	*s = arg;
	char		 buf[4096];
	ssize_t		 n;

	(void)what;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		;
	if (n == 0) {
		s->eof = 1;
		event_del(s->ev);
		finish(s);
	}
}

static void
chld_cb(evutil_socket_t sig, short what, void *arg)
{
	pid_t	pid;
	int	st, i;

	(void)sig;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < nslots; i++) {
			if (slots[i].pid == pid) {
				slots[i].exited = 1;
				finish(&slots[i]);
			}
		}
	}
}

static void
start(void)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[4];
	struct slot			*s;
	int				 p[2], i, error;

	while (left > 0 && running < nslots && (ac == NULL || granted > 0)) {
		if (ac != NULL)
			granted--;
		for (s = NULL, i = 0; i < nslots && s == NULL; i++)
			if (slots[i].pid == 0)
				s = &slots[i];
		if (pipe2(p, O_CLOEXEC) == -1) {
			perror("pipe2");
			exit(1);
		}
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_adddup2(&fa, p[1], 2);
		argv[0] = (char *)"/bin/sh";
		argv[1] = (char *)"-c";
		argv[2] = (char *)command;
		argv[3] = NULL;
		if (strspn(command, PLAIN) == strlen(command))
			error = posix_spawnp(&s->pid, command, &fa, NULL,
			    argv + 2, environ);
		else
			error = posix_spawn(&s->pid, "/bin/sh", &fa, NULL,
			    argv, environ);
		if (error != 0) {
			fprintf(stderr, "posix_spawn: %s\n", strerror(error));
			exit(1);
		}
		posix_spawn_file_actions_destroy(&fa);
		close(p[1]);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		s->fd = p[0];
		s->eof = s->exited = 0;
		s->ev = event_new(base, p[0], EV_READ | EV_PERSIST, read_cb, s);
		event_add(s->ev, NULL);
		left--;
		running++;
	}
}

int
main(int argc, char **argv)
{
	struct timespec	 t0, t1;
	struct rusage	 ru;
	struct event	*sig;
	double		 wall, cpu;
	int		 n;

	if (argc < 3 || (n = atoi(argv[1])) < 1 ||
	    (nslots = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: floor N SLOTS [COMMAND [SOCKET]]\n");
		return (2);
	}
	if (argc > 3)
		command = argv[3];
	left = total = n;
	slots = calloc((size_t)nslots, sizeof *slots);
	base = event_base_new();
	if (slots == NULL || base == NULL)
		return (1);
	sig = evsignal_new(base, SIGCHLD, chld_cb, NULL);
	evsignal_add(sig, NULL);
	if (argc > 4) {
		ac = redisAsyncConnectUnix(argv[4]);
		if (ac == NULL || ac->err != 0) {
			fprintf(stderr, "connect %s: %s\n", argv[4],
			    ac == NULL ? "out of memory" : ac->errstr);
			return (1);
		}
		redisLibeventAttach(ac, base);
		snprintf(key, sizeof key, "floor:%ld", (long)getpid());
		redisAsyncCommand(ac, NULL, NULL, "RPUSH %s x", key);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ac != NULL)
		ask();
	else
		start();
	event_base_dispatch(base);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	wall = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("{\"tasks\": %d, \"slots\": %d, \"wall_s\": %.4f, "
	    "\"rate\": %.1f, \"cpu_us_per_task\": %.1f}\n", n, nslots, wall,
	    n / wall, 1e6 * cpu / n);
	if (ac != NULL)
		redisAsyncFree(ac);
	event_free(sig);
	event_base_free(base);
	free(slots);
	return (0);
}
