// SPDX-License-Identifier: GPL-2.0
/*
 * 16550A UARTs on the four legacy ports.  ttyS0 is connected to the host
 * terminal; the others exist so the guest finds the usual hardware, and
 * discard what is written to them.  Register semantics: National
 * Semiconductor PC16550D data sheet.
 */
#include <pthread.h>
#include <string.h>

#include "kvm/bus.h"
#include "kvm/debug.h"
#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/term.h"

#define UART_RX		0	/* DLAB=0, read */
#define UART_TX		0	/* DLAB=0, write */
#define UART_DLL	0	/* DLAB=1 */
#define UART_IER	1
#define UART_DLM	1	/* DLAB=1 */
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_RDI	0x01
#define UART_IER_THRI	0x02
#define UART_IER_RLSI	0x04
#define UART_IER_MSI	0x08
#define UART_IIR_NO_INT	0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_FIFO	0xc0
#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_LCR_DLAB	0x80
#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10
#define UART_LSR_DR	0x01
#define UART_LSR_BI	0x10
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

#define UART_NR_REGS	8
#define UART_RX_SIZE	256

struct uart {
	u16 port;
	int irq;
	bool to_term;
	struct kvm *kvm;

	/* Protects all fields below. */
	pthread_mutex_t lock;
	u8 ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
	bool thri_pending;	/* THR-empty interrupt latched */
	bool irq_level;		/* what the irqchip line is set to */
	u8 rx[UART_RX_SIZE];
	unsigned int rx_head, rx_count;
	int rx_break;		/* rx[] index of a break's NUL, or -1 */
};

static struct uart uarts[] = {
	{ .port = 0x3f8, .irq = 4, .to_term = true },
	{ .port = 0x2f8, .irq = 3 },
	{ .port = 0x3e8, .irq = 4 },
	{ .port = 0x2e8, .irq = 3 },
};

/* Highest-priority pending interrupt, as IIR reports it. */
static u8 uart__iir(struct uart *u)
{
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & 0x0f))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* Called with the lock held after any state change. */
static void uart__update_irq(struct uart *u)
{
	/* On a PC, OUT2 gates the UART interrupt onto the ISA bus. */
	bool level = uart__iir(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2);

	if (level != u->irq_level) {
		u->irq_level = level;
		kvm__irq_line(u->kvm, u->irq, level);
	}
}

static void uart__rx_push(struct uart *u, u8 c)
{
	if (u->rx_count == UART_RX_SIZE)
		return;
	u->rx[(u->rx_head + u->rx_count) % UART_RX_SIZE] = c;
	u->rx_count++;
}

static void uart__tx(struct uart *u, u8 c)
{
	if (u->mcr & UART_MCR_LOOP)
		uart__rx_push(u, c);
	else if (u->to_term)
		term__write(&c, 1);
	/* Transmission is instant: the holding register is empty again. */
	u->thri_pending = true;
}

/* Modem status: in loopback the outputs feed the inputs (16550D, 8.6). */
static u8 uart__msr(struct uart *u)
{
	u8 m = u->mcr;

	if (!(m & UART_MCR_LOOP))
		return (u->msr & 0x0f) | UART_MSR_DCD | UART_MSR_DSR |
		       UART_MSR_CTS;
	return (u->msr & 0x0f) | (m & UART_MCR_DTR ? UART_MSR_DSR : 0) |
	       (m & UART_MCR_RTS ? UART_MSR_CTS : 0) |
	       (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
	       (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
}

static u8 uart__read(struct uart *u, u32 reg)
{
	u8 v;

	switch (reg) {
	case UART_RX:
		if (u->lcr & UART_LCR_DLAB)
			return u->dll;
		if (!u->rx_count)
			return 0;
		v = u->rx[u->rx_head];
		if ((int)u->rx_head == u->rx_break)
			u->rx_break = -1;
		u->rx_head = (u->rx_head + 1) % UART_RX_SIZE;
		u->rx_count--;
		return v;
	case UART_IER:
		return u->lcr & UART_LCR_DLAB ? u->dlm : u->ier;
	case UART_IIR:
		v = uart__iir(u);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (v == UART_IIR_THRI)
			u->thri_pending = false;
		return v | (u->fcr & UART_FCR_ENABLE ? UART_IIR_FIFO : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT |
		       (u->rx_count ? UART_LSR_DR : 0) |
		       (u->rx_count && (int)u->rx_head == u->rx_break ?
			UART_LSR_BI : 0);
	case UART_MSR:
		v = uart__msr(u);
		u->msr &= ~0x0f;	/* reading clears the delta bits */
		return v;
	default:
		return u->scr;
	}
}

static void uart__write(struct uart *u, u32 reg, u8 v)
{
	switch (reg) {
	case UART_TX:
		if (u->lcr & UART_LCR_DLAB)
			u->dll = v;
		else
			uart__tx(u, v);
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once. */
		if ((v & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
			u->thri_pending = true;
		u->ier = v & 0x0f;
		break;
	case UART_FCR:
		u->fcr = v;
		if (v & UART_FCR_CLEAR_RCVR)
			u->rx_count = 0;
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:
		break;	/* LSR and MSR are read-only */
	}
}

static void uart__io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
		     bool is_write, void *opaque)
{
	struct uart *u = opaque;

	(void)cpu;
	pthread_mutex_lock(&u->lock);
	for (u32 i = 0; i < len && off + i < UART_NR_REGS; i++) {
		if (is_write)
			uart__write(u, off + i, data[i]);
		else
			data[i] = uart__read(u, off + i);
	}
	uart__update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static size_t uart__input(void *opaque, const u8 *buf, size_t len)
{
	struct uart *u = opaque;
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = MIN(len, (size_t)(UART_RX_SIZE - u->rx_count));
	for (size_t i = 0; i < n; i++)
		uart__rx_push(u, buf[i]);
	uart__update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

/*
 * lkvm debug --sysrq: a break condition on ttyS0 (a NUL received with
 * LSR.BI, 16550D 8.6.3), which Linux takes as "the next key is a magic
 * SysRq", then the key.
 */
void serial__sysrq(u8 key)
{
	struct uart *u = &uarts[0];

	pthread_mutex_lock(&u->lock);
	if (u->rx_count + 2 <= UART_RX_SIZE) {
		u->rx_break = (u->rx_head + u->rx_count) % UART_RX_SIZE;
		uart__rx_push(u, 0);
		uart__rx_push(u, key);
		uart__update_irq(u);
	}
	pthread_mutex_unlock(&u->lock);
}

static int serial__init(struct kvm *kvm)
{
	for (size_t i = 0; i < ARRAY_SIZE(uarts); i++) {
		struct uart *u = &uarts[i];
		int r;

		u->kvm = kvm;
		u->rx_break = -1;
		pthread_mutex_init(&u->lock, NULL);
		r = bus__register(BUS_PIO, u->port, UART_NR_REGS, uart__io, u);
		if (r < 0) {
			pr_err("cannot claim serial port %#x", u->port);
			return r;
		}
	}
	if (kvm->cfg->console == CONSOLE_SERIAL)
		term__set_input(uart__input, &uarts[0]);
	return 0;
}
lkvm_init(INIT_DEV, serial__init);
