/* dteq: self-hosted distributed task execution over Redis. */

/*
 * A tiny unit-test harness. Each test is a function that calls CHECK();
 * TEST_RUN() prints "PASS: name" or "FAIL: name" (with the file:line of
 * every failed check), and test_exit() gives the process exit code. The
 * runner (tests/run.sh) counts the PASS and FAIL lines.
 *
 * A table-driven test runs a function on each row of an array whose
 * rows have a "name": TEST_TABLE() reports the rows of one name (next to
 * each other) as one test of that name, like TEST_RUN() a function.
 */

#ifndef TEST_H
#define TEST_H

#include <stdio.h>
#include <string.h>

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

/* Start a test: no check has failed yet. */
static inline void
test_begin(void)
{
	test_failed_checks = 0;
}

/* End the test started last: its PASS or FAIL line. */
static inline void
test_end(const char *name)
{
	if (test_failed_checks == 0) {
		printf("PASS: %s\n", name);
		test_npassed++;
	} else {
		printf("FAIL: %s\n", name);
		test_nfailed++;
	}
	fflush(stdout);
}

#define TEST_RUN(fn) do {						\
	test_begin();							\
	fn();								\
	test_end(#fn);							\
} while (0)

/*
 * TEST_TABLE(rows, fn): fn(&rows[i]) for each row of the array rows, the
 * rows of one name (consecutive) being one test.
 */
#define TEST_TABLE(rows, fn) do {					\
	size_t	test_i_, test_n_ = sizeof (rows) / sizeof (rows)[0];	\
									\
	for (test_i_ = 0; test_i_ < test_n_; test_i_++) {		\
		if (test_i_ == 0 || strcmp((rows)[test_i_].name,	\
		    (rows)[test_i_ - 1].name) != 0)			\
			test_begin();					\
		fn(&(rows)[test_i_]);					\
		if (test_i_ + 1 == test_n_ || strcmp((rows)[test_i_].name, \
		    (rows)[test_i_ + 1].name) != 0)			\
			test_end((rows)[test_i_].name);			\
	}								\
} while (0)

static inline int
test_exit(void)
{
	return (test_nfailed == 0 ? 0 : 1);
}

#endif /* TEST_H */
