// SPDX-License-Identifier: GPL-2.0
/*
 * iov_iter_extract_pages() came in v6.3 with commit 7d58fe731028
 * ("iov_iter: Add a function to extract a page list from an iterator"),
 * and in the same release the block layer's direct I/O began to take its
 * pages through it ("block: Convert bio_iov_iter_get_pages to use
 * iov_iter_extract_pages"). It accepts ITER_KVEC iterators, vmalloc and
 * vmap addresses included; iov_iter_get_pages2(), which direct I/O used
 * before, refuses them with -EFAULT. So direct I/O into a vmap'd gather
 * batch works exactly where this compiles.
 */
#include <linux/uio.h>

ssize_t hl_probe(struct iov_iter *i, struct page ***pages);
ssize_t hl_probe(struct iov_iter *i, struct page ***pages)
{
	size_t off;

	return iov_iter_extract_pages(i, pages, PAGE_SIZE, 1, 0, &off);
}
