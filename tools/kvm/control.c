// SPDX-License-Identifier: GPL-2.0
/*
 * The control channel of a running guest: see kvm/control.h.  The
 * protocol checks at the top are pure (host tests and fuzzer); then the
 * server (a thread of `lkvm run`) and the client used by the commands.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/init.h"
#include "kvm/kvm.h"

/* Payload size of each request type; -1 for unknown types. */
static int ctl__payload_size(u16 type)
{
	switch (type) {
	case CTL_INFO:
	case CTL_STOP:
	case CTL_PAUSE:
	case CTL_RESUME:
		return 0;
	case CTL_BALLOON:
		return sizeof(struct ctl_balloon);
	case CTL_STAT:
		return sizeof(struct ctl_stat);
	case CTL_DEBUG:
		return sizeof(struct ctl_debug);
	default:
		return -1;
	}
}

int ctl__check_hdr(const struct ctl_hdr *hdr, const char **why)
{
	if (hdr->magic != CTL_MAGIC) {
		*why = "not an lkvm control message (bad magic)";
		return -EPROTO;
	}
	if (hdr->version != CTL_VERSION) {
		*why = "unsupported protocol version";
		return -EPROTONOSUPPORT;
	}
	if (hdr->len > CTL_MAX_REQ) {
		*why = "request too large";
		return -EMSGSIZE;
	}
	if (ctl__payload_size(hdr->type) < 0) {
		*why = "unknown request type";
		return -EOPNOTSUPP;
	}
	if (hdr->len != (u32)ctl__payload_size(hdr->type)) {
		*why = "wrong payload size for the request type";
		return -EINVAL;
	}
	if (hdr->flags) {
		*why = "unknown header flags";
		return -EINVAL;
	}
	return 0;
}

static int ctl__check_payload(struct ctl_msg *m, const char **why)
{
	switch (m->type) {
	case CTL_BALLOON:
		if (m->u.balloon.op < CTL_BALLOON_INFLATE ||
		    m->u.balloon.op > CTL_BALLOON_SET) {
			*why = "unknown balloon operation";
			return -EINVAL;
		}
		break;
	case CTL_STAT:
		if (m->u.stat.flags & ~CTL_STAT_ALL) {
			*why = "unknown stat flags";
			return -EINVAL;
		}
		break;
	case CTL_DEBUG:
		if (!m->u.debug.what || (m->u.debug.what &
		    ~(CTL_DEBUG_DUMP | CTL_DEBUG_NMI | CTL_DEBUG_SYSRQ |
		      CTL_DEBUG_DIRTY_RATE))) {
			*why = "unknown debug operation";
			return -EINVAL;
		}
		if (m->u.debug.cpu < CTL_DEBUG_ALL_CPUS) {
			*why = "bad vCPU number";
			return -EINVAL;
		}
		if ((m->u.debug.what & CTL_DEBUG_SYSRQ) &&
		    (m->u.debug.sysrq < 0x20 || m->u.debug.sysrq > 0x7e)) {
			*why = "the SysRq key must be a printable character";
			return -EINVAL;
		}
		break;
	}
	return 0;
}

int ctl__parse(const void *buf, size_t len, struct ctl_msg *msg,
	       const char **why)
{
	struct ctl_hdr hdr;
	int r;

	if (len < sizeof(hdr)) {
		*why = "truncated header";
		return -EPROTO;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	r = ctl__check_hdr(&hdr, why);
	if (r)
		return r;
	if (len - sizeof(hdr) != hdr.len) {
		*why = len - sizeof(hdr) < hdr.len ? "truncated payload" :
						       "trailing bytes";
		return -EPROTO;
	}
	memset(msg, 0, sizeof(*msg));
	msg->type = hdr.type;
	memcpy(&msg->u, (const u8 *)buf + sizeof(hdr), hdr.len);
	return ctl__check_payload(msg, why);
}

bool ctl__valid_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > CTL_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* --- transport ------------------------------------------------------- */

/* Read exactly len bytes within the deadline; -ETIMEDOUT, -ECONNRESET. */
static int ctl__read(int fd, void *buf, size_t len, int timeout_ms)
{
	u8 *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&pfd, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

static int ctl__write(int fd, const void *buf, size_t len)
{
	const u8 *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static void ctl__reply(int fd, u16 type, int status, const char *text,
		       size_t len)
{
	struct ctl_hdr hdr = {
		.magic = CTL_MAGIC,
		.version = CTL_VERSION,
		.type = type | CTL_REPLY,
	};
	int32_t st = status;

	len = MIN(len, CTL_MAX_REPLY - sizeof(st));
	hdr.len = sizeof(st) + len;
	if (!ctl__write(fd, &hdr, sizeof(hdr)) &&
	    !ctl__write(fd, &st, sizeof(st)))
		ctl__write(fd, text, len);
}

static void ctl__reply_error(int fd, u16 type, int err, const char *why)
{
	ctl__reply(fd, type, err, why, strlen(why));
}

/* Handlers registered with ctl_handler(); none in the host tests. */
extern const struct ctl_handler __start_lkvm_ctl[] __attribute__((weak));
extern const struct ctl_handler __stop_lkvm_ctl[] __attribute__((weak));

static const struct ctl_handler *ctl__find(int type)
{
	for (const struct ctl_handler *h = __start_lkvm_ctl;
	     h && h < __stop_lkvm_ctl; h++)
		if (h->type == type)
			return h;
	return NULL;
}

void ctl__serve_conn(struct kvm *kvm, int fd)
{
	u8 buf[sizeof(struct ctl_hdr) + CTL_MAX_REQ];
	struct ctl_hdr hdr;
	const struct ctl_handler *h;
	const char *why = NULL;
	struct ctl_msg msg;
	char *text = NULL;
	size_t text_len = 0;
	FILE *out;
	int r;

	r = ctl__read(fd, &hdr, sizeof(hdr), CTL_IO_TIMEOUT_MS);
	if (r) {
		pr_debug("control: dropped a connection: %s",
			 r == -ETIMEDOUT ? "no request in time" :
					   "truncated header");
		return;
	}
	r = ctl__check_hdr(&hdr, &why);
	if (r) {
		pr_debug("control: refused a request: %s", why);
		ctl__reply_error(fd, hdr.type, -r, why);
		return;
	}
	memcpy(buf, &hdr, sizeof(hdr));
	r = ctl__read(fd, buf + sizeof(hdr), hdr.len, CTL_IO_TIMEOUT_MS);
	if (r) {
		pr_debug("control: dropped a truncated request");
		return;
	}
	r = ctl__parse(buf, sizeof(hdr) + hdr.len, &msg, &why);
	if (r) {
		ctl__reply_error(fd, hdr.type, -r, why);
		return;
	}
	h = ctl__find(msg.type);
	if (!h) {
		ctl__reply_error(fd, msg.type, EOPNOTSUPP,
				 "this guest does not serve that request");
		return;
	}
	out = open_memstream(&text, &text_len);
	if (!out) {
		ctl__reply_error(fd, msg.type, ENOMEM, "out of memory");
		return;
	}
	r = h->fn(kvm, &msg, out);
	fclose(out);
	ctl__reply(fd, msg.type, r, text, text_len);
	free(text);
	if (!r && h->after)
		h->after(kvm);
}

/* --- the socket directory --------------------------------------------- */

const char *ctl__dir(void)
{
	static char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *base = getenv("XDG_RUNTIME_DIR");
	const char *leaf = "lkvm";
	struct stat st;

	if (dir[0])
		return dir;
	if (!base || !*base) {
		base = getenv("HOME");
		if (!base || !*base) {
			struct passwd *pw = getpwuid(getuid());

			if (!pw)
				die("cannot find the home directory for ~/.lkvm");
			base = pw->pw_dir;
		}
		leaf = ".lkvm";
	}
	/* Room for "/NAME.sock" with the longest name. */
	if (snprintf(dir, sizeof(dir), "%s/%s", base, leaf) >=
	    (int)sizeof(dir) - CTL_NAME_MAX - 7)
		die("control directory %s/%s: path too long for a Unix socket",
		    base, leaf);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		die_errno("cannot create the control directory %s", dir);
	if (lstat(dir, &st) < 0)
		die_errno("control directory %s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		die("%s is not a private directory of this user (mode 0700); "
		    "fix or remove it", dir);
	return dir;
}

static void ctl__path(const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock",
		 ctl__dir(), name);
}

/*
 * Connect to name's socket.  A socket nobody listens on belongs to a
 * guest that died without cleaning up: remove it and say -ENOENT.
 */
static int ctl__connect(const char *name)
{
	struct sockaddr_un sa;
	int fd, err;

	if (!ctl__valid_name(name))
		return -EINVAL;
	ctl__path(name, &sa);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	err = errno;
	close(fd);
	if (err == ECONNREFUSED) {
		pr_debug("removing the stale socket %s", sa.sun_path);
		unlink(sa.sun_path);
		return -ENOENT;
	}
	return -err;
}

/* --- client ------------------------------------------------------------- */

#define CTL_REPLY_TIMEOUT_MS	60000	/* a dump of many vCPUs under TCG */

int ctl__call(const char *name, u16 type, const void *payload, u32 len,
	      int *status, char **text)
{
	struct ctl_hdr hdr = {
		.magic = CTL_MAGIC, .version = CTL_VERSION,
		.type = type, .len = len,
	};
	int32_t st;
	int fd, r;

	fd = ctl__connect(name);
	if (fd < 0)
		return fd;
	r = ctl__write(fd, &hdr, sizeof(hdr));
	if (!r && len)
		r = ctl__write(fd, payload, len);
	if (!r)
		r = ctl__read(fd, &hdr, sizeof(hdr), CTL_REPLY_TIMEOUT_MS);
	if (r)
		goto out;
	if (hdr.magic != CTL_MAGIC || hdr.version != CTL_VERSION ||
	    hdr.type != (type | CTL_REPLY) || hdr.len < sizeof(st) ||
	    hdr.len > CTL_MAX_REPLY) {
		r = -EPROTO;
		goto out;
	}
	r = ctl__read(fd, &st, sizeof(st), CTL_REPLY_TIMEOUT_MS);
	if (r)
		goto out;
	*text = xzalloc(hdr.len - sizeof(st) + 1);
	r = ctl__read(fd, *text, hdr.len - sizeof(st), CTL_REPLY_TIMEOUT_MS);
	if (r) {
		free(*text);
		*text = NULL;
		goto out;
	}
	*status = st;
out:
	close(fd);
	if (r == -EPIPE)
		r = -ECONNRESET;
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ctl__list(char ***names)
{
	DIR *d = opendir(ctl__dir());
	struct dirent *e;
	int n = 0, cap = 0;

	*names = NULL;
	if (!d)
		die_errno("cannot read %s", ctl__dir());
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char *name;
		int fd;

		if (len < 6 || strcmp(e->d_name + len - 5, ".sock"))
			continue;
		name = xstrdup(e->d_name);
		name[len - 5] = '\0';
		fd = ctl__connect(name);
		if (fd < 0) {
			free(name);
			continue;
		}
		close(fd);
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			*names = realloc(*names, cap * sizeof(char *));
			if (!*names)
				die("out of memory");
		}
		(*names)[n++] = name;
	}
	closedir(d);
	if (n)
		qsort(*names, n, sizeof(char *), name_cmp);
	return n;
}

int ctl__run_simple(const char *cmd, const char *name, u16 type,
		    const void *payload, u32 len)
{
	char *text = NULL;
	int status, r;

	if (!ctl__valid_name(name))
		die("%s: '%s' is not a guest name", cmd, name);
	r = ctl__call(name, type, payload, len, &status, &text);
	if (r == -ENOENT)
		die("%s: no guest named '%s' is running (see 'lkvm list')",
		    cmd, name);
	if (r == -ECONNRESET)
		die("%s: guest '%s' went away before answering", cmd, name);
	if (r == -EACCES)
		die("%s: guest '%s' belongs to another user", cmd, name);
	if (r)
		die("%s: guest '%s': %s", cmd, name, strerror(-r));
	if (status) {
		fprintf(stderr, "lkvm: %s: guest '%s': %s (%s)\n", cmd, name,
			text && *text ? text : "failed", strerror(status));
		free(text);
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

/* --- server: a thread of `lkvm run` ------------------------------------ */

static struct {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char name[CTL_NAME_MAX + 1];
} server = { .fd = -1 };

const char *ctl__guest_name(void)
{
	return server.name;
}

static bool ctl__peer_ok(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == geteuid();
}

static void *ctl__thread(void *arg)
{
	struct kvm *kvm = arg;

	pthread_setname_np(pthread_self(), "control");
	for (;;) {
		int fd = accept4(server.fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			pr_warn("control socket: accept: %s", strerror(errno));
			return NULL;
		}
		if (!ctl__peer_ok(fd)) {
			ctl__reply_error(fd, 0, EACCES,
					 "this guest belongs to another user");
			pr_warn("control: refused a peer of another user");
		} else {
			ctl__serve_conn(kvm, fd);
		}
		close(fd);
	}
}

static void ctl__remove_socket(void)
{
	if (server.path[0])
		unlink(server.path);
	server.path[0] = '\0';
}

static int ctl__init(struct kvm *kvm)
{
	struct sockaddr_un sa;
	const char *name = kvm->cfg->name;
	pthread_t thread;
	int fd;

	if (name && !ctl__valid_name(name))
		die("--name: '%s' is not a guest name (letters, digits, '.', "
		    "'_', '-', at most %d, not starting with '.')", name,
		    CTL_NAME_MAX);
	if (name)
		snprintf(server.name, sizeof(server.name), "%s", name);
	else
		snprintf(server.name, sizeof(server.name), "guest-%d",
			 (int)getpid());

	fd = ctl__connect(server.name);
	if (fd >= 0)
		die("a guest named '%s' is already running (pick another "
		    "--name)", server.name);
	ctl__path(server.name, &sa);
	server.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (server.fd < 0)
		die_errno("control socket");
	if (bind(server.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die_errno("cannot create the control socket %s", sa.sun_path);
	snprintf(server.path, sizeof(server.path), "%s", sa.sun_path);
	atexit(ctl__remove_socket);
	/* The directory is private already; the socket is too. */
	if (chmod(server.path, 0600) < 0 || listen(server.fd, 8) < 0)
		die_errno("control socket %s", server.path);
	if (pthread_create(&thread, NULL, ctl__thread, kvm))
		die("cannot start the control thread");
	pthread_detach(thread);
	pr_debug("control socket %s", server.path);
	return 0;
}
lkvm_init(INIT_LATE, ctl__init);

static int ctl__exit(struct kvm *kvm)
{
	(void)kvm;
	ctl__remove_socket();
	return 0;
}
lkvm_exit(ctl__exit);
