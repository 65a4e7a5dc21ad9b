// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm's guest init: the first process of a guest booted with lkvm's own
 * initramfs (initramfs.c builds it; this program is linked into lkvm as
 * data and runs inside the guest, statically linked).
 *
 * It loads the kernel modules lkvm packed (/lkvm/modules, in order), mounts
 * the host's root read-only over virtio-9p, puts a tmpfs-backed overlay on
 * top so the guest can write, moves into it, and runs a shell on the
 * console, or, for `lkvm sandbox`, the command in /lkvm/argv, whose exit
 * status it hands to lkvm through an I/O port (lkvm then stops the guest).
 *
 * /lkvm/config holds "key=value" lines written by lkvm: root_tag, console
 * (ttyS0 or hvc0), hostname, cwd, term, path, rows, cols, sandbox (0/1),
 * host_tty (0/1: lkvm's stdin is a terminal).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* The same port as in lkvm's include/kvm/initramfs.h. */
#define LKVM_STATUS_PORT	0x504
#define CONFIG_PATH		"/lkvm/config"
#define ARGV_PATH		"/lkvm/argv"
#define MODULES_DIR		"/lkvm/modules"
#define LOWER			"/lkvm/lower"
#define RW			"/lkvm/rw"
#define NEWROOT			"/lkvm/root"
#define NINEP_MSIZE		"131072"
#define MAX_ARGS		256
#define MODULE_INIT_COMPRESSED_FILE 4

static char config[4096];
static bool sandbox;

static void poweroff(void) __attribute__((noreturn));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("lkvm-init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print why, then stop the guest: lkvm sees no command status. */
static void fail(const char *fmt, ...) __attribute__((noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("lkvm-init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	poweroff();
}

static void poweroff(void)
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < size &&
	       (n = read(fd, buf + total, size - total)) > 0)
		total += n;
	close(fd);
	return total;
}

/* The value of "key=" in /lkvm/config (a new string), or def. */
static const char *conf(const char *key, const char *def)
{
	size_t klen = strlen(key);

	for (char *p = config; *p; p = strchr(p, '\n') + 1) {
		char *end = strchr(p, '\n');

		if (!end)
			break;
		if (!strncmp(p, key, klen) && p[klen] == '=')
			return strndup(p + klen + 1, end - (p + klen + 1));
	}
	return def;
}

static void mount_or_fail(const char *src, const char *dst, const char *type,
			  unsigned long flags, const char *opts)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, opts) < 0)
		fail("cannot mount %s on %s: %s", type, dst, strerror(errno));
}

static void load_modules(void)
{
	char order[4096], path[256];
	ssize_t n = read_file(MODULES_DIR "/order", order, sizeof(order) - 1);

	if (n <= 0)
		return;		/* everything is built in, or lkvm found nothing */
	order[n] = '\0';
	for (char *name = strtok(order, "\n"); name; name = strtok(NULL, "\n")) {
		int flags = strstr(name, ".ko.") ? MODULE_INIT_COMPRESSED_FILE : 0;
		int fd;

		snprintf(path, sizeof(path), MODULES_DIR "/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail("cannot open %s: %s", path, strerror(errno));
		if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
			say("cannot load module %s: %s", name, strerror(errno));
		close(fd);
	}
}

/* The host's root, read-only, under a writable tmpfs overlay at NEWROOT. */
static void mount_root(void)
{
	const char *tag = conf("root_tag", "lkvm-root");
	char opts[256];

	mkdir(LOWER, 0755);
	if (mount(tag, LOWER, "9p", MS_RDONLY,
		  "trans=virtio,version=9p2000.L,msize=" NINEP_MSIZE) < 0)
		fail("cannot mount the host's root (9p tag %s): %s; the kernel "
		     "needs virtio_pci, 9pnet_virtio and 9p, built in or as "
		     "modules in the host's /lib/modules/%s", tag,
		     strerror(errno), conf("kver", "<version>"));
	mount_or_fail("tmpfs", RW, "tmpfs", 0, "mode=0755");
	mkdir(RW "/upper", 0755);
	mkdir(RW "/work", 0755);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s",
		 LOWER, RW "/upper", RW "/work");
	mkdir(NEWROOT, 0755);
	if (mount("overlay", NEWROOT, "overlay", 0, opts) < 0)
		fail("cannot mount the overlay: %s; the kernel needs overlay, "
		     "built in or as a module in the host's /lib/modules/%s",
		     strerror(errno), conf("kver", "<version>"));
}

/* Move the early mounts into the new root and make it "/". */
static void enter_root(void)
{
	static const char *const moved[] = { "/proc", "/sys", "/dev" };
	char dst[64];

	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		snprintf(dst, sizeof(dst), NEWROOT "%s", moved[i]);
		mkdir(dst, 0755);
		if (mount(moved[i], dst, NULL, MS_MOVE, NULL) < 0)
			fail("cannot move %s: %s", moved[i], strerror(errno));
	}
	/* The initramfs cannot be pivoted away; move over it instead. */
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0)
		fail("cannot enter the new root: %s", strerror(errno));
	mount_or_fail("devpts", "/dev/pts", "devpts", 0, "gid=5,mode=620,ptmxmode=666");
	mount_or_fail("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
}

static int read_argv(char **argv)
{
	static char buf[65536];
	ssize_t n = read_file(ARGV_PATH, buf, sizeof(buf) - 1);
	int argc = 0;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *p = buf; p < buf + n && argc < MAX_ARGS - 1; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	return argc;
}

/* In the child: the console as controlling terminal and stdio. */
static void setup_tty(void)
{
	char path[64];
	struct winsize ws = { 0 };
	struct termios t;
	bool host_tty = !strcmp(conf("host_tty", "0"), "1");
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", conf("console", "ttyS0"));
	setsid();
	fd = open(path, O_RDWR);
	if (fd < 0) {
		say("cannot open %s: %s", path, strerror(errno));
		return;
	}
	ioctl(fd, TIOCSCTTY, 1);
	if (tcgetattr(fd, &t) == 0) {
		/* lkvm's stdout is a file or pipe: no CR before each LF. */
		if (!host_tty) {
			t.c_oflag &= ~ONLCR;
			t.c_lflag &= ~ECHO;
		}
		tcsetattr(fd, TCSANOW, &t);
	}
	ws.ws_row = atoi(conf("rows", "0"));
	ws.ws_col = atoi(conf("cols", "0"));
	if (ws.ws_row && ws.ws_col)
		ioctl(fd, TIOCSWINSZ, &ws);
	dup2(fd, 1);
	dup2(fd, 2);
	/*
	 * A sandbox command reads /dev/null unless lkvm's stdin is a
	 * terminal: what a pipe sends before the guest opens its console
	 * would be lost, and the command could wait forever for more.
	 */
	if (host_tty || !sandbox) {
		dup2(fd, 0);
	} else {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
	}
	if (fd > 2)
		close(fd);
}

static void drain_console(void)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", conf("console", "ttyS0"));
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (fd >= 0) {
		tcdrain(fd);
		close(fd);
	}
}

static void __attribute__((noreturn)) run_command(char **argv);

/*
 * The session leader owns the console.  When it exits, the kernel hangs
 * the terminal up, and the serial driver throws away what the command
 * wrote but was not sent yet.  So the leader is not the command: it waits
 * for the command, lets the console drain, and exits with its status.
 */
static void __attribute__((noreturn)) run_child(char **argv)
{
	int status;
	pid_t cmd;

	setup_tty();
	cmd = fork();
	if (cmd < 0) {
		say("cannot fork: %s", strerror(errno));
		_exit(126);
	}
	if (cmd == 0)
		run_command(argv);
	while (waitpid(cmd, &status, 0) < 0)
		if (errno != EINTR)
			_exit(126);
	tcdrain(1);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void __attribute__((noreturn)) run_command(char **argv)
{
	static char *shell_argv[2];
	const char *cwd = conf("cwd", "/");

	if (chdir(cwd) < 0)
		chdir("/");
	clearenv();
	setenv("PATH", conf("path", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), 1);
	setenv("HOME", "/root", 1);
	setenv("TERM", conf("term", "linux"), 1);
	if (!argv[0]) {
		/* A login shell: bash when the host has it. */
		const char *sh = access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";

		shell_argv[0] = strcmp(sh, "/bin/bash") ? "-sh" : "-bash";
		execv(sh, shell_argv);
		say("cannot run %s: %s", sh, strerror(errno));
		_exit(127);
	}
	execvp(argv[0], argv);
	say("cannot run %s: %s", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

int main(void)
{
	static char *argv[MAX_ARGS];
	const char *hostname;
	int status = 0;
	pid_t child, w;
	ssize_t n;

	mount_or_fail("proc", "/proc", "proc", 0, NULL);
	mount_or_fail("sysfs", "/sys", "sysfs", 0, NULL);
	mount_or_fail("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	n = read_file(CONFIG_PATH, config, sizeof(config) - 1);
	if (n < 0)
		fail("cannot read " CONFIG_PATH ": %s", strerror(errno));
	config[n] = '\0';
	sandbox = !strcmp(conf("sandbox", "0"), "1");
	read_argv(argv);
	load_modules();
	mount_root();
	enter_root();
	hostname = conf("hostname", "lkvm");
	sethostname(hostname, strlen(hostname));

	child = fork();
	if (child < 0)
		fail("cannot fork: %s", strerror(errno));
	if (child == 0)
		run_child(argv);
	/* As PID 1, reap every orphan until the command is done. */
	while ((w = wait(&status)) != child)
		if (w < 0 && errno != EINTR)
			fail("wait: %s", strerror(errno));
	if (sandbox) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) :
			   128 + WTERMSIG(status);

		/*
		 * lkvm stops the guest as soon as it has the status: first
		 * let the console send what the command wrote, and sync.
		 */
		drain_console();
		sync();
		if (ioperm(LKVM_STATUS_PORT, 1, 1) < 0)
			fail("cannot report the exit status: %s", strerror(errno));
		outb(code, LKVM_STATUS_PORT);
	}
	poweroff();
}
