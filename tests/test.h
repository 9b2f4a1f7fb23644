/* dteq: self-hosted distributed task execution over Redis. */

/*
 * A tiny unit-test harness. Each test is a function that calls CHECK();
 * TEST_RUN() prints "PASS: name" or "FAIL: name" (with the file:line of
 * every failed check), and test_exit() gives the process exit code. The
 * runner (tests/run.sh) counts the PASS and FAIL lines.
 */

#ifndef TEST_H
#define TEST_H

#include <stdio.h>

static int	test_failed_checks;
static int	test_npassed;
static int	test_nfailed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("    %s:%d: CHECK(%s) failed\n",			\
		    __FILE__, __LINE__, #cond);				\
		test_failed_checks++;					\
	}								\
} while (0)

#define CHECK_STREQ(a, b) do {						\
	const char *test_a_ = (a), *test_b_ = (b);			\
	if (test_a_ == NULL || test_b_ == NULL ||			\
	    strcmp(test_a_, test_b_) != 0) {				\
		printf("    %s:%d: \"%s\" != \"%s\"\n", __FILE__,	\
		    __LINE__, test_a_ ? test_a_ : "(null)",		\
		    test_b_ ? test_b_ : "(null)");			\
		test_failed_checks++;					\
	}								\
} while (0)

#define TEST_RUN(fn) do {						\
	test_failed_checks = 0;						\
	fn();								\
	if (test_failed_checks == 0) {					\
		printf("PASS: %s\n", #fn);				\
		test_npassed++;						\
	} else {							\
		printf("FAIL: %s\n", #fn);				\
		test_nfailed++;						\
	}								\
	fflush(stdout);							\
} while (0)

static inline int
test_exit(void)
{
	return (test_nfailed == 0 ? 0 : 1);
}

#endif /* TEST_H */
