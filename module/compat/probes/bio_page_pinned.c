// SPDX-License-Identifier: GPL-2.0
/*
 * The block layer's direct I/O takes a request's pages with
 * iov_iter_extract_pages() since v6.5: commit a7e689dd1c06 ("block:
 * Convert bio_iov_iter_get_pages to use iov_iter_extract_pages"), of the
 * series that added BIO_PAGE_PINNED ("block: Add BIO_PAGE_PINNED and
 * associated infrastructure"). That function accepts ITER_KVEC iterators,
 * vmalloc and vmap addresses included (through vmalloc_to_page()); before,
 * bio_iov_iter_get_pages() called iov_iter_get_pages(), which refuses them
 * with -EFAULT (also in v6.3 and v6.4, which had iov_iter_extract_pages()
 * already). So direct I/O through the block layer into a vmap'd gather
 * batch works exactly where BIO_PAGE_PINNED exists.
 */
#include <linux/blk_types.h>

int hl_probe(void);
int hl_probe(void)
{
	return BIO_PAGE_PINNED;
}
