// SPDX-License-Identifier: GPL-2.0
/*
 * The SHA-256 library's context became struct sha256_ctx, with a size_t
 * length, in v6.16, commit e0d3d5a4a3a6 ("lib/crypto: sha256: Introduce
 * sha256_ctx"); before, it was struct sha256_state.
 */
#include <crypto/sha2.h>

void hl_probe(struct sha256_ctx *ctx);
void hl_probe(struct sha256_ctx *ctx)
{
	sha256_init(ctx);
}
