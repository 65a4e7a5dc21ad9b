/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TESTS_KTAP_H
#define LKVM_TESTS_KTAP_H

/*
 * Minimal KTAP for the host unit tests: ktap_plan(n), then one
 * ktap_check(cond, fmt...) per test; ktap_exit() returns the kselftest
 * status (0 all passed, 1 something failed).  A failing check prints
 * the condition with its file and line.
 */
#include <stdio.h>

static int ktap_nr, ktap_failed;

static inline void ktap_plan(int n)
{
	printf("TAP version 13\n1..%d\n", n);
}

#define ktap_check(cond, ...)						\
	do {								\
		bool ok_ = (cond);					\
		printf("%sok %d ", ok_ ? "" : "not ", ++ktap_nr);	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		if (!ok_) {						\
			printf("# %s:%d: failed: %s\n", __FILE__,	\
			       __LINE__, #cond);			\
			ktap_failed++;					\
		}							\
	} while (0)

static inline int ktap_exit(int planned)
{
	if (ktap_nr != planned) {
		printf("# planned %d tests, ran %d\n", planned, ktap_nr);
		return 1;
	}
	return ktap_failed ? 1 : 0;
}

#endif
