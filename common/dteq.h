/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Shared declarations: the structs both sides use (task, result, keys,
 * Redis URL, connection) and the prototypes of common/, grouped by file.
 * producer/producer.h and worker/worker.h include this header and add
 * their own sections; neither includes the other.
 */

#ifndef DTEQ_H
#define DTEQ_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define DTEQ_VERSION		"0.1.0"

/*
 * The protocol between submit and agents: messages, events, scripts and
 * keys. Submit writes it into the run's meta hash and an agent serves only
 * a run of its own protocol. Bump it with every change an agent of the
 * other side would misread or ignore (1: every dteq before the field).
 */
#define DTEQ_PROTOCOL		2

/* Exit codes (docs/design.md). */
#define EXIT_OK			0
#define EXIT_TASKS_FAILED	1
#define EXIT_USAGE		2
#define EXIT_INFRA		3

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* Defaults. */
#define DEFAULT_REDIS_URL	"redis://127.0.0.1:6379"
#define DEFAULT_TTL		86400		/* seconds every run key lives */
#define DEFAULT_LEASE		15		/* agent heartbeat lease, s */
#define DEFAULT_OUTPUT_CAP	(4 * 1024 * 1024)	/* bytes per task log */
#define DEFAULT_AGENT_WAIT	600
#define DEFAULT_FALLBACK_AFTER	60		/* s: the main job runs tasks */
#define DEFAULT_WORK_WAIT	600
#define DEFAULT_CONNECT_TIMEOUT	10
#define DEFAULT_MAX_RECLAIMS	2		/* requeues of a lost task */
#define DEFAULT_MAIN_LEASE	30		/* s: agents give up on submit */
#define RUN_ID_MAX		128

struct event_base;

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 xvasprintf(char **, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

/* log.c */
void		 log_init(const char *, int);
void		 log_set_prefix(const char *);
int		 log_get_verbose(void);
void		 log_debug(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_info(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_warn(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_warnx(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatal(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/* json.c: a reader for the objects of the hot path (no tree, no copies). */
#define JSON_STRING	1
#define JSON_NUMBER	2
#define JSON_OBJECT	3
#define JSON_ARRAY	4
#define JSON_TRUE	5
#define JSON_FALSE	6
#define JSON_NULL	7
struct json_val {
	int		 type;
	const char	*p;		/* the value's text (a string's inside) */
	size_t		 len;
	int		 escaped;	/* a string with a backslash */
};
struct json_member {
	struct json_val	 key;
	struct json_val	 val;
};
struct json_obj {
	struct json_member *m;
	size_t		 n;
	size_t		 cap;
	struct json_member small[16];
};
int		 json_object(const char *, size_t, struct json_obj *, char **);
void		 json_obj_free(struct json_obj *);
const struct json_val *json_get(const struct json_obj *, const char *);
int		 json_string_eq(const struct json_val *, const char *);
char		*json_string(const struct json_val *);	/* caller frees */
int		 json_number(const struct json_val *, double *);

/* clip.c */
#define CLIP_HEAD(cap)	((cap) - (cap) / 4)	/* bytes of the head kept */
struct clip {
	size_t		 cap;		/* head, tail: at most this */
	size_t		 headcap;
	size_t		 tailcap;
	size_t		 head;		/* head bytes taken */
	char		*ring;		/* the tail so far, tailcap bytes */
	size_t		 ringpos;	/* its oldest byte */
	size_t		 ringlen;
	uint64_t	 total;		/* bytes given */
	uint64_t	 dropped;	/* bytes left out */
	uint64_t	 dropped_lines;	/* newlines left out */
	int		 head_nl;	/* the head ends a line */
	int		 drop_nl;	/* the last byte left out was one */
	int		 ended;
};
void		 clip_init(struct clip *, size_t);
size_t		 clip_add(struct clip *, const char *, size_t);
void		 clip_gap(struct clip *, uint64_t, uint64_t, int);
int		 clip_is_cut(const struct clip *);
const char	*clip_tail(struct clip *, size_t *);
char		*clip_end(struct clip *, size_t *);	/* caller frees */
void		 clip_free(struct clip *);

/* util.c */
long long	 util_strtonum(const char *, long long, long long,
		     const char **);
int		 util_parse_seconds(const char *, const char *, int, int *,
		     char **);
int		 util_hex_digit(int);		/* -1: not one */
uint64_t	 util_now_ms(void);		/* monotonic */
uint64_t	 util_wall_ms(void);		/* wall clock, ms since epoch */
char		*util_format_duration(uint64_t);	/* "1.23s"; caller frees */
#define UTIL_READ_MAX	(256ULL * 1024 * 1024)	/* a task file's bytes */
#define UTIL_READ_MAX_TEXT "256 MiB"
int		 util_read_file(const char *, char **, size_t *, char **);
size_t		 util_utf8_seq(const unsigned char *, size_t, size_t *);
int		 util_utf8_valid(const char *, size_t, size_t *);
char		*util_json_escape(const char *, size_t);	/* caller frees */
size_t		 util_json_escape_into(char *, const unsigned char *, size_t);
size_t		 util_json_escape_raw(char *, const unsigned char *, size_t);
size_t		 util_u64_dec(char *, uint64_t);
char		*util_git_commit(void);			/* caller frees */
char		*util_random_hex(size_t);	/* n random bytes as hex */
void		 util_sha1_hex(const void *, size_t, char [41]);
char		*util_runner_pool(pid_t);	/* caller frees */
void		 util_runner_pool_remove(pid_t);

/* url.c */
#define URL_TCP		0
#define URL_UNIX	1
struct redis_url {
	int		 type;		/* URL_TCP or URL_UNIX */
	char		*host;		/* URL_TCP */
	int		 port;
	char		*path;		/* URL_UNIX */
	char		*user;		/* NULL: default user */
	char		*password;	/* NULL: no AUTH */
	int		 db;
};
int		 url_parse(const char *, struct redis_url *, char **);
void		 url_free(struct redis_url *);
char		*url_display(const struct redis_url *);	/* no password */
char		*url_format(const struct redis_url *, int);
void		 url_scrub(char *);

/* runid.c */
typedef const char *(*env_get_fn)(const char *, void *);
int		 runid_valid(const char *, char **);
char		*runid_detect(env_get_fn, void *, const char **);
char		*runid_agent_name(env_get_fn, void *);
const char	*runid_getenv(const char *, void *);
char		*runid_repo(env_get_fn, void *, const char *, const char **);
char		*runid_repo_from_url(const char *);
void		 runid_repo_sanitize(char *);
int		 runid_is_rerun(env_get_fn, void *, const char *, char **);
const char	*runid_ci(env_get_fn, void *);

/*
 * cli.c: the options every subcommand shares. A getopt_long table lists
 * CLI_OPTIONS among its own; each option goes to cli_option() first.
 */
#define CLI_OPT_CONNECT_TIMEOUT	0x101
#define CLI_OPT_REDIS		0x102
#define CLI_OPT_RUN		0x103
#define CLI_OPT_REPO		0x104
#define CLI_OPTIONS							\
	{ "connect-timeout", required_argument, NULL, CLI_OPT_CONNECT_TIMEOUT }, \
	{ "help", no_argument, NULL, 'h' },				\
	{ "redis", required_argument, NULL, CLI_OPT_REDIS },		\
	{ "repo", required_argument, NULL, CLI_OPT_REPO },		\
	{ "run", required_argument, NULL, CLI_OPT_RUN },		\
	{ "verbose", no_argument, NULL, 'v' }
struct cli_opts {
	const char	*prog;		/* "dteq status": log prefix */
	const char	*redis;		/* --redis */
	const char	*run;		/* --run */
	const char	*repo;		/* --repo ("-": none) */
	int		 connect_timeout; /* --connect-timeout, s */
	int		 verbose;	/* -v */
	int		 help;		/* -h */
};
void		 cli_init(struct cli_opts *, const char *);
int		 cli_option(struct cli_opts *, int, const char *, char **);
int		 cli_no_arguments(int, char **, char **);
int		 cli_resolve(const struct cli_opts *, struct redis_url *,
		     char **, char **);
const char	*cli_env(const char *);
int		 cli_redis_url(const char *, struct redis_url *, char **);
int		 cli_run_id(const char *, char **, char **);
char		*cli_repo(const struct cli_opts *);	/* caller frees */
struct redisContext *cli_connect(const struct redis_url *, int, char **);

/*
 * keys.c: the only place Redis key and channel names are built. Every key
 * of a run carries the hash tag {RUN} (no repository) or {RUN@H} (H: the
 * repository's digest), so a run lives in one cluster slot.
 */
#define KEYS_REPO_HEX	12		/* hex digits of a repository's H */
struct keys {
	char		*run;
	char		*repo;		/* NULL: none */
	char		*tag;		/* RUN or RUN@H */
	char		*prefix;	/* dteq:{TAG}: */
	char		*meta;		/* hash: run settings and state */
	char		*queue;		/* list: ready task messages */
	char		*attempts;	/* hash: task id -> current attempt */
	char		*claims;	/* hash: task id -> attempt started */
	char		*results;	/* hash: task id -> result JSON */
	char		*staged;	/* hash: task id -> side attempt msg */
	char		*waiting;	/* hash: staged id -> deps left */
	char		*waiters;	/* hash: task id -> staged ids */
	char		*agents;	/* set: agent names that joined */
	char		*events;	/* channel: started/finished/stop */
	char		*control;	/* channel: run/stop, for agents */
	char		*stop;		/* string: the stop sentinel */
	char		*main_hb;	/* string with TTL: submit is alive */
	char		*seen;		/* string: its last heartbeat, ms */
	char		*hb_prefix;	/* dteq:{RUN}:hb: + agent */
	char		*running_prefix; /* dteq:{RUN}:running: + agent */
	char		*log_prefix;	/* dteq:{RUN}:log: + attempt:id */
	char		*records;	/* hash: dteq record's id -> result */
};
void		 keys_init(struct keys *, const char *, const char *);
void		 keys_init_tag(struct keys *, const char *);
void		 keys_free(struct keys *);
char		*keys_running(const struct keys *, const char *);
char		*keys_hb(const struct keys *, const char *);
char		*keys_log(const struct keys *, const char *, int);
char		*keys_history(const char *);	/* outside any run */

/*
 * task.c and taskfile.c: a task as the task file describes it, and the
 * message the producer puts on the queue for one attempt of it.
 */
struct task_env {
	char		*name;
	char		*value;
};
struct task {
	char		*id;
	char		*command;
	char		*cwd;		/* NULL: the agent's directory */
	char		*target;	/* from the id or the target field */
	char	       **deps;
	size_t		 ndeps;
	struct task_env	*env;
	size_t		 nenv;
	char	       **outputs;
	size_t		 noutputs;
	int		 timeout;	/* seconds, 0: none */
	int		 retries;	/* -1: not set (run default) */
	char		*restore;	/* brings its outputs to a checkout */
	char		*restore_arg;	/* restore is a template: see task.c */
	int		 restore_inline; /* its dependents' commands bring them */
	char		*hash;		/* its outputs' key in the remote cache,
					   known at submit, or NULL */
	char		*cache_as;	/* the key its tool's one artifact is
					   read and written under, or NULL */
};
#define TASK_HASH_MAX	128		/* bytes of a cache key */
struct taskset {
	struct task	*tasks;
	size_t		 ntasks;
};
void		 task_clear(struct task *);
void		 task_env_free(struct task_env *, size_t);
void		 taskset_free(struct taskset *);
int		 taskfile_parse(const char *, size_t, const char *,
		     struct taskset *, char **);
char		*task_target_of(const char *);	/* caller frees */
int		 task_hash_valid(const char *);
struct cJSON;
const char	*taskfile_type(const struct cJSON *);
struct cJSON	*taskfile_json(const char *, size_t, size_t *);
void		 taskfile_position(const char *, size_t, size_t *, size_t *);

/*
 * How an agent gets the outputs of a dependency that ran elsewhere onto
 * its checkout: run, or with arg, run's "{}" filled with the args of
 * every missing entry of the same run (one command for several); with
 * run NULL, the task's own command brings them.
 */
struct task_restore {
	char		*id;
	char		*run;		/* NULL: the task's command restores */
	char		*arg;		/* NULL: run as it is */
};

/* The queue message for one attempt of a task. */
struct task_msg {
	char		*run;
	char		*id;
	int		 attempt;
	char		*command;
	char		*cwd;
	struct task_env	*env;
	size_t		 nenv;
	int		 timeout;
	char		*avoid;		/* agent to avoid, or NULL */
	int		 leaf;		/* no task depends on it */
	int		 restorable;	/* has a restore: keep it in mind */
	struct task_restore *restores;	/* its dependencies', in order */
	size_t		 nrestores;
	char		*cache_as;	/* its artifact's key, or NULL */
};
char		*task_msg_encode(const char *, const struct task *, int,
		     const char *, int, struct task *const *, size_t,
		     size_t *);	/* caller frees */
int		 task_msg_decode(const char *, size_t, struct task_msg *,
		     char **);
void		 task_msg_clear(struct task_msg *);

/* sign.c */
int		 sign_load_secret(const char *, char **, char **);
char		*sign_message(const char *, const char *, size_t, size_t *);
int		 sign_verify(const char *, const char *, size_t, const char **,
		     size_t *, char **);
char		*sign_check_token(const char *, const char *);
const char	*sign_payload(const char *, size_t, size_t *);

/* result.c: the durable record of one attempt and the events. */
#define RESULT_SUCCESS	0
#define RESULT_FAILED	1
#define RESULT_TIMEOUT	2
#define RESULT_SKIPPED	3
#define RESULT_LOST	4
#define RESULT_CANCELLED 5
#define RESULT_NSTATUS	6
struct result {
	char		*id;
	int		 status;	/* RESULT_* */
	int		 exit_code;	/* WEXITSTATUS or 128 + signal */
	int		 attempt;
	char		*agent;
	uint64_t	 start_ms;	/* wall clock of the agent */
	uint64_t	 end_ms;
	uint64_t	 duration_ms;	/* monotonic on the agent */
	uint64_t	 output_bytes;
	char		*reason;	/* free text, may be NULL */
	int		 cached;	/* a success submit found in the
					   remote cache: not run */
};
const char	*result_status_name(int);
int		 result_status_from_name(const char *);
char		*result_encode(const struct result *, size_t *);
int		 result_decode(const char *, size_t, struct result *, char **);
void		 result_copy(struct result *, const struct result *);
void		 result_clear(struct result *);

/* Events on the run's channel. */
#define EVENT_STARTED	0
#define EVENT_FINISHED	1
#define EVENT_STOP	2
#define EVENT_AGENT	3
#define EVENT_RUN	4
#define EVENT_LOG	5
struct event_msg {
	int		 type;
	char		*id;		/* EVENT_STARTED, EVENT_FINISHED */
	int		 attempt;
	char		*agent;
	char		*reason;	/* EVENT_STOP */
	struct result	 result;	/* EVENT_FINISHED */
	uint64_t	 offset;	/* EVENT_LOG: where the chunk starts */
	uint64_t	 length;	/* EVENT_LOG: its length in the log */
	char		*next_id;	/* EVENT_FINISHED: the task its agent */
	int		 next_attempt;	/* claimed in the same step (a */
	char		*next_agent;	/* "started" event), or NULL */
};
char		*event_encode_started(const char *, int, const char *,
		     uint64_t, size_t *);
char		*event_encode_stop(const char *, size_t *);
char		*event_encode_simple(int, const char *, size_t *);
int		 event_decode(const char *, size_t, struct event_msg *,
		     char **);
void		 event_clear(struct event_msg *);

/*
 * rconn.c: one hiredis async connection with reconnect and backoff. The
 * owner's ready callback runs each time the connection is (re)established
 * and authenticated; the lost callback each time it drops.
 */
struct rconn;
typedef void (*rconn_cb)(struct rconn *, void *);
struct rconn	*rconn_new(struct event_base *, const struct redis_url *,
		     const char *, rconn_cb, rconn_cb, void *);
void		 rconn_free(struct rconn *);
int		 rconn_is_ready(const struct rconn *);
struct redisAsyncContext *rconn_context(struct rconn *);
int		 rconn_command(struct rconn *, void (*)(struct redisAsyncContext *,
		     void *, void *), void *, const char *, ...);
struct redisContext *rconn_sync_connect(const struct redis_url *, int,
		     char **);
int		 rconn_command_argv(struct rconn *,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *, int, const char **, const size_t *);
const char	*rconn_error(const struct rconn *);
uint64_t	 rconn_down_ms(const struct rconn *);
void		 rconn_reset(struct rconn *);
const char	*rconn_name(const struct rconn *);
const char	*rconn_info_field(const char *, const char *, char *, size_t);
int		 rconn_memory_full(const char *, char **);
void		 rconn_check_reply(struct redisAsyncContext *, void *, void *);
int		 rconn_command_checked(struct rconn *, const char *,
		     const char *, ...) __attribute__((format(printf, 3, 4)));
struct redisReply *rconn_sync_command(struct redisContext *, char **,
		     const char *, ...) __attribute__((format(printf, 3, 4)));

/* script.c: the Lua scripts that keep the protocol atomic. */
#define SCRIPT_START	0
#define SCRIPT_FINISH	1
#define SCRIPT_RECLAIM	2
#define SCRIPT_LOG	3
#define SCRIPT_RELEASE	4
#define SCRIPT_HEARTBEAT 5
#define SCRIPT_DEFER	6
#define SCRIPT_DISPATCH	7
#define SCRIPT_UNCLAIM	8
#define SCRIPT_STAGE	9
#define SCRIPT_STOP	10
#define SCRIPT_REGISTER	11
#define SCRIPT_COUNT	12
const char	*script_body(int);
const char	*script_sha(int);
void		 script_argv(int, int, const char **, size_t *, unsigned int);
void		 script_load(struct rconn *);
/* script_agent.c: the agent's scripts (worker/). */
struct script_agent {			/* the agent a script is sent for */
	const struct keys *keys;	/* its run's */
	const char	*name;
	const char	*running;	/* its running list */
	const char	*hb;		/* its heartbeat key */
	const char	*instance;	/* this process's token */
};
struct script_attempt {			/* one attempt the agent holds */
	const char	*id;
	const char	*attempt;	/* its number, in decimal */
	const char	*msg;		/* its message, verbatim */
	size_t		 msglen;
	const char	*log;		/* its log key */
};
#define SCRIPT_HB_JOIN		0x1	/* heartbeat: (re)join the run */
#define SCRIPT_HB_RENEW		0x2	/* heartbeat: renew the keys' TTLs */
#define SCRIPT_HB_FRESH		0x4	/* heartbeat: this process's first join */
#define SCRIPT_START_AGAIN	0x1	/* start: a resend: our claim is yes */
#define SCRIPT_START_FRESH	0x2	/* start: the message came by BLMOVE */
#define SCRIPT_FINISH_POP	0x1	/* finish: pop and claim the next */
#define SCRIPT_FINISH_RELEASE	0x2	/* finish: release staged dependents */
#define SCRIPT_FINISH_TTL	0x4	/* finish: renew the results' TTL */
int		 script_heartbeat(struct rconn *, const struct script_agent *,
		     int, int, int, int, void (*)(struct redisAsyncContext *,
		     void *, void *), void *);
int		 script_start(struct rconn *, const struct script_agent *,
		     const struct script_attempt *, const char *, int, int,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 script_finish(struct rconn *, const struct script_agent *,
		     const struct script_attempt *, const char *, int, int,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 script_log(struct rconn *, const struct script_agent *,
		     const struct script_attempt *, const char *, size_t, int,
		     int, void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 script_defer(struct rconn *, const struct script_agent *,
		     const char *, size_t, int,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 script_unclaim(struct rconn *, const struct script_agent *,
		     const char *, size_t, const char *, size_t,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 script_release(struct rconn *, const struct script_agent *,
		     int, void (*)(struct redisAsyncContext *, void *, void *),
		     void *);

/* script_stop(): how a run ends (flags), and what the script answers. */
#define STOP_KEEP	0x1	/* a run already stopped keeps its reason */
#define STOP_IF_RUN	0x2	/* write nothing unless the run exists */
#define STOP_MAIN	0x4	/* the main job ends: its heartbeat goes */
#define STOP_STATE	0x8	/* the meta records state and end time */
#define STOP_WRITTEN	1
#define STOP_HAD	0	/* already stopped (STOP_KEEP) */
#define STOP_NO_RUN	2	/* no such run (STOP_IF_RUN) */
int		 script_stop(struct rconn *, const struct keys *, const char *,
		     int, int, void (*)(struct redisAsyncContext *, void *,
		     void *), void *);
int		 script_stop_sync(struct redisContext *, const struct keys *,
		     const char *, int, int, char **, char **);
struct redisReply *script_register_sync(struct redisContext *,
		     const struct keys *, const char *, const char *, int,
		     const char *, char **);
/* script_submit.c: submit's scripts (producer/). */
/* One task of script_dispatch() and script_stage(): its new attempt. */
struct script_task {
	const char	*id;
	int		 attempt;
	int		 urgent;	/* 1: the popping end ("R"), 0: "L" */
	const char	*msg;		/* the attempt's queue message */
	const char *const *deps;	/* script_stage(): the ids it needs */
	size_t		 ndeps;
};
int		 script_dispatch(struct rconn *, const struct keys *, int,
		     const struct script_task *, size_t,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 script_stage(struct rconn *, const struct keys *, int,
		     const struct script_task *, size_t,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 script_reclaim(struct rconn *, const struct keys *,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);

/*
 * spawn.c: one fork and exec for the commands dteq runs itself (record,
 * run, the tools, the replay). The caller fills in the command and its
 * settings; spawn_start() fills in pid and the pipes' read ends.
 */
#define SPAWN_INHERIT	0	/* out, err: the parent's descriptor */
#define SPAWN_PIPE	1	/* a pipe the parent reads: out_fd, err_fd */
#define SPAWN_FILE	2	/* path, created if need be, appended to */
#define SPAWN_TO_OUT	3	/* err only: wherever stdout goes */
#define SPAWN_FD	4	/* out only: the caller's descriptor, fd */
#define SPAWN_NULL_STDIN 0x1	/* stdin from /dev/null */
#define SPAWN_SETPGID	0x2	/* a process group of its own */
#define SPAWN_SIGPIPE	0x4	/* SIGPIPE back to the default */
#define SPAWN_PARENT_DEATH 0x8	/* SIGTERM when the parent dies */
#define SPAWN_SETSID	0x10	/* a session of its own (outlives us) */
struct spawn {
	char *const	*argv;		/* argv[0] is searched in PATH */
	char *const	*set;		/* "NAME=value" to add, NULL-ended */
	char *const	*unset;		/* names to remove, NULL-ended */
	const char	*cwd;		/* NULL: this directory */
	int		 out;		/* SPAWN_INHERIT, _PIPE or _FILE */
	int		 err;		/* the same, or SPAWN_TO_OUT */
	const char	*path;		/* SPAWN_FILE */
	int		 fd;		/* SPAWN_FD */
	const int	*extra;		/* the child's fds 3, 4, ... */
	int		 nextra;
	int		 flags;		/* SPAWN_NULL_STDIN, ... */

	pid_t		 pid;		/* filled in by spawn_start() */
	int		 out_fd;	/* SPAWN_PIPE: the read end, else -1 */
	int		 err_fd;
};
void		 spawn_ignore_sigpipe(void);
int		 spawn_start(struct spawn *, char **);
int		 spawn_wait(pid_t);
int		 spawn_exit_code(int);

#endif /* DTEQ_H */
