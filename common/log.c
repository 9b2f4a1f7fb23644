/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Logging to stderr. Every line starts with the program and role
 * ("dteq work:"); debug lines appear with -v only. fatal() and fatalx()
 * are for start-up failures and broken invariants, never for remote data.
 * The bottom of common/: it calls nothing else of dteq (xmalloc.c's
 * allocators fail through fatal()).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dteq.h"

static char	 log_prefix[64] = "dteq";
static int	 log_verbose;

void
log_init(const char *prefix, int verbose)
{
	log_set_prefix(prefix);
	log_verbose = verbose;
}

void
log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof log_prefix, "%s", prefix);
}

int
log_get_verbose(void)
{
	return (log_verbose);
}

static void log_vwrite(const char *, va_list, const char *)
    __attribute__((format(printf, 1, 0)));

/*
 * Write one line: prefix, message, optional errno text. The message is
 * formatted first so the line leaves in one write. vasprintf, not
 * xvasprintf: xmalloc.c reports its failures through fatal(), so this
 * file stays below it. Out of memory here ends the process as an x*
 * allocator would.
 */
static void
log_vwrite(const char *fmt, va_list ap, const char *suffix)
{
	char	*msg;

	if (vasprintf(&msg, fmt, ap) == -1) {
		fprintf(stderr, "%s: vasprintf: %s\n", log_prefix,
		    strerror(errno));
		exit(EXIT_INFRA);
	}
	if (suffix != NULL)
		fprintf(stderr, "%s: %s: %s\n", log_prefix, msg, suffix);
	else
		fprintf(stderr, "%s: %s\n", log_prefix, msg);
	fflush(stderr);
	free(msg);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, strerror(saved));
	va_end(ap);
	exit(EXIT_INFRA);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
	exit(EXIT_INFRA);
}
