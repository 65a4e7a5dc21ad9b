/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ucall: the guest-to-host channel.
 *
 * The guest fills a struct ucall on its own stack and writes the struct's
 * guest physical address (identity mapped, below 4 GiB) with a 32-bit OUT to
 * UCALL_PIO_PORT.  The host sees KVM_EXIT_IO on that port and reads the
 * struct from guest memory.  File names and expression texts are string
 * literals of the test binary, which the host has at the same address, so
 * they travel as plain pointers.
 */
#ifndef SELFTEST_KVM_UCALL_H
#define SELFTEST_KVM_UCALL_H

#include <stdint.h>

#define UCALL_PIO_PORT 0x0510
#define UCALL_MAX_ARGS 6

enum ucall_cmd {
	UCALL_NONE,		/* the exit was not a ucall */
	UCALL_SYNC,		/* GUEST_SYNC(values...) */
	UCALL_DONE,		/* GUEST_DONE() */
	UCALL_ASSERT,		/* GUEST_ASSERT*() failed */
	UCALL_EXCEPTION,	/* args: vector, error code, rip */
	UCALL_RETURNED,		/* the guest function returned */
};

struct ucall {
	uint64_t cmd;
	uint64_t nargs;
	uint64_t args[UCALL_MAX_ARGS];
	uint64_t line;
	const char *file;
	const char *text;
};

/* Guest side. */
void ucall(uint64_t cmd, const char *file, int line, const char *text,
	   uint64_t nargs, const uint64_t *args);

#define __GUEST_UCALL(cmd, text, ...)						\
	do {									\
		const uint64_t __ua[] = { 0, ##__VA_ARGS__ };			\
		_Static_assert(sizeof(__ua) / sizeof(__ua[0]) - 1 <= UCALL_MAX_ARGS, \
			       "too many ucall arguments");			\
		ucall(cmd, __FILE__, __LINE__, text,				\
		      sizeof(__ua) / sizeof(__ua[0]) - 1, __ua + 1);		\
	} while (0)

/* Report up to UCALL_MAX_ARGS values to the host and wait to be resumed. */
#define GUEST_SYNC(...) __GUEST_UCALL(UCALL_SYNC, NULL, ##__VA_ARGS__)

/* The guest's work is complete. */
#define GUEST_DONE() __GUEST_UCALL(UCALL_DONE, NULL)

#define GUEST_ASSERT(expr)							\
	do {									\
		if (!(expr))							\
			__GUEST_UCALL(UCALL_ASSERT, #expr);			\
	} while (0)

#define __GUEST_ASSERT_CMP(a, op, b)						\
	do {									\
		uint64_t __ga = (uint64_t)(a), __gb = (uint64_t)(b);		\
		if (!(__ga op __gb))						\
			__GUEST_UCALL(UCALL_ASSERT, #a " " #op " " #b, __ga, __gb); \
	} while (0)

#define GUEST_ASSERT_EQ(a, b) __GUEST_ASSERT_CMP(a, ==, b)
#define GUEST_ASSERT_NE(a, b) __GUEST_ASSERT_CMP(a, !=, b)

#endif
