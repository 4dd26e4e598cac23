// SPDX-License-Identifier: GPL-2.0
/*
 * Digests of loaded bytes: SHA-256 from the kernel's crypto library
 * (lib/crypto, CONFIG_CRYPTO_LIB_SHA256) and XXH64 from lib/xxhash.c
 * (CONFIG_XXHASH), the two that every kernel heapload supports builds in.
 * CRC32C was the other candidate for a fast one, but up to v6.13 it is
 * the libcrc32c module, a dependency that a plain insmod lacks.
 */
#include <linux/kconfig.h>
#include <linux/string.h>
#include <linux/xxhash.h>
#include <uapi/linux/heapload.h>

#include "heapload.h"

#define HL_SHA256	IS_ENABLED(CONFIG_CRYPTO_LIB_SHA256)
#define HL_XXH64	IS_ENABLED(CONFIG_XXHASH)

/**
 * heapload_digest_check() - can this kernel compute @alg?
 * @alg:	a HEAPLOAD_DIGEST_* value
 * @expected:	the expected digest, or NULL: its bytes past @alg's size
 *		must be 0
 *
 * Return: 0, -EINVAL for an unknown @alg or stray bytes in @expected,
 * -EOPNOTSUPP for one this kernel was built without.
 */
int heapload_digest_check(u32 alg, const u8 *expected)
{
	size_t size;

	switch (alg) {
	case HEAPLOAD_DIGEST_NONE:
		size = 0;
		break;
	case HEAPLOAD_DIGEST_SHA256:
		if (!HL_SHA256)
			return -EOPNOTSUPP;
		size = SHA256_DIGEST_SIZE;
		break;
	case HEAPLOAD_DIGEST_XXH64:
		if (!HL_XXH64)
			return -EOPNOTSUPP;
		size = sizeof(u64);
		break;
	default:
		return -EINVAL;
	}
	if (expected && memchr_inv(expected + size, 0, HEAPLOAD_DIGEST_SIZE - size))
		return -EINVAL;
	return 0;
}

/**
 * heapload_digest_init() - start a digest
 * @d:		the state
 * @alg:	a HEAPLOAD_DIGEST_* value heapload_digest_check() accepted
 */
void heapload_digest_init(struct heapload_digest *d, u32 alg)
{
	d->alg = alg;
#if HL_SHA256
	if (alg == HEAPLOAD_DIGEST_SHA256)
		sha256_init(&d->sha256);
#endif
#if HL_XXH64
	if (alg == HEAPLOAD_DIGEST_XXH64)
		xxh64_reset(&d->xxh64, 0);
#endif
}

/**
 * heapload_digest_update() - add bytes
 * @d:		the state
 * @p:		the bytes
 * @len:	how many; at most a page
 */
void heapload_digest_update(struct heapload_digest *d, const void *p,
			    size_t len)
{
#if HL_SHA256
	if (d->alg == HEAPLOAD_DIGEST_SHA256)
		sha256_update(&d->sha256, p, len);
#endif
#if HL_XXH64
	if (d->alg == HEAPLOAD_DIGEST_XXH64)
		xxh64_update(&d->xxh64, p, len);
#endif
}

/**
 * heapload_digest_final() - the digest, in the UAPI's form
 * @d:		the state
 * @out:	HEAPLOAD_DIGEST_SIZE bytes: SHA-256's 32, or XXH64 most
 *		significant byte first and zeros
 */
void heapload_digest_final(struct heapload_digest *d, u8 *out)
{
	memset(out, 0, HEAPLOAD_DIGEST_SIZE);
#if HL_SHA256
	if (d->alg == HEAPLOAD_DIGEST_SHA256)
		sha256_final(&d->sha256, out);
#endif
#if HL_XXH64
	if (d->alg == HEAPLOAD_DIGEST_XXH64) {
		__be64 be = cpu_to_be64(xxh64_digest(&d->xxh64));

		memcpy(out, &be, sizeof(be));
	}
#endif
}
