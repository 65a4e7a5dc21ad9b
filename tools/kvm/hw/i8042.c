// SPDX-License-Identifier: GPL-2.0
/*
 * An 8042 keyboard controller with a keyboard that never types and an
 * auxiliary (mouse) port with no mouse behind it.  It is here so the guest
 * can reset the machine the PC way (command 0xfe, or clearing bit 0 of the
 * output port) and so the kernel's probe finds a sane controller quickly:
 * every command answers at once (a controller that ignores one costs the
 * guest a polling timeout of seconds under nested virtualization).
 * Command set: IBM PC/AT Technical Reference, "Keyboard Controller", and
 * the PS/2 controller's auxiliary-port commands.
 */
#include <pthread.h>

#include "kvm/bus.h"
#include "kvm/init.h"
#include "kvm/kvm.h"

#define I8042_DATA_PORT		0x60
#define I8042_CMD_PORT		0x64
#define I8042_KBD_IRQ		1
#define I8042_AUX_IRQ		12

#define STATUS_OBF		0x01	/* output buffer full */
#define STATUS_SYS		0x04	/* system flag: self test passed */
#define STATUS_CMD		0x08	/* last write was a command */
#define STATUS_UNLOCKED		0x10	/* inhibit switch: keyboard not inhibited */
#define STATUS_AUXDATA		0x20	/* the byte comes from the aux port */
#define STATUS_TIMEOUT		0x40	/* the device did not answer */

#define CTR_KBD_INT		0x01
#define CTR_AUX_INT		0x02
#define CTR_KBD_DISABLE		0x10
#define CTR_AUX_DISABLE		0x20

#define CMD_READ_CTR		0x20
#define CMD_WRITE_CTR		0x60
#define CMD_AUX_DISABLE		0xa7
#define CMD_AUX_ENABLE		0xa8
#define CMD_AUX_TEST		0xa9
#define CMD_SELF_TEST		0xaa
#define CMD_KBD_TEST		0xab
#define CMD_KBD_DISABLE		0xad
#define CMD_KBD_ENABLE		0xae
#define CMD_WRITE_OUTPUT	0xd1
#define CMD_WRITE_AUX_OUT	0xd3
#define CMD_WRITE_AUX		0xd4
#define CMD_PULSE_BASE		0xf0	/* 0xf0-0xff pulse output lines */
#define OUTPUT_RESET_LINE	0x01

#define KBD_CMD_RESET		0xff
#define KBD_CMD_GET_ID		0xf2
#define KBD_ACK			0xfa
#define KBD_SELF_TEST_OK	0xaa
#define SELF_TEST_OK		0x55
#define AUX_TEST_OK		0x00
#define AUX_NO_DEVICE		0xfe	/* with STATUS_TIMEOUT: nobody answered */

#define OUTQ_SIZE		16

struct i8042 {
	struct kvm *kvm;
	/* Protects everything below. */
	pthread_mutex_t lock;
	u8 ctr;
	u8 status;
	u8 pending_cmd;		/* command waiting for its data byte */
	/* Output buffer: a byte and the status bits that go with it. */
	struct { u8 val, status; } outq[OUTQ_SIZE];
	int outq_head, outq_count;
};

static struct i8042 kbc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void i8042__queue(struct i8042 *k, u8 v, u8 status)
{
	bool aux = status & STATUS_AUXDATA;
	int irq = aux ? I8042_AUX_IRQ : I8042_KBD_IRQ;

	if (k->outq_count == OUTQ_SIZE)
		return;
	k->outq[(k->outq_head + k->outq_count) % OUTQ_SIZE].val = v;
	k->outq[(k->outq_head + k->outq_count) % OUTQ_SIZE].status = status;
	k->outq_count++;
	/* An edge per byte, as the ISA IRQs are edge triggered. */
	if (k->ctr & (aux ? CTR_AUX_INT : CTR_KBD_INT)) {
		kvm__irq_line(k->kvm, irq, 1);
		kvm__irq_line(k->kvm, irq, 0);
	}
}

static void i8042__push(struct i8042 *k, u8 v)
{
	i8042__queue(k, v, 0);
}

static void i8042__command(struct i8042 *k, u8 cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		i8042__push(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPUT:
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX:
		k->pending_cmd = cmd;
		break;
	case CMD_SELF_TEST:
		i8042__push(k, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
		i8042__push(k, 0);
		break;
	case CMD_AUX_TEST:
		i8042__push(k, AUX_TEST_OK);
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= CTR_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= ~CTR_AUX_DISABLE;
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= ~CTR_KBD_DISABLE;
		break;
	default:
		if (cmd >= CMD_PULSE_BASE && !(cmd & OUTPUT_RESET_LINE))
			kvm__request_stop(k->kvm, KVM_STOP_REBOOT);
		/* Enable/disable commands need no state here. */
		break;
	}
}

static void i8042__data(struct i8042 *k, u8 v)
{
	u8 cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		return;
	case CMD_WRITE_OUTPUT:
		if (!(v & OUTPUT_RESET_LINE))
			kvm__request_stop(k->kvm, KVM_STOP_REBOOT);
		return;
	case CMD_WRITE_AUX_OUT:
		/* Loopback: the byte comes back as if the aux device sent it. */
		i8042__queue(k, v, STATUS_AUXDATA);
		return;
	case CMD_WRITE_AUX:
		/* No mouse: the controller reports that nobody answered. */
		i8042__queue(k, AUX_NO_DEVICE, STATUS_AUXDATA | STATUS_TIMEOUT);
		return;
	}
	/* A byte for the keyboard itself. */
	i8042__push(k, KBD_ACK);
	if (v == KBD_CMD_RESET) {
		i8042__push(k, KBD_SELF_TEST_OK);
	} else if (v == KBD_CMD_GET_ID) {
		i8042__push(k, 0xab);	/* MF2 keyboard: 0xab 0x83 */
		i8042__push(k, 0x83);
	}
}

static void i8042__io(struct i8042 *k, bool cmd_port, u8 *data,
		      bool is_write)
{
	pthread_mutex_lock(&k->lock);
	if (is_write && cmd_port) {
		k->status |= STATUS_CMD;
		i8042__command(k, data[0]);
	} else if (is_write) {
		k->status &= ~STATUS_CMD;
		i8042__data(k, data[0]);
	} else if (cmd_port) {
		data[0] = k->status | STATUS_SYS | STATUS_UNLOCKED;
		if (k->outq_count)
			data[0] |= STATUS_OBF | k->outq[k->outq_head].status;
	} else if (k->outq_count) {
		data[0] = k->outq[k->outq_head].val;
		k->outq_head = (k->outq_head + 1) % OUTQ_SIZE;
		k->outq_count--;
	} else {
		data[0] = 0;
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042__data_io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
			   bool is_write, void *opaque)
{
	(void)cpu;
	(void)off;
	(void)len;
	i8042__io(opaque, false, data, is_write);
}

static void i8042__cmd_io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
			  bool is_write, void *opaque)
{
	(void)cpu;
	(void)off;
	(void)len;
	i8042__io(opaque, true, data, is_write);
}

static int i8042__init(struct kvm *kvm)
{
	int r;

	kbc.kvm = kvm;
	kbc.ctr = CTR_KBD_INT;
	r = bus__register(BUS_PIO, I8042_DATA_PORT, 1, i8042__data_io, &kbc);
	if (r < 0)
		return r;
	return bus__register(BUS_PIO, I8042_CMD_PORT, 1, i8042__cmd_io, &kbc);
}
lkvm_init(INIT_DEV, i8042__init);
