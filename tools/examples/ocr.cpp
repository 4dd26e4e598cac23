// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ocr: tesseract running on a model that heapload loaded into a dma-buf.
 *
 *   ocr MODEL.traineddata IMAGE [LANGUAGE]
 *
 * Loads MODEL (a tesseract LSTM model such as Debian's Latin.traineddata)
 * into a new heapload,system buffer with direct I/O, maps the dma-buf,
 * hands that memory to tesseract's in-memory initialisation
 * (TessBaseAPI::Init with a data pointer and a size) and prints the text
 * tesseract recognises in IMAGE (any format leptonica reads, PNG say).
 * LANGUAGE names the model to tesseract (default: MODEL's file name
 * without .traineddata).
 *
 * The part that concerns heapload is the few lines of load_model(): open
 * the device, load the file, map the dma-buf, bracket the CPU access.
 * Build with `make -C tools/examples` (needs libtesseract-dev).
 *
 * Exit status: 0 text recognised and printed, 1 tesseract failed, 2 the
 * load or the mapping failed (the message names the errno).
 */
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>

#include "libheapload.h"

struct model {
	int dmabuf_fd = -1;
	void *addr = nullptr;
	uint64_t len = 0;
};

/* Load @path into a heapload,system dma-buf and map it for reading. */
static int load_model(const char *path, struct model *m)
{
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int devfd, fd, ret;

	devfd = heapload_open();
	if (devfd < 0)
		return devfd;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		close(devfd);
		return ret;
	}
	/* The whole file (offset 0, length 0), direct I/O, no progress word. */
	ret = heapload_load_file(devfd, fd, HEAPLOAD_DEFAULT_HEAP, 0, 0,
				 HEAPLOAD_LOAD_DIRECT, nullptr, &res);
	close(fd);
	close(devfd);
	if (ret)
		return ret;
	m->dmabuf_fd = res.dmabuf_fd;
	m->len = res.loaded;
	ret = heapload_dmabuf_map(m->dmabuf_fd, m->len, PROT_READ, &m->addr);
	if (!ret)
		ret = heapload_dmabuf_sync(m->dmabuf_fd,
					   DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	return ret;
}

static void release_model(struct model *m)
{
	if (m->addr) {
		heapload_dmabuf_sync(m->dmabuf_fd,
				     DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		heapload_dmabuf_unmap(m->addr, m->len);
	}
	if (m->dmabuf_fd >= 0)
		close(m->dmabuf_fd);
}

int main(int argc, char **argv)
{
	struct model m;
	tesseract::TessBaseAPI api;
	std::string lang;
	char *text;
	Pix *pix;
	int ret;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s MODEL.traineddata IMAGE [LANGUAGE]\n",
			argv[0]);
		return 2;
	}
	if (argc == 4) {
		lang = argv[3];
	} else {
		const char *base = strrchr(argv[1], '/');

		lang = base ? base + 1 : argv[1];
		lang = lang.substr(0, lang.find(".traineddata"));
	}

	ret = load_model(argv[1], &m);
	if (ret) {
		fprintf(stderr, "ocr: loading %s into a dma-buf: %s\n", argv[1],
			strerror(-ret));
		release_model(&m);
		return 2;
	}
	if (m.len > INT_MAX) {
		fprintf(stderr, "ocr: %s: too large for tesseract\n", argv[1]);
		release_model(&m);
		return 2;
	}
	printf("model: %s, %llu bytes in dma-buf fd %d\n", argv[1],
	       (unsigned long long)m.len, m.dmabuf_fd);

	/* The model comes from the dma-buf's memory, not from a tessdata dir. */
	if (api.Init(static_cast<const char *>(m.addr), static_cast<int>(m.len),
		     lang.c_str(), tesseract::OEM_LSTM_ONLY, nullptr, 0, nullptr,
		     nullptr, false, nullptr)) {
		fprintf(stderr, "ocr: tesseract refused the model in the dma-buf\n");
		release_model(&m);
		return 1;
	}
	pix = pixRead(argv[2]);
	if (!pix) {
		fprintf(stderr, "ocr: cannot read the image %s\n", argv[2]);
		api.End();
		release_model(&m);
		return 1;
	}
	api.SetPageSegMode(tesseract::PSM_SINGLE_LINE);
	api.SetImage(pix);
	text = api.GetUTF8Text();
	ret = text ? 0 : 1;
	if (text)
		printf("recognised: %s", text);
	else
		fprintf(stderr, "ocr: tesseract recognised nothing\n");
	delete[] text;
	pixDestroy(&pix);
	api.End();
	release_model(&m);
	return ret;
}
