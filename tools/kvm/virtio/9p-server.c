// SPDX-License-Identifier: GPL-2.0
/*
 * A 9P2000.L server over one host directory; see kvm/9p.h.
 *
 * Message formats: the 9P2000.L protocol as Linux's net/9p client speaks
 * it (size[4] type[1] tag[2] body, little endian, strings as len[2]
 * bytes).  Error codes are Linux errno values, which is what 9P2000.L
 * carries.
 *
 * A fid is a path relative to the shared directory ("" is its root),
 * plus an open fd once the guest opens it.  Paths are resolved on every
 * use with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) on the root
 * fd, so the kernel, not string handling, keeps the guest inside.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "kvm/9p.h"

/* Message types (T = request, R = T + 1). */
enum {
	P9_RLERROR = 7,
	P9_TSTATFS = 8,
	P9_TLOPEN = 12,
	P9_TLCREATE = 14,
	P9_TSYMLINK = 16,
	P9_TMKNOD = 18,
	P9_TRENAME = 20,
	P9_TREADLINK = 22,
	P9_TGETATTR = 24,
	P9_TSETATTR = 26,
	P9_TXATTRWALK = 30,
	P9_TXATTRCREATE = 32,
	P9_TREADDIR = 40,
	P9_TFSYNC = 50,
	P9_TLOCK = 52,
	P9_TGETLOCK = 54,
	P9_TLINK = 70,
	P9_TMKDIR = 72,
	P9_TRENAMEAT = 74,
	P9_TUNLINKAT = 76,
	P9_TVERSION = 100,
	P9_TAUTH = 102,
	P9_TATTACH = 104,
	P9_TFLUSH = 108,
	P9_TWALK = 110,
	P9_TREAD = 116,
	P9_TWRITE = 118,
	P9_TCLUNK = 120,
	P9_TREMOVE = 122,
};

#define P9_HDR_SIZE		7
#define P9_QID_SIZE		13
#define P9_MAXWELEM		16
#define P9_NOFID		0xffffffffu
#define P9_QTDIR		0x80
#define P9_QTSYMLINK		0x02
#define P9_QTFILE		0x00
#define P9_GETATTR_BASIC	0x000007ffULL
#define P9_LOCK_SUCCESS		0
#define P9_LOCK_TYPE_UNLCK	2
#define P9_READDIR_ENTRY_HDR	(P9_QID_SIZE + 8 + 1 + 2)
#define P9_IOHDR		24	/* room for Rread/Twrite headers */

/* Tsetattr valid bits. */
#define P9_SETATTR_MODE		0x001
#define P9_SETATTR_UID		0x002
#define P9_SETATTR_GID		0x004
#define P9_SETATTR_SIZE		0x008
#define P9_SETATTR_ATIME	0x010
#define P9_SETATTR_MTIME	0x020
#define P9_SETATTR_ATIME_SET	0x080
#define P9_SETATTR_MTIME_SET	0x100

/* Tlopen/Tlcreate flags the server passes on (Linux values). */
#define P9_OPEN_FLAGS	(O_ACCMODE | O_TRUNC | O_APPEND | O_DIRECTORY | \
			 O_DSYNC | O_SYNC | O_NOATIME)

#define FID_BUCKETS		64
#define P9_PATH_MAX		4096
#define P9_NAME_MAX		255

struct p9_fid {
	uint32_t fid;
	char *path;		/* relative to the root; "" is the root */
	int fd;			/* after Tlopen/Tlcreate, else -1 */
	struct p9_fid *next;
};

struct p9_server {
	int root_fd;
	uint32_t msize;
	struct p9_fid *fids[FID_BUCKETS];
};

/* ---- message reading and writing ---- */

struct p9_in {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

struct p9_out {
	uint8_t *p;
	size_t cap, off;
	bool full;
};

static uint64_t get_n(struct p9_in *in, int n)
{
	uint64_t v = 0;

	if (in->bad || in->len - in->off < (size_t)n) {
		in->bad = true;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v |= (uint64_t)in->p[in->off + i] << (8 * i);
	in->off += n;
	return v;
}

static uint8_t get8(struct p9_in *in) { return get_n(in, 1); }
static uint16_t get16(struct p9_in *in) { return get_n(in, 2); }
static uint32_t get32(struct p9_in *in) { return get_n(in, 4); }
static uint64_t get64(struct p9_in *in) { return get_n(in, 8); }

/* A string as a NUL-terminated copy in buf; no embedded NULs. */
static void get_str(struct p9_in *in, char *buf, size_t size)
{
	uint16_t n = get16(in);

	if (in->bad || in->len - in->off < n || n >= size ||
	    memchr(in->p + in->off, 0, n)) {
		in->bad = true;
		buf[0] = '\0';
		return;
	}
	memcpy(buf, in->p + in->off, n);
	buf[n] = '\0';
	in->off += n;
}

static void put_n(struct p9_out *out, uint64_t v, int n)
{
	if (out->cap - out->off < (size_t)n) {
		out->full = true;
		return;
	}
	for (int i = 0; i < n; i++)
		out->p[out->off + i] = v >> (8 * i);
	out->off += n;
}

#define put8(o, v)	put_n(o, v, 1)
#define put16(o, v)	put_n(o, v, 2)
#define put32(o, v)	put_n(o, v, 4)
#define put64(o, v)	put_n(o, v, 8)

static void put_str(struct p9_out *out, const char *s)
{
	size_t n = strlen(s);

	if (n > 0xffff || out->cap - out->off < 2 + n) {
		out->full = true;
		return;
	}
	put16(out, n);
	memcpy(out->p + out->off, s, n);
	out->off += n;
}

static uint8_t qid_type(mode_t mode)
{
	if (S_ISDIR(mode))
		return P9_QTDIR;
	if (S_ISLNK(mode))
		return P9_QTSYMLINK;
	return P9_QTFILE;
}

static void put_qid(struct p9_out *out, const struct stat *st)
{
	put8(out, qid_type(st->st_mode));
	put32(out, 0);				/* version */
	put64(out, st->st_ino);
}

/* ---- fids and paths ---- */

static struct p9_fid **fid_slot(struct p9_server *s, uint32_t fid)
{
	struct p9_fid **pp = &s->fids[fid % FID_BUCKETS];

	while (*pp && (*pp)->fid != fid)
		pp = &(*pp)->next;
	return pp;
}

static struct p9_fid *fid_get(struct p9_server *s, uint32_t fid)
{
	return *fid_slot(s, fid);
}

static void fid_free(struct p9_fid *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

static int fid_new(struct p9_server *s, uint32_t fid, const char *path)
{
	struct p9_fid **pp = fid_slot(s, fid), *f;

	if (*pp || fid == P9_NOFID)
		return -EBADF;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return -ENOMEM;
	}
	f->fid = fid;
	f->fd = -1;
	*pp = f;
	return 0;
}

static void fid_clunk(struct p9_server *s, uint32_t fid)
{
	struct p9_fid **pp = fid_slot(s, fid), *f = *pp;

	if (f) {
		*pp = f->next;
		fid_free(f);
	}
}

static void fid_clunk_all(struct p9_server *s)
{
	for (int i = 0; i < FID_BUCKETS; i++) {
		while (s->fids[i]) {
			struct p9_fid *f = s->fids[i];

			s->fids[i] = f->next;
			fid_free(f);
		}
	}
}

/* A name the guest wants to create, remove or rename to. */
static bool name_ok(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

/* path + "/" + name into buf; -ENAMETOOLONG if it does not fit. */
static int path_join(char *buf, const char *path, const char *name)
{
	int n = snprintf(buf, P9_PATH_MAX, "%s%s%s", path, *path ? "/" : "",
			 name);

	return n < 0 || n >= P9_PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Drop the last component: "a/b" -> "a", "a" -> "", "" stays "". */
static void path_up(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash)
		*slash = '\0';
	else
		path[0] = '\0';
}

/* Open path below the root; never follows a symlink in the last part. */
static int open_in_root(struct p9_server *s, const char *path, int flags,
			mode_t mode)
{
	struct open_how how = {
		.flags = flags | O_NOFOLLOW | O_CLOEXEC,
		.mode = mode,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, s->root_fd, *path ? path : ".", &how,
			  sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int stat_path(struct p9_server *s, const char *path, struct stat *st)
{
	int fd = open_in_root(s, path, O_PATH, 0), r = 0;

	if (fd < 0)
		return fd;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The directory of a fid, opened O_PATH, for *at() calls on a name. */
static int open_dir_fid(struct p9_server *s, struct p9_fid *f)
{
	return open_in_root(s, f->path, O_PATH | O_DIRECTORY, 0);
}

/* A file by its O_PATH fd, for calls that take only a path. */
static void proc_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* After a rename, fids below the old name follow it. */
static void rename_fids(struct p9_server *s, const char *from, const char *to)
{
	size_t n = strlen(from);
	char buf[P9_PATH_MAX];

	for (int i = 0; i < FID_BUCKETS; i++) {
		for (struct p9_fid *f = s->fids[i]; f; f = f->next) {
			char *p;

			if (strncmp(f->path, from, n) ||
			    (f->path[n] && f->path[n] != '/'))
				continue;
			if (snprintf(buf, sizeof(buf), "%s%s", to, f->path + n) >=
			    (int)sizeof(buf))
				continue;
			p = strdup(buf);
			if (p) {
				free(f->path);
				f->path = p;
			}
		}
	}
}

/* ---- requests: each returns 0 with the reply body in out, or -errno ---- */

struct p9_req {
	struct p9_server *s;
	struct p9_in *in;
	struct p9_out *out;
};

#define REQ_FID(r, var)							\
	struct p9_fid *var = fid_get((r)->s, get32((r)->in));		\
	if ((r)->in->bad)						\
		return -EPROTO;						\
	if (!var)							\
		return -EBADF

static int p9_version(struct p9_req *r)
{
	uint32_t msize = get32(r->in);
	char version[32];

	get_str(r->in, version, sizeof(version));
	if (r->in->bad)
		return -EPROTO;
	fid_clunk_all(r->s);
	if (msize > P9_MAX_MSIZE)
		msize = P9_MAX_MSIZE;
	if (msize < P9_MIN_MSIZE)
		return -EINVAL;
	r->s->msize = msize;
	put32(r->out, msize);
	put_str(r->out, strcmp(version, "9P2000.L") ? "unknown" : "9P2000.L");
	return 0;
}

static int p9_attach(struct p9_req *r)
{
	uint32_t fid = get32(r->in);
	char name[P9_NAME_MAX + 1];
	struct stat st;
	int ret;

	get32(r->in);				/* afid: no authentication */
	get_str(r->in, name, sizeof(name));	/* uname */
	get_str(r->in, name, sizeof(name));	/* aname: one tree only */
	get32(r->in);				/* n_uname */
	if (r->in->bad)
		return -EPROTO;
	ret = stat_path(r->s, "", &st);
	if (ret < 0)
		return ret;
	ret = fid_new(r->s, fid, "");
	if (ret < 0)
		return ret;
	put_qid(r->out, &st);
	return 0;
}

static int p9_walk(struct p9_req *r)
{
	REQ_FID(r, f);
	uint32_t newfid = get32(r->in);
	uint16_t nwname = get16(r->in);
	char path[P9_PATH_MAX], name[P9_NAME_MAX + 1];
	size_t nqid_off;
	uint16_t i;
	int ret = 0;

	if (r->in->bad)
		return -EPROTO;
	if (nwname > P9_MAXWELEM)
		return -EINVAL;
	if (newfid != f->fid && fid_get(r->s, newfid))
		return -EBADF;
	snprintf(path, sizeof(path), "%s", f->path);
	nqid_off = r->out->off;
	put16(r->out, 0);
	for (i = 0; i < nwname; i++) {
		struct stat st;

		get_str(r->in, name, sizeof(name));
		if (r->in->bad)
			return -EPROTO;
		if (!strcmp(name, "..")) {
			path_up(path);
		} else if (!*name || strchr(name, '/')) {
			ret = -ENOENT;
		} else if (strcmp(name, ".")) {
			char next[P9_PATH_MAX];

			ret = path_join(next, path, name);
			if (!ret)
				memcpy(path, next, sizeof(path));
		}
		if (!ret)
			ret = stat_path(r->s, path, &st);
		if (ret)
			break;
		put_qid(r->out, &st);
	}
	/* The first name failing is an error; later ones a short walk. */
	if (i == 0 && nwname)
		return ret;
	r->out->p[nqid_off] = i;
	r->out->p[nqid_off + 1] = i >> 8;
	if (i < nwname)
		return 0;
	if (newfid == f->fid) {
		char *p = strdup(path);

		if (!p)
			return -ENOMEM;
		free(f->path);
		f->path = p;
		return 0;
	}
	return fid_new(r->s, newfid, path);
}

static int p9_getattr(struct p9_req *r)
{
	REQ_FID(r, f);
	struct stat st;
	int ret;

	get64(r->in);				/* request mask: all basic */
	ret = f->fd >= 0 ? (fstat(f->fd, &st) ? -errno : 0) :
			   stat_path(r->s, f->path, &st);
	if (ret)
		return ret;
	put64(r->out, P9_GETATTR_BASIC);
	put_qid(r->out, &st);
	put32(r->out, st.st_mode);
	put32(r->out, st.st_uid);
	put32(r->out, st.st_gid);
	put64(r->out, st.st_nlink);
	put64(r->out, st.st_rdev);
	put64(r->out, st.st_size);
	put64(r->out, st.st_blksize);
	put64(r->out, st.st_blocks);
	put64(r->out, st.st_atim.tv_sec);
	put64(r->out, st.st_atim.tv_nsec);
	put64(r->out, st.st_mtim.tv_sec);
	put64(r->out, st.st_mtim.tv_nsec);
	put64(r->out, st.st_ctim.tv_sec);
	put64(r->out, st.st_ctim.tv_nsec);
	for (int i = 0; i < 4; i++)		/* btime, gen, data_version */
		put64(r->out, 0);
	return 0;
}

static struct timespec setattr_time(uint32_t valid, uint32_t bit,
				    uint32_t set_bit, uint64_t sec,
				    uint64_t nsec)
{
	if (!(valid & bit))
		return (struct timespec){ .tv_nsec = UTIME_OMIT };
	if (!(valid & set_bit))
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	return (struct timespec){ .tv_sec = sec, .tv_nsec = nsec };
}

static int p9_setattr(struct p9_req *r)
{
	REQ_FID(r, f);
	uint32_t valid = get32(r->in), mode = get32(r->in);
	uint32_t uid = get32(r->in), gid = get32(r->in);
	uint64_t size = get64(r->in);
	uint64_t as = get64(r->in), ans = get64(r->in);
	uint64_t ms = get64(r->in), mns = get64(r->in);
	struct stat st;
	char proc[64];
	int fd, ret = 0;

	if (r->in->bad)
		return -EPROTO;
	fd = open_in_root(r->s, f->path, O_PATH, 0);
	if (fd < 0)
		return fd;
	/*
	 * The /proc/self/fd path names the inode itself, never what a
	 * symlink points to; still, a symlink has no mode or size to set.
	 */
	if ((valid & (P9_SETATTR_MODE | P9_SETATTR_SIZE)) &&
	    (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode))) {
		close(fd);
		return -EOPNOTSUPP;
	}
	proc_path(proc, sizeof(proc), fd);
	if ((valid & P9_SETATTR_MODE) && chmod(proc, mode & 07777) < 0)
		ret = -errno;
	if (!ret && (valid & (P9_SETATTR_UID | P9_SETATTR_GID)) &&
	    fchownat(fd, "", valid & P9_SETATTR_UID ? uid : (uid_t)-1,
		     valid & P9_SETATTR_GID ? gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		ret = -errno;
	if (!ret && (valid & P9_SETATTR_SIZE) &&
	    (size > INT64_MAX || truncate(proc, size) < 0))
		ret = size > INT64_MAX ? -EFBIG : -errno;
	if (!ret && (valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME))) {
		struct timespec t[2] = {
			setattr_time(valid, P9_SETATTR_ATIME,
				     P9_SETATTR_ATIME_SET, as, ans),
			setattr_time(valid, P9_SETATTR_MTIME,
				     P9_SETATTR_MTIME_SET, ms, mns),
		};

		if (utimensat(AT_FDCWD, proc, t, 0) < 0)
			ret = -errno;
	}
	close(fd);
	return ret;
}

static int p9_lopen(struct p9_req *r)
{
	REQ_FID(r, f);
	uint32_t flags = get32(r->in);
	struct stat st;
	int fd;

	if (r->in->bad)
		return -EPROTO;
	if (f->fd >= 0)
		return -EBUSY;
	fd = open_in_root(r->s, f->path, flags & P9_OPEN_FLAGS, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	f->fd = fd;
	put_qid(r->out, &st);
	put32(r->out, r->s->msize - P9_IOHDR);	/* iounit */
	return 0;
}

static int p9_lcreate(struct p9_req *r)
{
	REQ_FID(r, f);
	char name[P9_NAME_MAX + 1], path[P9_PATH_MAX];
	uint32_t flags, mode;
	struct stat st;
	int dfd, fd, ret;

	get_str(r->in, name, sizeof(name));
	flags = get32(r->in);
	mode = get32(r->in);
	get32(r->in);				/* gid */
	if (r->in->bad)
		return -EPROTO;
	if (!name_ok(name))
		return -EINVAL;
	if (f->fd >= 0)
		return -EBUSY;
	ret = path_join(path, f->path, name);
	if (ret)
		return ret;
	dfd = open_dir_fid(r->s, f);
	if (dfd < 0)
		return dfd;
	/* One component below a resolved directory: cannot escape. */
	fd = openat(dfd, name, (flags & P9_OPEN_FLAGS) | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, mode & 07777);
	ret = fd < 0 ? -errno : 0;
	close(dfd);
	if (ret)
		return ret;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	free(f->path);
	f->path = strdup(path);
	if (!f->path) {
		close(fd);
		f->path = strdup("");
		return -ENOMEM;
	}
	f->fd = fd;
	put_qid(r->out, &st);
	put32(r->out, r->s->msize - P9_IOHDR);
	return 0;
}

/* Tmkdir, Tsymlink, Tmknod: make name in directory fid, reply a qid. */
static int p9_make(struct p9_req *r, uint8_t type)
{
	REQ_FID(r, f);
	char name[P9_NAME_MAX + 1], target[P9_PATH_MAX];
	uint32_t mode = 0, major = 0, minor = 0;
	struct stat st;
	int dfd, ret = 0;

	get_str(r->in, name, sizeof(name));
	if (type == P9_TSYMLINK) {
		get_str(r->in, target, sizeof(target));
	} else {
		mode = get32(r->in);
		if (type == P9_TMKNOD) {
			major = get32(r->in);
			minor = get32(r->in);
		}
	}
	get32(r->in);				/* gid */
	if (r->in->bad)
		return -EPROTO;
	if (!name_ok(name))
		return -EINVAL;
	dfd = open_dir_fid(r->s, f);
	if (dfd < 0)
		return dfd;
	if (type == P9_TMKDIR)
		ret = mkdirat(dfd, name, mode & 07777);
	else if (type == P9_TSYMLINK)
		ret = symlinkat(target, dfd, name);
	else
		ret = mknodat(dfd, name, mode, makedev(major, minor));
	if (ret < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		ret = -errno;
	close(dfd);
	if (!ret)
		put_qid(r->out, &st);
	return ret;
}

static int p9_readlink(struct p9_req *r)
{
	REQ_FID(r, f);
	char target[P9_PATH_MAX];
	ssize_t n;
	int fd;

	fd = open_in_root(r->s, f->path, O_PATH, 0);
	if (fd < 0)
		return fd;
	n = readlinkat(fd, "", target, sizeof(target) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	put_str(r->out, target);
	return 0;
}

static int p9_read(struct p9_req *r)
{
	REQ_FID(r, f);
	uint64_t off = get64(r->in);
	uint32_t count = get32(r->in);
	size_t room = r->out->cap - r->out->off;
	ssize_t n;

	if (r->in->bad)
		return -EPROTO;
	if (f->fd < 0)
		return -EBADF;
	if (room < 4)
		return -ENOBUFS;
	if (count > room - 4)
		count = room - 4;
	if (off > INT64_MAX)
		return -EINVAL;
	n = pread(f->fd, r->out->p + r->out->off + 4, count, off);
	if (n < 0)
		return -errno;
	put32(r->out, n);
	r->out->off += n;
	return 0;
}

static int p9_write(struct p9_req *r)
{
	REQ_FID(r, f);
	uint64_t off = get64(r->in);
	uint32_t count = get32(r->in);
	ssize_t n;

	if (r->in->bad || r->in->len - r->in->off < count)
		return -EPROTO;
	if (f->fd < 0)
		return -EBADF;
	if (off > INT64_MAX)
		return -EINVAL;
	n = pwrite(f->fd, r->in->p + r->in->off, count, off);
	if (n < 0)
		return -errno;
	put32(r->out, n);
	return 0;
}

static int p9_readdir(struct p9_req *r)
{
	REQ_FID(r, f);
	uint64_t off = get64(r->in);
	uint32_t count = get32(r->in);
	size_t room = r->out->cap - r->out->off, count_off, used = 0;
	uint8_t *buf;
	long n;

	if (r->in->bad)
		return -EPROTO;
	if (f->fd < 0)
		return -EBADF;
	if (room < 4)
		return -ENOBUFS;
	if (count > room - 4)
		count = room - 4;
	if (lseek(f->fd, off, SEEK_SET) == (off_t)-1)
		return -errno;
	buf = malloc(count ? count : 1);
	if (!buf)
		return -ENOMEM;
	n = syscall(SYS_getdents64, f->fd, buf, count);
	if (n < 0) {
		free(buf);
		return -errno;
	}
	count_off = r->out->off;
	put32(r->out, 0);
	for (long pos = 0; pos < n;) {
		struct dirent64 *d = (struct dirent64 *)(buf + pos);
		size_t len = strlen(d->d_name);
		size_t need = P9_READDIR_ENTRY_HDR + len;

		if (used + need > count)
			break;
		put8(r->out, d->d_type == DT_DIR ? P9_QTDIR :
			     d->d_type == DT_LNK ? P9_QTSYMLINK : P9_QTFILE);
		put32(r->out, 0);
		put64(r->out, d->d_ino);
		put64(r->out, d->d_off);
		put8(r->out, d->d_type);
		put_str(r->out, d->d_name);
		used += need;
		pos += d->d_reclen;
	}
	free(buf);
	r->out->p[count_off] = used;
	r->out->p[count_off + 1] = used >> 8;
	r->out->p[count_off + 2] = used >> 16;
	r->out->p[count_off + 3] = used >> 24;
	return 0;
}

static int p9_statfs(struct p9_req *r)
{
	REQ_FID(r, f);
	struct statfs st;
	int fd = open_in_root(r->s, f->path, O_PATH, 0);

	if (fd < 0)
		return fd;
	if (fstatfs(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	put32(r->out, st.f_type);
	put32(r->out, st.f_bsize);
	put64(r->out, st.f_blocks);
	put64(r->out, st.f_bfree);
	put64(r->out, st.f_bavail);
	put64(r->out, st.f_files);
	put64(r->out, st.f_ffree);
	put64(r->out, (uint64_t)st.f_fsid.__val[0] |
		      (uint64_t)st.f_fsid.__val[1] << 32);
	put32(r->out, st.f_namelen);
	return 0;
}

static int p9_fsync(struct p9_req *r)
{
	REQ_FID(r, f);
	uint32_t datasync = get32(r->in);

	if (f->fd < 0)
		return -EBADF;
	if ((datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0)
		return -errno;
	return 0;
}

static int p9_lock(struct p9_req *r, uint8_t type)
{
	REQ_FID(r, f);
	char client[P9_NAME_MAX + 1];
	uint8_t ltype = get8(r->in);
	uint64_t start, length;
	uint32_t proc_id;

	(void)f;
	if (type == P9_TLOCK)
		get32(r->in);			/* flags */
	start = get64(r->in);
	length = get64(r->in);
	proc_id = get32(r->in);
	get_str(r->in, client, sizeof(client));
	if (r->in->bad)
		return -EPROTO;
	(void)ltype;
	/* Locks are local to the guest: the share has one client. */
	if (type == P9_TLOCK) {
		put8(r->out, P9_LOCK_SUCCESS);
		return 0;
	}
	put8(r->out, P9_LOCK_TYPE_UNLCK);
	put64(r->out, start);
	put64(r->out, length);
	put32(r->out, proc_id);
	put_str(r->out, client);
	return 0;
}

static int p9_link(struct p9_req *r)
{
	REQ_FID(r, dir);
	REQ_FID(r, f);
	char name[P9_NAME_MAX + 1];
	int dfd, fd, ret = 0;

	get_str(r->in, name, sizeof(name));
	if (r->in->bad)
		return -EPROTO;
	if (!name_ok(name))
		return -EINVAL;
	dfd = open_dir_fid(r->s, dir);
	if (dfd < 0)
		return dfd;
	fd = open_in_root(r->s, f->path, O_PATH, 0);
	if (fd < 0) {
		close(dfd);
		return fd;
	}
	if (linkat(fd, "", dfd, name, AT_EMPTY_PATH) < 0)
		ret = -errno;
	close(fd);
	close(dfd);
	return ret;
}

/* Rename name in directory fid od to nname in directory fid nd. */
static int do_rename(struct p9_server *s, struct p9_fid *od, const char *name,
		     struct p9_fid *nd, const char *nname)
{
	char from[P9_PATH_MAX], to[P9_PATH_MAX];
	int ofd, nfd, ret = 0;

	if (!name_ok(name) || !name_ok(nname))
		return -EINVAL;
	if (path_join(from, od->path, name) || path_join(to, nd->path, nname))
		return -ENAMETOOLONG;
	ofd = open_dir_fid(s, od);
	if (ofd < 0)
		return ofd;
	nfd = open_dir_fid(s, nd);
	if (nfd < 0) {
		close(ofd);
		return nfd;
	}
	if (renameat(ofd, name, nfd, nname) < 0)
		ret = -errno;
	close(ofd);
	close(nfd);
	if (!ret)
		rename_fids(s, from, to);
	return ret;
}

static int p9_renameat(struct p9_req *r)
{
	REQ_FID(r, od);
	char name[P9_NAME_MAX + 1], nname[P9_NAME_MAX + 1];

	get_str(r->in, name, sizeof(name));
	{
		REQ_FID(r, nd);
		get_str(r->in, nname, sizeof(nname));
		if (r->in->bad)
			return -EPROTO;
		return do_rename(r->s, od, name, nd, nname);
	}
}

static int p9_rename(struct p9_req *r)
{
	REQ_FID(r, f);
	REQ_FID(r, nd);
	char nname[P9_NAME_MAX + 1], parent[P9_PATH_MAX];
	const char *slash = strrchr(f->path, '/');
	const char *base = slash ? slash + 1 : f->path;
	struct p9_fid od = { .fd = -1, .path = parent };

	get_str(r->in, nname, sizeof(nname));
	if (r->in->bad)
		return -EPROTO;
	if (!*f->path)
		return -EBUSY;			/* the root */
	snprintf(parent, sizeof(parent), "%s", f->path);
	path_up(parent);
	return do_rename(r->s, &od, base, nd, nname);
}

static int p9_unlinkat(struct p9_req *r)
{
	REQ_FID(r, dir);
	char name[P9_NAME_MAX + 1];
	uint32_t flags;
	int dfd, ret = 0;

	get_str(r->in, name, sizeof(name));
	flags = get32(r->in);
	if (r->in->bad)
		return -EPROTO;
	if (!name_ok(name))
		return -EINVAL;
	dfd = open_dir_fid(r->s, dir);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, name, flags & AT_REMOVEDIR) < 0)
		ret = -errno;
	close(dfd);
	return ret;
}

static int p9_remove(struct p9_req *r)
{
	uint32_t fid = get32(r->in);
	struct p9_fid *f = fid_get(r->s, fid);
	struct p9_fid parent = { .fd = -1 };
	char path[P9_PATH_MAX];
	struct stat st;
	int dfd, ret;

	if (r->in->bad)
		return -EPROTO;
	if (!f)
		return -EBADF;
	ret = *f->path ? stat_path(r->s, f->path, &st) : -EBUSY;
	if (!ret) {
		const char *slash = strrchr(f->path, '/');

		snprintf(path, sizeof(path), "%s", f->path);
		path_up(path);
		parent.path = path;
		dfd = open_dir_fid(r->s, &parent);
		if (dfd < 0) {
			ret = dfd;
		} else {
			if (unlinkat(dfd, slash ? slash + 1 : f->path,
				     S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
				ret = -errno;
			close(dfd);
		}
	}
	/* Tremove clunks the fid even when the removal fails. */
	fid_clunk(r->s, fid);
	return ret;
}

static int p9_clunk(struct p9_req *r)
{
	uint32_t fid = get32(r->in);

	if (r->in->bad)
		return -EPROTO;
	if (!fid_get(r->s, fid))
		return -EBADF;
	fid_clunk(r->s, fid);
	return 0;
}

static int p9_dispatch(struct p9_req *r, uint8_t type)
{
	switch (type) {
	case P9_TVERSION:	return p9_version(r);
	case P9_TATTACH:	return p9_attach(r);
	case P9_TWALK:		return p9_walk(r);
	case P9_TGETATTR:	return p9_getattr(r);
	case P9_TSETATTR:	return p9_setattr(r);
	case P9_TLOPEN:		return p9_lopen(r);
	case P9_TLCREATE:	return p9_lcreate(r);
	case P9_TMKDIR:
	case P9_TSYMLINK:
	case P9_TMKNOD:		return p9_make(r, type);
	case P9_TREADLINK:	return p9_readlink(r);
	case P9_TREAD:		return p9_read(r);
	case P9_TWRITE:		return p9_write(r);
	case P9_TREADDIR:	return p9_readdir(r);
	case P9_TSTATFS:	return p9_statfs(r);
	case P9_TFSYNC:		return p9_fsync(r);
	case P9_TLOCK:
	case P9_TGETLOCK:	return p9_lock(r, type);
	case P9_TLINK:		return p9_link(r);
	case P9_TRENAME:	return p9_rename(r);
	case P9_TRENAMEAT:	return p9_renameat(r);
	case P9_TUNLINKAT:	return p9_unlinkat(r);
	case P9_TREMOVE:	return p9_remove(r);
	case P9_TCLUNK:		return p9_clunk(r);
	case P9_TFLUSH:		return 0;	/* requests complete in order */
	case P9_TAUTH:
	case P9_TXATTRWALK:
	case P9_TXATTRCREATE:
	default:		return -EOPNOTSUPP;
	}
}

size_t p9_server__handle(struct p9_server *s, const uint8_t *req,
			 size_t req_len, uint8_t *resp, size_t resp_cap)
{
	struct p9_in in = { .p = req, .len = req_len };
	struct p9_out out = { .p = resp, .cap = resp_cap };
	struct p9_req r = { .s = s, .in = &in, .out = &out };
	uint32_t size = get32(&in);
	uint8_t type = get8(&in);
	uint16_t tag = get16(&in);
	int ret;

	if (resp_cap < P9_HDR_SIZE + 4)
		return 0;
	/* The reply never grows past the negotiated message size. */
	if (out.cap > s->msize)
		out.cap = s->msize;
	if (in.bad || size < P9_HDR_SIZE || size > req_len) {
		ret = -EPROTO;
	} else {
		in.len = size;
		out.off = P9_HDR_SIZE;
		ret = p9_dispatch(&r, type);
		if (!ret && out.full)
			ret = -ENOBUFS;
	}
	if (ret) {
		out.off = P9_HDR_SIZE;
		out.full = false;
		put32(&out, -ret);
		type = P9_RLERROR - 1;
	}
	resp[0] = out.off;
	resp[1] = out.off >> 8;
	resp[2] = out.off >> 16;
	resp[3] = out.off >> 24;
	resp[4] = type + 1;
	resp[5] = tag;
	resp[6] = tag >> 8;
	return out.off;
}

struct p9_server *p9_server__new(int root_fd)
{
	struct p9_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->root_fd = root_fd;
	s->msize = P9_MAX_MSIZE;
	return s;
}

void p9_server__free(struct p9_server *s)
{
	fid_clunk_all(s);
	close(s->root_fd);
	free(s);
}
