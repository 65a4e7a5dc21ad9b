// SPDX-License-Identifier: GPL-2.0
/*
 * The CMOS real-time clock (Motorola MC146818A): the index port 0x70 and
 * the data port 0x71.  The time registers read the host's UTC time each
 * time; no alarm or periodic interrupt.
 */
#include <pthread.h>
#include <time.h>

#include "kvm/bus.h"
#include "kvm/init.h"
#include "kvm/kvm.h"

#define RTC_INDEX_PORT		0x70
#define RTC_SECONDS		0x00
#define RTC_MINUTES		0x02
#define RTC_HOURS		0x04
#define RTC_DAY_OF_WEEK		0x06
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define RTC_REG_B		0x0b
#define RTC_REG_C		0x0c
#define RTC_REG_D		0x0d
#define RTC_CENTURY		0x32	/* PC/AT convention */
#define RTC_NMI_DISABLE		0x80

#define RTC_REG_A_DEFAULT	0x26	/* 32.768 kHz time base, 1024 Hz */
#define RTC_REG_B_24H		0x02
#define RTC_REG_B_BINARY	0x04
#define RTC_REG_D_VRT		0x80	/* valid RAM and time */
#define CMOS_SIZE		128

struct rtc {
	/* Protects index and cmos. */
	pthread_mutex_t lock;
	u8 index;
	u8 cmos[CMOS_SIZE];
};

static struct rtc rtc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static u8 rtc__encode(struct rtc *r, int v)
{
	if (r->cmos[RTC_REG_B] & RTC_REG_B_BINARY)
		return v;
	return (v / 10) << 4 | (v % 10);
}

static u8 rtc__read(struct rtc *r, u8 reg)
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	switch (reg) {
	case RTC_SECONDS:	return rtc__encode(r, tm.tm_sec);
	case RTC_MINUTES:	return rtc__encode(r, tm.tm_min);
	case RTC_HOURS:		return rtc__encode(r, tm.tm_hour);
	case RTC_DAY_OF_WEEK:	return rtc__encode(r, tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:	return rtc__encode(r, tm.tm_mday);
	case RTC_MONTH:		return rtc__encode(r, tm.tm_mon + 1);
	case RTC_YEAR:		return rtc__encode(r, tm.tm_year % 100);
	case RTC_CENTURY:	return rtc__encode(r, (tm.tm_year + 1900) / 100);
	case RTC_REG_A:
		/* Never "update in progress": each read is a fresh copy. */
		return r->cmos[RTC_REG_A] & 0x7f;
	case RTC_REG_C:
		return 0;	/* no interrupt flags */
	case RTC_REG_D:
		return RTC_REG_D_VRT;
	default:
		return r->cmos[reg];
	}
}

static void rtc__io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
		    bool is_write, void *opaque)
{
	struct rtc *r = opaque;

	(void)cpu;
	(void)len;
	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		if (is_write)
			r->index = data[0] & ~RTC_NMI_DISABLE & (CMOS_SIZE - 1);
		else
			data[0] = 0xff;
	} else if (is_write) {
		/* The clock itself follows the host; keep other registers. */
		if (r->index >= RTC_REG_A && r->index != RTC_REG_C &&
		    r->index != RTC_REG_D)
			r->cmos[r->index] = data[0];
	} else {
		data[0] = rtc__read(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}

static int rtc__init(struct kvm *kvm)
{
	(void)kvm;
	rtc.cmos[RTC_REG_A] = RTC_REG_A_DEFAULT;
	rtc.cmos[RTC_REG_B] = RTC_REG_B_24H;
	return bus__register(BUS_PIO, RTC_INDEX_PORT, 2, rtc__io, &rtc);
}
lkvm_init(INIT_DEV, rtc__init);
