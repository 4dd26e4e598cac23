// SPDX-License-Identifier: GPL-2.0
/*
 * UAPI is forever: the layout of struct heapload_load and the ioctl number
 * must never change. Compare them with the values of the first release.
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/heapload.h>

static int n, failed;

static void check(int ok, const char *name)
{
	n++;
	if (!ok)
		failed++;
	printf("%sok %d %s\n", ok ? "" : "not ", n, name);
}

#define FIELD(f, off, sz) \
	check(offsetof(struct heapload_load, f) == (off) && \
	      sizeof(((struct heapload_load *)0)->f) == (sz), \
	      "uapi_load_field_" #f "_at_" #off)

#define SEGFIELD(f, off, sz) \
	check(offsetof(struct heapload_segment, f) == (off) && \
	      sizeof(((struct heapload_segment *)0)->f) == (sz), \
	      "uapi_segment_field_" #f "_at_" #off)

int main(void)
{
	printf("TAP version 13\n1..52\n");
	check(sizeof(struct heapload_load) == 280, "uapi_load_struct_is_280_bytes");
	check(HEAPLOAD_LOAD_SIZE_VER0 == 128, "uapi_load_size_ver0_is_128");
	check(HEAPLOAD_LOAD_SIZE_VER1 == 168, "uapi_load_size_ver1_is_168");
	check(HEAPLOAD_LOAD_SIZE_VER2 == 272, "uapi_load_size_ver2_is_272");
	check(HEAPLOAD_LOAD_SIZE_VER3 == 280, "uapi_load_size_ver3_is_280");
	check(HEAPLOAD_IOC_LOAD_VER2 == 0xC110B600u,
	      "uapi_load_ver2_ioctl_number_is_0xc110b600");
	check(HEAPLOAD_IOC_LOAD_RESULT_VER2 == 0xC110B601u,
	      "uapi_load_result_ver2_ioctl_number_is_0xc110b601");
	check(HEAPLOAD_IOC_LOAD_VER1 == 0xC0A8B600u,
	      "uapi_load_ver1_ioctl_number_is_0xc0a8b600");
	check(HEAPLOAD_IOC_LOAD == 0xC118B600u, "uapi_load_ioctl_number_is_0xc118b600");
	check(HEAPLOAD_IOC_LOAD_RESULT == 0xC118B601u,
	      "uapi_load_result_ioctl_number_is_0xc118b601");
	check(HEAPLOAD_LOAD_INTO == 4 && HEAPLOAD_LOAD_NUMA_NODE == 8 &&
	      HEAPLOAD_LOAD_VERIFY == 16 && HEAPLOAD_LOAD_ASYNC == 32,
	      "uapi_load_v2_flag_values");
	check(HEAPLOAD_DIGEST_NONE == 0 && HEAPLOAD_DIGEST_SHA256 == 1 &&
	      HEAPLOAD_DIGEST_XXH64 == 2 && HEAPLOAD_DIGEST_SIZE == 32,
	      "uapi_digest_values");
	check(HEAPLOAD_MAX_SEGMENTS == 4096, "uapi_max_segments_is_4096");
	check(sizeof(struct heapload_segment) == 32 &&
	      HEAPLOAD_SEGMENT_SIZE_VER0 == 32, "uapi_segment_struct_is_32_bytes");
	SEGFIELD(file_fd, 0, 4);
	SEGFIELD(flags, 4, 4);
	SEGFIELD(file_offset, 8, 8);
	SEGFIELD(length, 16, 8);
	SEGFIELD(buf_offset, 24, 8);
	check(HEAPLOAD_IOC_LOAD_VER0 == 0xC080B600u,
	      "uapi_load_ver0_ioctl_number_is_0xc080b600");
	check(HEAPLOAD_LOAD_DIRECT == 1 && HEAPLOAD_LOAD_BUFFERED == 2,
	      "uapi_load_flag_values");
	FIELD(size, 0, 4);
	FIELD(flags, 4, 4);
	FIELD(file_fd, 8, 4);
	FIELD(fd_flags, 12, 4);
	FIELD(offset, 16, 8);
	FIELD(length, 24, 8);
	FIELD(heap, 32, 64);
	FIELD(dmabuf_fd, 96, 4);
	FIELD(__pad, 100, 4);
	FIELD(loaded, 104, 8);
	FIELD(buf_size, 112, 8);
	FIELD(reserved, 120, 8);
	FIELD(progress_addr, 128, 8);
	FIELD(alloc_ns, 136, 8);
	FIELD(io_ns, 144, 8);
	FIELD(total_ns, 152, 8);
	FIELD(batches, 160, 4);
	FIELD(max_inflight, 164, 4);
	FIELD(segments, 168, 8);
	FIELD(nr_segments, 176, 4);
	FIELD(segment_size, 180, 4);
	FIELD(target_fd, 184, 4);
	FIELD(numa_node, 188, 4);
	FIELD(digest_alg, 192, 4);
	FIELD(load_fd, 196, 4);
	FIELD(error_segment, 200, 4);
	FIELD(placed_node, 204, 4);
	FIELD(expected_digest, 208, 32);
	FIELD(digest, 240, 32);
	FIELD(alloc_threads, 272, 4);
	FIELD(alloc_threads_max, 276, 4);
	printf("%d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
