/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__CONTROL_H
#define KVM__CONTROL_H

#include <stdio.h>

#include "kvm/util.h"

/*
 * The control channel: every running guest listens on a Unix stream
 * socket $XDG_RUNTIME_DIR/lkvm/NAME.sock (else ~/.lkvm/NAME.sock) in a
 * directory of mode 0700, socket mode 0600; a peer of another uid is
 * refused (SO_PEERCRED).  `lkvm list/stop/pause/resume/balloon/stat/debug`
 * are clients.  One request per connection:
 *
 *	request:  struct ctl_hdr, then hdr.len bytes of payload
 *	reply:    struct ctl_hdr (type = request type | CTL_REPLY), then
 *		  a __s32 status (0 or a positive errno) and text (not NUL
 *		  terminated) for the user
 *
 * All fields are little endian (lkvm only runs on x86).  A request with a
 * wrong magic, an unknown version or type, a payload of the wrong size
 * (more than CTL_MAX_REQ is "oversized") or that stops short is answered
 * with an error if possible and the connection is closed; the guest is not
 * touched.  Requests are served one at a time by one thread.
 */
#define CTL_MAGIC		0x4d564b4cu	/* "LKVM" */
#define CTL_VERSION		1
#define CTL_MAX_REQ		64		/* request payload bytes */
#define CTL_MAX_REPLY		(4u << 20)	/* reply payload bytes */
#define CTL_NAME_MAX		64
#define CTL_IO_TIMEOUT_MS	2000		/* a request must arrive in this */

enum ctl_type {
	CTL_INFO = 1,		/* one line: name pid state cpus mem */
	CTL_STOP,
	CTL_PAUSE,
	CTL_RESUME,
	CTL_BALLOON,		/* struct ctl_balloon */
	CTL_STAT,		/* struct ctl_stat */
	CTL_DEBUG,		/* struct ctl_debug */
	CTL_NR_TYPES,
	CTL_REPLY = 0x8000,
};

struct ctl_hdr {
	u32 magic;
	u16 version;
	u16 type;
	u32 len;		/* payload bytes that follow */
	u32 flags;		/* 0 */
} __attribute__((packed));

enum { CTL_BALLOON_INFLATE = 1, CTL_BALLOON_DEFLATE, CTL_BALLOON_SET };

struct ctl_balloon {
	u32 op;
	u32 mib;
} __attribute__((packed));

#define CTL_STAT_ALL		(1u << 0)	/* every counter, not just exits */

struct ctl_stat {
	u32 flags;
} __attribute__((packed));

#define CTL_DEBUG_DUMP		(1u << 0)
#define CTL_DEBUG_NMI		(1u << 1)
#define CTL_DEBUG_SYSRQ		(1u << 2)
#define CTL_DEBUG_DIRTY_RATE	(1u << 3)
#define CTL_DEBUG_ALL_CPUS	-1

struct ctl_debug {
	u32 what;		/* CTL_DEBUG_* */
	int32_t cpu;		/* a vCPU index, or CTL_DEBUG_ALL_CPUS */
	u32 sysrq;		/* the SysRq key for CTL_DEBUG_SYSRQ */
} __attribute__((packed));

/* A parsed request. */
struct ctl_msg {
	u16 type;
	union {
		struct ctl_balloon balloon;
		struct ctl_stat stat;
		struct ctl_debug debug;
	} u;
};

/*
 * Pure checks, also run by the host tests and the fuzzer.  Both return 0
 * or a negative errno and set *why to a message for the peer.
 */
int ctl__check_hdr(const struct ctl_hdr *hdr, const char **why);
int ctl__parse(const void *buf, size_t len, struct ctl_msg *msg,
	       const char **why);

/* True if name can name a guest: [A-Za-z0-9._-]{1,64}, no leading dot. */
bool ctl__valid_name(const char *name);

/*
 * Serve one connection on fd (already accepted): read a request, run its
 * handler, write the reply.  Never touches the guest on a bad request.
 */
struct kvm;
void ctl__serve_conn(struct kvm *kvm, int fd);

/* The running guest's name (`lkvm run --name`, default guest-PID). */
const char *ctl__guest_name(void);

/*
 * Handlers: each command file registers the requests it serves with
 * ctl_handler(TYPE, fn).  fn writes its text to out and returns 0 or a
 * positive errno.  They run in the control thread of `lkvm run`.
 * ctl_handler_then(TYPE, fn, after) also runs after(kvm) once the reply
 * is on its way: for a request that ends the guest (stop), whose reply
 * must not race with the process exiting.
 */
struct ctl_handler {
	int type;
	int (*fn)(struct kvm *kvm, const struct ctl_msg *msg, FILE *out);
	void (*after)(struct kvm *kvm);
};

#define ctl_handler_then(t, f, a)					\
	static const struct ctl_handler __lkvm_ctl_##f			\
	__attribute__((used, section("lkvm_ctl"), aligned(8))) =	\
		{ .type = (t), .fn = (f), .after = (a) }
#define ctl_handler(t, f)	ctl_handler_then(t, f, NULL)

/* Client side. */

/* The directory of the sockets (created 0700 if missing); dies if unsafe. */
const char *ctl__dir(void);

/*
 * Send one request to the guest called name.  Returns 0 with *status and
 * *text (malloc'd, NUL terminated) set, or a negative errno: -ENOENT no
 * such guest (a stale socket is removed), -ECONNRESET it went away before
 * answering, -EPROTO a bad reply.
 */
int ctl__call(const char *name, u16 type, const void *payload, u32 len,
	      int *status, char **text);

/* Names of the running guests (stale sockets are removed); free with free(). */
int ctl__list(char ***names);

/*
 * Client helper for the one-guest commands: send, print the text, and
 * turn the answer into an exit status (one line on stderr for errors).
 */
int ctl__run_simple(const char *cmd, const char *name, u16 type,
		    const void *payload, u32 len);

#endif
