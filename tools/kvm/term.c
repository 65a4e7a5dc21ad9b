// SPDX-License-Identifier: GPL-2.0
/*
 * The host terminal.  See kvm/term.h for what it promises.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/term.h"

#define TERM_ESCAPE		0x01	/* Ctrl-A */
#define TERM_RETRY_US		1000

static struct termios saved_termios;
static volatile sig_atomic_t raw_mode;
static struct kvm *term_kvm;
static term_input_fn input_fn;
static void *input_opaque;
/* Serialises console output from several vCPUs and devices. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

#define TERM_MAX_ESCAPES	8

static struct term_escape {
	u8 key;
	void (*fn)(void *opaque);
	void *opaque;
	const char *help;
} escapes[TERM_MAX_ESCAPES];
static int nr_escapes;

void term__add_escape(u8 key, void (*fn)(void *opaque), void *opaque,
		      const char *help)
{
	if (nr_escapes == TERM_MAX_ESCAPES)
		die("too many terminal escapes");
	escapes[nr_escapes++] = (struct term_escape){ key, fn, opaque, help };
}

void term__set_input(term_input_fn fn, void *opaque)
{
	input_fn = fn;
	input_opaque = opaque;
}

void term__write(const void *buf, size_t len)
{
	pthread_mutex_lock(&out_lock);
	write_full(STDOUT_FILENO, buf, len);
	pthread_mutex_unlock(&out_lock);
}

/* Async-signal-safe: tcsetattr is, and it is all this does. */
static void term__restore(void)
{
	if (raw_mode) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		raw_mode = 0;
	}
}

static void term__crash_handler(int sig)
{
	term__restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void term__stop_handler(int sig)
{
	(void)sig;
	if (term_kvm)
		kvm__request_stop(term_kvm, KVM_STOP_USER);
}

static void term__deliver(const u8 *buf, size_t len)
{
	while (len && input_fn && kvm__stop_cause(term_kvm) == KVM_STOP_NONE) {
		size_t n = input_fn(input_opaque, buf, len);

		buf += n;
		len -= n;
		if (len)
			usleep(TERM_RETRY_US);	/* the guest is not reading */
	}
}

static const char term_help[] =
	"\r\nlkvm console escapes:\r\n"
	"  Ctrl-A x       quit (the guest is stopped)\r\n"
	"  Ctrl-A h       this help\r\n"
	"  Ctrl-A Ctrl-A  send Ctrl-A to the guest\r\n";

/* Returns false when the user asked to quit. */
static bool term__escape(u8 c)
{
	switch (c) {
	case 'x':
	case 'X':
		kvm__request_stop(term_kvm, KVM_STOP_USER);
		return false;
	case 'h':
	case 'H':
	case '?':
		term__write(term_help, sizeof(term_help) - 1);
		for (int i = 0; i < nr_escapes; i++) {
			char line[128];
			int n = snprintf(line, sizeof(line), "  Ctrl-A %c       %s\r\n",
					 escapes[i].key, escapes[i].help);

			term__write(line, MIN(n, (int)sizeof(line) - 1));
		}
		return true;
	case TERM_ESCAPE:
		term__deliver(&c, 1);
		return true;
	default:
		for (int i = 0; i < nr_escapes; i++)
			if (escapes[i].key == c)
				escapes[i].fn(escapes[i].opaque);
		return true;
	}
}

static void *term__thread(void *arg)
{
	bool escape = false;
	u8 buf[256];

	(void)arg;
	pthread_setname_np(pthread_self(), "term");
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		size_t start = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;	/* EOF: the guest just gets no input */
		for (ssize_t i = 0; i < n; i++) {
			if (escape) {
				escape = false;
				start = i + 1;
				if (!term__escape(buf[i]))
					return NULL;
			} else if (raw_mode && buf[i] == TERM_ESCAPE) {
				term__deliver(buf + start, i - start);
				escape = true;
				start = i + 1;
			}
		}
		if (start < (size_t)n)
			term__deliver(buf + start, n - start);
	}
}

static int term__init(struct kvm *kvm)
{
	static const int crash_sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE,
					  SIGILL };
	static const int stop_sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	pthread_t thread;

	term_kvm = kvm;
	for (size_t i = 0; i < ARRAY_SIZE(stop_sigs); i++)
		signal(stop_sigs[i], term__stop_handler);

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		struct termios raw = saved_termios;

		for (size_t i = 0; i < ARRAY_SIZE(crash_sigs); i++)
			signal(crash_sigs[i], term__crash_handler);
		atexit(term__restore);
		cfmakeraw(&raw);
		raw_mode = 1;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
			raw_mode = 0;
			pr_warn("cannot put the terminal in raw mode: %s",
				strerror(errno));
		}
	}
	if (pthread_create(&thread, NULL, term__thread, NULL))
		die("cannot start the terminal thread");
	pthread_detach(thread);
	return 0;
}
lkvm_init(INIT_LATE, term__init);

static int term__exit(struct kvm *kvm)
{
	(void)kvm;
	term__restore();
	return 0;
}
lkvm_exit(term__exit);
