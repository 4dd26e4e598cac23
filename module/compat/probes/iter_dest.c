// SPDX-License-Identifier: GPL-2.0
/*
 * ITER_DEST/ITER_SOURCE replaced READ/WRITE as iov_iter directions in v6.1,
 * commit de4eda9de2d9 ("use less confusing names for iov_iter direction
 * initializers"); older trees only have READ.
 */
#include <linux/uio.h>

int hl_probe(void);
int hl_probe(void)
{
	return ITER_DEST;
}
