/*
 * fuzz_random.h: xorshift64*, the small seeded generator both fuzzers use, so
 * that every run can be replayed from its seed. Each program has its own state.
 */
#ifndef FUZZ_RANDOM_H
#define FUZZ_RANDOM_H

static uint64 rng_state;

static inline uint64
next_random(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static inline size_t
random_below(size_t n)
{
	return n == 0 ? 0 : (size_t) (next_random() % n);
}

#endif							/* FUZZ_RANDOM_H */
