// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of the 9P2000.L server (virtio/9p-server.c) on a
 * temporary directory: the normal path (attach, walk, open, read, write,
 * create, readdir, rename) and the hostile one: "..", absolute and
 * relative symlinks pointing out, names with slashes, malformed
 * messages.  A file outside the share ("outside-secret") must never be
 * reachable.  Built with ASan and UBSan by `make -C tools/kvm check`.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/9p.h"
#include "ktap.h"

enum {
	RLERROR = 7, TSTATFS = 8, TLOPEN = 12, TLCREATE = 14, TSYMLINK = 16,
	TREADLINK = 22, TGETATTR = 24, TSETATTR = 26, TREADDIR = 40, TMKDIR = 72,
	TRENAMEAT = 74, TUNLINKAT = 76, TVERSION = 100, TATTACH = 104,
	TWALK = 110, TREAD = 116, TWRITE = 118, TCLUNK = 120,
};

static struct p9_server *srv;
static uint8_t req[P9_MAX_MSIZE], resp[P9_MAX_MSIZE];
static size_t req_len, resp_len;
static char top[256], share[300];

static void m_begin(uint8_t type)
{
	memset(req, 0, 7);
	req[4] = type;
	req[5] = 0x34;				/* tag */
	req[6] = 0x12;
	req_len = 7;
}

static void m_n(uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		req[req_len++] = v >> (8 * i);
}

static void m_str(const char *s)
{
	size_t n = strlen(s);

	m_n(n, 2);
	memcpy(req + req_len, s, n);
	req_len += n;
}

static uint8_t m_send(void)
{
	for (int i = 0; i < 4; i++)
		req[i] = req_len >> (8 * i);
	resp_len = p9_server__handle(srv, req, req_len, resp, sizeof(resp));
	return resp_len >= 7 ? resp[4] : 0;
}

static uint64_t r_n(size_t off, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)resp[off + i] << (8 * i);
	return v;
}

/* The errno of an Rlerror reply, or 0 if the reply is something else. */
static int r_err(void)
{
	return resp[4] == RLERROR ? (int)r_n(7, 4) : 0;
}

static int walk(uint32_t fid, uint32_t newfid, int n, const char **names)
{
	m_begin(TWALK);
	m_n(fid, 4);
	m_n(newfid, 4);
	m_n(n, 2);
	for (int i = 0; i < n; i++)
		m_str(names[i]);
	m_send();
	return r_err() ? -r_err() : (int)r_n(7, 2);
}

static void clunk(uint32_t fid)
{
	m_begin(TCLUNK);
	m_n(fid, 4);
	m_send();
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int rm_cb(const char *p, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void test_session(void)
{
	const char *names[4];
	uint32_t msize;

	m_begin(TVERSION);
	m_n(1 << 20, 4);
	m_str("9P2000.L");
	ktap_check(m_send() == TVERSION + 1 &&
		   (msize = r_n(7, 4)) == P9_MAX_MSIZE &&
		   !memcmp(resp + 13, "9P2000.L", 8) && r_n(5, 2) == 0x1234,
		   "Tversion negotiates the message size and 9P2000.L");

	m_begin(TATTACH);
	m_n(1, 4);
	m_n(~0u, 4);
	m_str("root");
	m_str("");
	m_n(0, 4);
	ktap_check(m_send() == TATTACH + 1 && resp[7] == 0x80,
		   "Tattach gives the root, a directory");

	names[0] = "hello.txt";
	ktap_check(walk(1, 2, 1, names) == 1, "walk to a file");
	m_begin(TLOPEN);
	m_n(2, 4);
	m_n(O_RDONLY, 4);
	m_send();
	m_begin(TREAD);
	m_n(2, 4);
	m_n(0, 8);
	m_n(100, 4);
	ktap_check(m_send() == TREAD + 1 && r_n(7, 4) == 6 &&
		   !memcmp(resp + 11, "hello\n", 6),
		   "open and read the file");
	clunk(2);
	m_begin(TREAD);
	m_n(2, 4);
	m_n(0, 8);
	m_n(100, 4);
	m_send();
	ktap_check(r_err() == EBADF, "a clunked fid is gone (EBADF)");
}

static void test_create_write(void)
{
	const char *names[2] = { "dir" };
	char path[512], buf[32] = { 0 };
	int fd;

	m_begin(TMKDIR);
	m_n(1, 4);
	m_str("dir");
	m_n(0755, 4);
	m_n(0, 4);
	ktap_check(m_send() == TMKDIR + 1, "Tmkdir makes a directory");
	walk(1, 3, 1, names);
	m_begin(TLCREATE);
	m_n(3, 4);
	m_str("new.txt");
	m_n(O_RDWR, 4);
	m_n(0644, 4);
	m_n(0, 4);
	m_send();
	m_begin(TWRITE);
	m_n(3, 4);
	m_n(0, 8);
	m_n(5, 4);
	memcpy(req + req_len, "guest", 5);
	req_len += 5;
	ktap_check(m_send() == TWRITE + 1 && r_n(7, 4) == 5,
		   "Tlcreate then Twrite");
	snprintf(path, sizeof(path), "%s/dir/new.txt", share);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	ktap_check(!strcmp(buf, "guest"), "the write reached the host file");

	m_begin(TRENAMEAT);
	m_n(1, 4);
	m_str("dir");
	m_n(1, 4);
	m_str("dir2");
	ktap_check(m_send() == TRENAMEAT + 1, "Trenameat renames a directory");
	m_begin(TGETATTR);
	m_n(3, 4);
	m_n(0x7ff, 8);
	ktap_check(m_send() == TGETATTR + 1 && r_n(7 + 8 + 13 + 4 + 4 + 4 + 8 + 8, 8) == 5,
		   "an open fid below the renamed directory still works");
	clunk(3);
}

static void test_readdir(void)
{
	const char *names[1] = { "" };
	bool hello = false;
	uint32_t count;
	size_t off;

	walk(1, 4, 0, names);
	m_begin(TLOPEN);
	m_n(4, 4);
	m_n(O_RDONLY | O_DIRECTORY, 4);
	m_send();
	m_begin(TREADDIR);
	m_n(4, 4);
	m_n(0, 8);
	m_n(4096, 4);
	m_send();
	count = r_n(7, 4);
	for (off = 11; off + 24 <= 11 + count;) {
		size_t len = r_n(off + 22, 2);

		if (len == 9 && !memcmp(resp + off + 24, "hello.txt", 9))
			hello = true;
		off += 24 + len;
	}
	ktap_check(resp[4] == TREADDIR + 1 && hello && off == 11 + count,
		   "Treaddir lists hello.txt in well-formed entries");
	clunk(4);
}

static void test_escapes(void)
{
	const char *up[3] = { "..", "..", "outside-secret" };
	const char *abs[2] = { "abs", "outside-secret" };
	const char *rel[2] = { "rel", "outside-secret" };
	const char *slash[1] = { "../outside-secret" };
	const char *dots[4] = { "..", "..", "..", "hello.txt" };
	const char *link[1] = { "abs" };
	char planted[512];

	/* A walk that stops early is a short Rwalk, not an error. */
	ktap_check(walk(1, 10, 3, up) == 2,
		   "walking .. above the root does not reach the parent");
	ktap_check(walk(1, 10, 4, dots) == 4,
		   "walking .. at the root stays at the root");
	clunk(10);
	ktap_check(walk(1, 10, 2, abs) == 1,
		   "an absolute symlink resolves inside the share");
	ktap_check(walk(1, 10, 2, rel) == 1,
		   "a relative symlink climbing out stays inside");
	ktap_check(walk(1, 10, 1, slash) == -ENOENT,
		   "a name with a slash is not a path");
	ktap_check(walk(1, 11, 1, link) == 1 && resp[9] == 0x02,
		   "the symlink itself is a symlink fid");
	m_begin(TLCREATE);
	m_n(11, 4);
	m_str("planted");
	m_n(O_RDWR, 4);
	m_n(0644, 4);
	m_n(0, 4);
	m_send();
	snprintf(planted, sizeof(planted), "%s/planted", top);
	ktap_check(r_err() != 0 && access(planted, F_OK) != 0,
		   "creating through a symlinked directory fails (%d)", r_err());
	m_begin(TLOPEN);
	m_n(11, 4);
	m_n(O_RDONLY, 4);
	m_send();
	ktap_check(r_err() == ELOOP, "opening a symlink fid does not follow it");
	{
		struct stat before, after;

		stat(top, &before);
		m_begin(TSETATTR);
		m_n(11, 4);
		m_n(1, 4);			/* P9_SETATTR_MODE */
		m_n(0777, 4);
		for (int i = 0; i < 2; i++)
			m_n(0, 4);
		for (int i = 0; i < 5; i++)
			m_n(0, 8);
		m_send();
		stat(top, &after);
		ktap_check(r_err() == EOPNOTSUPP && before.st_mode == after.st_mode,
			   "chmod of a symlink fid leaves its target alone");
	}
	clunk(11);

	m_begin(TMKDIR);
	m_n(1, 4);
	m_str("..");
	m_n(0755, 4);
	m_n(0, 4);
	m_send();
	ktap_check(r_err() == EINVAL, "Tmkdir of .. is refused");
	m_begin(TLCREATE);
	m_n(1, 4);
	m_str("../escaped");
	m_n(O_RDWR, 4);
	m_n(0644, 4);
	m_n(0, 4);
	m_send();
	ktap_check(r_err() == EINVAL, "Tlcreate of a name with a slash is refused");
	m_begin(TUNLINKAT);
	m_n(1, 4);
	m_str("../outside-secret");
	m_n(0, 4);
	m_send();
	ktap_check(r_err() == EINVAL, "Tunlinkat of a name with a slash is refused");
	m_begin(TRENAMEAT);
	m_n(1, 4);
	m_str("hello.txt");
	m_n(1, 4);
	m_str("..");
	m_send();
	ktap_check(r_err() == EINVAL, "Trenameat onto .. is refused");
}

static void test_malformed(void)
{
	m_begin(TWALK);
	m_n(1, 4);
	ktap_check(m_send() == RLERROR && r_err() == EPROTO,
		   "a truncated Twalk gets EPROTO");
	m_begin(TWALK);
	m_n(1, 4);
	m_n(12, 4);
	m_n(1, 2);
	m_n(200, 2);			/* string length beyond the message */
	ktap_check(m_send() == RLERROR && r_err() == EPROTO,
		   "a string longer than the message gets EPROTO");
	m_begin(TCLUNK);
	m_n(1, 4);
	for (int i = 0; i < 4; i++)
		req[i] = 0xff;		/* size beyond the buffer */
	resp_len = p9_server__handle(srv, req, req_len, resp, sizeof(resp));
	ktap_check(resp[4] == RLERROR && r_err() == EPROTO,
		   "a size field beyond the buffer gets EPROTO");
	m_begin(TWALK);
	m_n(1, 4);
	m_n(13, 4);
	m_n(17, 2);
	for (int i = 0; i < 17; i++)
		m_str("x");
	m_send();
	ktap_check(r_err() == EINVAL, "more than 16 walk names is refused");
	m_begin(TGETATTR);
	m_n(999, 4);
	m_n(0, 8);
	m_send();
	ktap_check(r_err() == EBADF, "an unknown fid gets EBADF");
	m_begin(TREAD);
	m_n(1, 4);
	m_n(0, 8);
	m_n(100, 4);
	resp_len = p9_server__handle(srv, req, 7 + 16, resp, 16);
	ktap_check(resp_len <= 16, "the reply never exceeds the buffer");
	m_begin(0xee);
	ktap_check(m_send() == RLERROR && r_err() == EOPNOTSUPP,
		   "an unknown message type gets EOPNOTSUPP");
}

int main(void)
{
	const int planned = 31;
	int root;

	snprintf(top, sizeof(top), "%s/lkvm-9p-test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(top))
		return 1;
	snprintf(share, sizeof(share), "%s/share", top);
	mkdir(share, 0755);
	write_file(top, "outside-secret", "secret\n");
	write_file(share, "hello.txt", "hello\n");
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/abs", share);
		if (symlink(top, p) < 0)	/* absolute, to the parent */
			return 1;
		snprintf(p, sizeof(p), "%s/rel", share);
		if (symlink("..", p) < 0)	/* relative, climbing out */
			return 1;
	}
	root = open(share, O_RDONLY | O_DIRECTORY);
	srv = p9_server__new(root);
	if (root < 0 || !srv)
		return 1;

	ktap_plan(planned);
	test_session();
	test_create_write();
	test_readdir();
	test_escapes();
	test_malformed();

	p9_server__free(srv);
	nftw(top, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return ktap_exit(planned);
}
