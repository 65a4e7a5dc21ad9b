/* SPDX-License-Identifier: GPL-2.0 */
/* Deterministic PRNG (xorshift64*) so every failure can be replayed. */
#ifndef UNIT_RNG_H
#define UNIT_RNG_H

#include <stdint.h>
#include <stdlib.h>

struct rng {
	uint64_t s;
};

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static inline uint64_t rng_u64(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static inline uint32_t rng_u32(struct rng *r)
{
	return rng_u64(r) >> 32;
}

/* UNIT_SEED=<n> in the environment replays a run. */
static inline uint64_t rng_env_seed(uint64_t def)
{
	const char *s = getenv("UNIT_SEED");

	return s ? strtoull(s, NULL, 0) : def;
}

#endif
