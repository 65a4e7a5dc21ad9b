// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the input is a sequence of 9P messages (each framed
 * by its own size field) served against a small scratch tree.  The
 * server must not crash, read past a message or write past the reply
 * buffer, whatever arrives.  The tree lives in a directory created at
 * start-up and removed at exit.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/9p.h"

static char top[256];
static struct p9_server *srv;
static uint8_t resp[P9_MAX_MSIZE];

static int rm_cb(const char *p, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (srv)
		p9_server__free(srv);
	nftw(top, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	char p[512];
	int fd;

	snprintf(top, sizeof(top), "%s/lkvm-9p-fuzz.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(top))
		abort();
	snprintf(p, sizeof(p), "%s/f", top);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "data", 4) != 4)
		abort();
	close(fd);
	snprintf(p, sizeof(p), "%s/d", top);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/l", top);
	if (symlink("/", p) < 0)
		abort();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv) {
		setup();
		srv = p9_server__new(open(top, O_RDONLY | O_DIRECTORY));
		if (!srv)
			abort();
	}
	while (size >= 7) {
		size_t len = data[0] | data[1] << 8;	/* framing: 16 bits */
		uint8_t *msg;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		msg = malloc(len ? len : 1);
		if (!msg)
			abort();
		memcpy(msg, data, len);
		p9_server__handle(srv, msg, len, resp, P9_MIN_MSIZE +
				  (len % 3) * 8192);
		free(msg);
		data += len;
		size -= len;
	}
	return 0;
}
