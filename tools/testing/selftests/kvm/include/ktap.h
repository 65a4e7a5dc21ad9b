/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTAP output and kselftest exit codes for the KVM selftests.
 *
 * A test binary is a list of cases.  ktap_run() prints the plan, runs each
 * case in a child process (so a failed assertion, a crash or a hang ends that
 * case only), prints "ok N name", "not ok N name" or "ok N name # SKIP why",
 * and returns the binary's exit code: 1 if any case failed, 4 if every case
 * was skipped, 0 otherwise.
 */
#ifndef SELFTEST_KVM_KTAP_H
#define SELFTEST_KVM_KTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_XFAIL 2
#define KSFT_XPASS 3
#define KSFT_SKIP 4

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct ktap_case {
	const char *name;
	void (*fn)(void);
};

#define KTAP_CASE(f) { #f, f }

/* Run all cases; return the kselftest exit code for main(). */
int ktap_run(const struct ktap_case *cases, size_t nr_cases);

/* A "# "-prefixed diagnostic line. */
void ktap_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* End the current case as skipped, with a reason. */
noreturn void ktap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* End the current case as failed, saying where and why. */
noreturn void ktap_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST_FAIL(fmt, ...) ktap_fail(__FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define TEST_ASSERT(cond, fmt, ...)						\
	do {									\
		if (!(cond))							\
			ktap_fail(__FILE__, __LINE__, "`%s` is false: " fmt,	\
				  #cond, ##__VA_ARGS__);			\
	} while (0)

#define __TEST_CMP(a, op, b)							\
	do {									\
		uint64_t __ta = (uint64_t)(a), __tb = (uint64_t)(b);		\
		if (!(__ta op __tb))						\
			ktap_fail(__FILE__, __LINE__,				\
				  "`%s %s %s` is false: 0x%llx (%lld) vs 0x%llx (%lld)", \
				  #a, #op, #b,					\
				  (unsigned long long)__ta, (long long)__ta,	\
				  (unsigned long long)__tb, (long long)__tb);	\
	} while (0)

#define TEST_ASSERT_EQ(a, b) __TEST_CMP(a, ==, b)
#define TEST_ASSERT_NE(a, b) __TEST_CMP(a, !=, b)
#define TEST_ASSERT_LE(a, b) __TEST_CMP(a, <=, b)
#define TEST_ASSERT_GE(a, b) __TEST_CMP(a, >=, b)

/*
 * Assert that a syscall-style call returned -1 with the given errno;
 * `call` is evaluated once.
 */
#define TEST_ASSERT_ERRNO(call, err)						\
	do {									\
		long __r = (long)(call);					\
		int __e = errno;						\
		if (__r != -1 || __e != (err))					\
			ktap_fail(__FILE__, __LINE__,				\
				  "`%s`: expected -1/%s, got %ld/%s", #call,	\
				  ktap_errno_name(err), __r,			\
				  __r == -1 ? ktap_errno_name(__e) : "-");	\
	} while (0)

/* Assert that a syscall-style call did not return -1. */
#define TEST_ASSERT_OK(call)							\
	({									\
		long __r = (long)(call);					\
		if (__r == -1)							\
			ktap_fail(__FILE__, __LINE__, "`%s` failed: %s",	\
				  #call, ktap_errno_name(errno));		\
		__r;								\
	})

/* Skip the current case unless cond holds. */
#define TEST_REQUIRE(cond, fmt, ...)						\
	do {									\
		if (!(cond))							\
			ktap_skip(fmt, ##__VA_ARGS__);				\
	} while (0)

/* "EINVAL (Invalid argument)" style, for messages. */
const char *ktap_errno_name(int err);

#endif
