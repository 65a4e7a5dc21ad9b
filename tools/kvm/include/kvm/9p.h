/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__9P_H
#define KVM__9P_H

/*
 * A 9P2000.L file server over one host directory (virtio/9p-server.c).
 * It knows nothing of virtio: it turns one request message into one
 * reply message, so the host unit test and the fuzzer drive it directly.
 *
 * Every path the guest names is resolved with openat2(RESOLVE_IN_ROOT)
 * below the shared directory: "..", absolute symlinks and relative
 * symlinks that climb out all stay inside it.  Names the guest creates or
 * removes are single components ("/" refused, "." and ".." refused).
 */
#include <stddef.h>
#include <stdint.h>

/* Largest message lkvm accepts; the client may negotiate less. */
#define P9_MAX_MSIZE		(128 * 1024 + 24)
#define P9_MIN_MSIZE		4096

struct p9_server;

/* root_fd: an open directory; the server owns it from now on. */
struct p9_server *p9_server__new(int root_fd);
void p9_server__free(struct p9_server *s);

/*
 * Serve the request in req (req_len bytes), writing the reply into resp
 * (resp_cap bytes at least P9_MIN_MSIZE).  Returns the reply's length.
 * A request that cannot be parsed gets an Rlerror reply (EINVAL or
 * EPROTO); the server never reads beyond req_len nor writes beyond
 * resp_cap.
 */
size_t p9_server__handle(struct p9_server *s, const uint8_t *req,
			 size_t req_len, uint8_t *resp, size_t resp_cap);

#endif
