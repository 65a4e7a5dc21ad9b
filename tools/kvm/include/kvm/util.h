/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__UTIL_H
#define KVM__UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((typeof(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((typeof(x))(a) - 1))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))
#define KiB		1024ULL
#define MiB		(1024ULL * KiB)
#define GiB		(1024ULL * MiB)

#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __noreturn	__attribute__((noreturn))

/*
 * die() prints "lkvm: <message>" as one line and exits with status 1;
 * die_errno() appends strerror(errno).  Both run the exit hooks (terminal
 * restore) through exit().
 */
void __noreturn __printf(1, 2) die(const char *fmt, ...);
void __noreturn __printf(1, 2) die_errno(const char *fmt, ...);
void __printf(1, 2) pr_err(const char *fmt, ...);
void __printf(1, 2) pr_warn(const char *fmt, ...);
void __printf(1, 2) pr_info(const char *fmt, ...);
void __printf(1, 2) pr_debug(const char *fmt, ...);
extern bool lkvm_debug;

void *xzalloc(size_t size);
char *xstrdup(const char *s);

/* Read or write exactly len bytes; false on error or short transfer. */
bool read_full(int fd, void *buf, size_t len);
bool pread_full(int fd, void *buf, size_t len, off_t off);
bool write_full(int fd, const void *buf, size_t len);

/* Parse a decimal number; false if s is not entirely a number. */
bool parse_u64(const char *s, u64 *out);



/* Map a whole file read-only; dies with a one-line message on failure. */
const u8 *map_file(const char *path, const char *what, size_t *size);

#endif
