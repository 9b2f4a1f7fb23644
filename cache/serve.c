/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq cache`: the remote cache server on its own. Options and the
 * environment (DTEQ_CACHE_TOKEN, DTEQ_CACHE_READ_TOKEN; flags win), a
 * synchronous check that Redis answers (exit 3 when it does not), then
 * cache_start() on a fresh event base until SIGINT or SIGTERM.
 *
 * stdout gets the server's URL on its first line, and the token on a
 * second line "token TOKEN" only when none was given and one was made
 * up; everything else goes to stderr.
 *
 * cache_main() reads top-down: serve_opts_init() (the defaults and the
 * environment), serve_parse() (the flags, then the checks that need
 * them all, down to the Redis URL), serve_preflight(), serve_run().
 */

#include <sys/socket.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "cache.h"

#define CACHE_TTL_MAX	(10 * 365 * 86400)	/* seconds: ten years */

static const char cache_usage[] =
    "usage: dteq cache [--listen HOST:PORT] [--redis URL] [--token TOKEN]\n"
    "                  [--read-token TOKEN] [--max-size BYTES] [--ttl SECS]\n"
    "                  [--connect-timeout SECS] [-v]\n"
    "\n"
    "Serve a remote cache for Nx (/v1/cache, NX_SELF_HOSTED_REMOTE_CACHE_*)\n"
    "and Turborepo (/v8/artifacts, TURBO_API, TURBO_TOKEN, TURBO_TEAM),\n"
    "with the artifacts in Redis. Prints the URL on stdout.\n"
    "\n"
    "  --listen HOST:PORT     address to listen on, numeric (default\n"
    "                         127.0.0.1:0, any free port)\n"
    "  --redis URL            redis://[user:pass@]host[:port][/db] or\n"
    "                         unix:///path (env DTEQ_REDIS_URL)\n"
    "  --token TOKEN          the bearer token clients must send (env\n"
    "                         DTEQ_CACHE_TOKEN; default: a random one,\n"
    "                         printed as \"token TOKEN\" on stdout)\n"
    "  --read-token TOKEN     a second token that may only read (env\n"
    "                         DTEQ_CACHE_READ_TOKEN)\n"
    "  --max-size BYTES       largest artifact, with K, M or G for KiB,\n"
    "                         MiB, GiB (default 256M)\n"
    "  --ttl SECS             how long an artifact lives (default 604800,\n"
    "                         7 days)\n"
    "  --connect-timeout SECS how long to retry an unreachable Redis at\n"
    "                         start (default 10)\n"
    "  -v, --verbose          debug logging\n";

/* What `dteq cache` was asked for: the defaults, the environment, flags. */
struct serve_opts {
	struct redis_url	 url;		/* from redis; caller frees */
	const char		*listen;
	const char		*redis;		/* NULL: DTEQ_REDIS_URL */
	const char		*token;		/* NULL: make one up */
	const char		*read_token;
	uint64_t		 max;
	int			 ttl;
	int			 timeout;	/* connecting, at start */
};

static const struct option serve_longopts[] = {
	{ "connect-timeout", required_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ "listen", required_argument, NULL, 'l' },
	{ "max-size", required_argument, NULL, 'm' },
	{ "read-token", required_argument, NULL, 'R' },
	{ "redis", required_argument, NULL, 'r' },
	{ "token", required_argument, NULL, 't' },
	{ "ttl", required_argument, NULL, 'T' },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 }
};

/* serve_parse(): nothing stops cache_main, go on. */
#define SERVE_CONTINUE	(-1)

/* SIGINT, SIGTERM: leave the loop. */
static void
serve_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	log_info("%s: stopping", strsignal((int)sig));
	event_base_loopexit(arg, NULL);
}

/* Parse a size: digits with an optional K, M or G (powers of 1024). */
static int
serve_parse_size(const char *s, uint64_t *out, char **cause)
{
	char		*num;
	const char	*errstr;
	size_t		 len = strlen(s);
	uint64_t	 mult = 1;
	long long	 n;

	if (len > 0 && strchr("kKmMgG", s[len - 1]) != NULL) {
		mult = strchr("kK", s[len - 1]) != NULL ? 1024 :
		    strchr("mM", s[len - 1]) != NULL ? 1024 * 1024 :
		    1024 * 1024 * 1024;
		len--;
	}
	num = xstrndup(s, len);
	n = util_strtonum(num, 1, (long long)((UINT64_C(1) << 40) / mult),
	    &errstr);
	free(num);
	if (errstr != NULL) {
		xasprintf(cause, "--max-size: \"%s\" is not a size (bytes, "
		    "or a number with K, M or G, up to 1T)", s);
		return (-1);
	}
	*out = (uint64_t)n * mult;
	return (0);
}

/* Check a --listen value: a numeric HOST:PORT. */
static int
serve_check_listen(const char *listen, char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;

	return (parse_listen_named("--listen", listen, &ss, &sslen, cause));
}

/* Connect once before the loop so a wrong address fails at once. */
static int
serve_preflight(const struct redis_url *url, int timeout)
{
	redisContext	*c;
	char		*cause;

	if ((c = cli_connect(url, timeout, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	redisFree(c);
	return (0);
}

/* The defaults, then the environment; the flags, read later, win. */
static void
serve_opts_init(struct serve_opts *o)
{
	memset(o, 0, sizeof *o);
	o->listen = CACHE_DEFAULT_LISTEN;
	o->max = CACHE_DEFAULT_MAX;
	o->ttl = CACHE_DEFAULT_TTL;
	o->timeout = DEFAULT_CONNECT_TIMEOUT;
	o->token = cli_env("DTEQ_CACHE_TOKEN");
	o->read_token = cli_env("DTEQ_CACHE_READ_TOKEN");
}

/*
 * Take one option from getopt_long() into o. Returns 0; -1 with *cause
 * set when its value is bad; 1 for one it does not know.
 */
static int
serve_option(struct serve_opts *o, int ch, const char *arg, char **cause)
{
	switch (ch) {
	case 'C':
		if (util_parse_seconds("--connect-timeout", arg, 3600,
		    &o->timeout, cause) != 0)
			return (-1);
		break;
	case 'l':
		o->listen = arg;
		break;
	case 'm':
		if (serve_parse_size(arg, &o->max, cause) != 0)
			return (-1);
		break;
	case 'r':
		o->redis = arg;
		break;
	case 'R':
		o->read_token = arg;
		break;
	case 't':
		o->token = arg;
		break;
	case 'T':
		if (util_parse_seconds("--ttl", arg, CACHE_TTL_MAX, &o->ttl,
		    cause) != 0)
			return (-1);
		if (o->ttl == 0) {
			xasprintf(cause, "--ttl: must be at least 1");
			return (-1);
		}
		break;
	case 'v':
		log_init("dteq cache", 1);
		break;
	default:
		return (1);
	}
	return (0);
}

/* Complain about the command line: EXIT_USAGE. Frees cause. */
static int
serve_usage_error(char *cause)
{
	fprintf(stderr, "dteq cache: %s\n", cause);
	free(cause);
	return (EXIT_USAGE);
}

/*
 * Parse the command line into o and check what only makes sense whole,
 * down to the Redis URL. Returns SERVE_CONTINUE, or the exit status
 * after --help or a usage error (already printed).
 */
static int
serve_parse(struct serve_opts *o, int argc, char **argv)
{
	char	*cause;
	int	 ch;

	while ((ch = getopt_long(argc, argv, "hl:m:r:t:T:v", serve_longopts,
	    NULL)) != -1) {
		if (ch == 'h') {
			fputs(cache_usage, stdout);
			return (EXIT_OK);
		}
		switch (serve_option(o, ch, optarg, &cause)) {
		case -1:
			return (serve_usage_error(cause));
		case 1:
			fputs(cache_usage, stderr);
			return (EXIT_USAGE);
		}
	}
	if (optind != argc) {
		xasprintf(&cause, "unexpected argument \"%s\"", argv[optind]);
		return (serve_usage_error(cause));
	}
	if (o->token != NULL && *o->token == '\0') {
		xasprintf(&cause, "--token: may not be empty");
		return (serve_usage_error(cause));
	}
	if (serve_check_listen(o->listen, &cause) != 0 ||
	    cli_redis_url(o->redis, &o->url, &cause) != 0)
		return (serve_usage_error(cause));
	return (SERVE_CONTINUE);
}

/*
 * Say where the server is: the URL (and a made-up token) on stdout for
 * whoever started it, the rest in the log.
 */
static void
serve_announce(const struct serve_opts *o, const struct cache *cache)
{
	char	*where, *host;

	host = xstrndup(o->listen,
	    (size_t)(strrchr(o->listen, ':') - o->listen));
	printf("http://%s:%d\n", host, cache_port(cache));
	if (o->token == NULL)
		printf("token %s\n", cache_token(cache));
	fflush(stdout);
	where = url_display(&o->url);
	log_info("serving Nx (/v1/cache) and Turborepo (/v8/artifacts) on "
	    "http://%s:%d; artifacts in %s, up to %llu bytes, for %d s",
	    host, cache_port(cache), where, (unsigned long long)o->max,
	    o->ttl);
	free(where);
	free(host);
}

/* Run the server until a signal; the exit status. */
static int
serve_run(const struct serve_opts *o)
{
	struct event_base	*base;
	struct event		*ev_int, *ev_term;
	struct cache		*cache;
	char			*cause;

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	cache = cache_start(base, &o->url, o->listen, o->token,
	    (size_t)o->max, o->ttl, &cause);
	if (cache == NULL) {
		log_warnx("%s", cause);
		free(cause);
		event_base_free(base);
		return (EXIT_INFRA);
	}
	cache_set_read_token(cache, o->read_token);
	serve_announce(o, cache);

	ev_int = evsignal_new(base, SIGINT, serve_signal_cb, base);
	ev_term = evsignal_new(base, SIGTERM, serve_signal_cb, base);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_term, NULL);
	event_base_dispatch(base);

	cache_free(cache);
	event_free(ev_int);
	event_free(ev_term);
	event_base_free(base);
	return (EXIT_OK);
}

/* `dteq cache`: parse the options, check Redis, serve until a signal. */
int
cache_main(int argc, char **argv)
{
	struct serve_opts	o;
	int			rv;

	log_set_prefix("dteq cache");
	serve_opts_init(&o);
	if ((rv = serve_parse(&o, argc, argv)) == SERVE_CONTINUE) {
		if (serve_preflight(&o.url, o.timeout) != 0)
			rv = EXIT_INFRA;
		else
			rv = serve_run(&o);
	}
	url_free(&o.url);
	return (rv);
}
