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
	char			*why;

	if (parse_listen(listen, &ss, &sslen, &why) != 0) {
		xasprintf(cause, "--listen: %s", why);
		free(why);
		return (-1);
	}
	return (0);
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

/* Run the server until a signal; the exit status. */
static int
serve_run(const struct redis_url *url, const char *listen, const char *token,
    const char *read_token, uint64_t max, int ttl)
{
	struct event_base	*base;
	struct event		*ev_int, *ev_term;
	struct cache		*cache;
	char			*cause, *where, *host;

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	cache = cache_start(base, url, listen, token, (size_t)max, ttl,
	    &cause);
	if (cache == NULL) {
		log_warnx("%s", cause);
		free(cause);
		event_base_free(base);
		return (EXIT_INFRA);
	}
	cache_set_read_token(cache, read_token);
	host = xstrndup(listen, (size_t)(strrchr(listen, ':') - listen));
	printf("http://%s:%d\n", host, cache_port(cache));
	if (token == NULL)
		printf("token %s\n", cache_token(cache));
	fflush(stdout);
	where = url_display(url);
	log_info("serving Nx (/v1/cache) and Turborepo (/v8/artifacts) on "
	    "http://%s:%d; artifacts in %s, up to %llu bytes, for %d s",
	    host, cache_port(cache), where, (unsigned long long)max, ttl);
	free(where);
	free(host);

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
	static const struct option longopts[] = {
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
	struct redis_url	 url;
	const char		*listen = CACHE_DEFAULT_LISTEN, *redis = NULL;
	const char		*token, *read_token;
	char			*cause;
	uint64_t		 max = CACHE_DEFAULT_MAX;
	int			 ch, ttl = CACHE_DEFAULT_TTL, rv;
	int			 timeout = DEFAULT_CONNECT_TIMEOUT;

	memset(&url, 0, sizeof url);
	log_set_prefix("dteq cache");
	if ((token = getenv("DTEQ_CACHE_TOKEN")) != NULL && *token == '\0')
		token = NULL;
	if ((read_token = getenv("DTEQ_CACHE_READ_TOKEN")) != NULL &&
	    *read_token == '\0')
		read_token = NULL;
	while ((ch = getopt_long(argc, argv, "hl:m:r:t:T:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'C':
			if (util_parse_seconds("--connect-timeout", optarg,
			    3600, &timeout, &cause) != 0)
				goto usage_error;
			break;
		case 'h':
			fputs(cache_usage, stdout);
			return (EXIT_OK);
		case 'l':
			listen = optarg;
			break;
		case 'm':
			if (serve_parse_size(optarg, &max, &cause) != 0)
				goto usage_error;
			break;
		case 'r':
			redis = optarg;
			break;
		case 'R':
			read_token = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'T':
			if (util_parse_seconds("--ttl", optarg,
			    CACHE_TTL_MAX, &ttl, &cause) != 0)
				goto usage_error;
			if (ttl == 0) {
				xasprintf(&cause, "--ttl: must be at least 1");
				goto usage_error;
			}
			break;
		case 'v':
			log_init("dteq cache", 1);
			break;
		default:
			fputs(cache_usage, stderr);
			return (EXIT_USAGE);
		}
	}
	if (optind != argc) {
		xasprintf(&cause, "unexpected argument \"%s\"", argv[optind]);
		goto usage_error;
	}
	if (token != NULL && *token == '\0') {
		xasprintf(&cause, "--token: may not be empty");
		goto usage_error;
	}
	if (serve_check_listen(listen, &cause) != 0)
		goto usage_error;
	if (cli_redis_url(redis, &url, &cause) != 0)
		goto usage_error;
	if (serve_preflight(&url, timeout) != 0) {
		url_free(&url);
		return (EXIT_INFRA);
	}
	rv = serve_run(&url, listen, token, read_token, max, ttl);
	url_free(&url);
	return (rv);

usage_error:
	fprintf(stderr, "dteq cache: %s\n", cause);
	free(cause);
	url_free(&url);
	return (EXIT_USAGE);
}
