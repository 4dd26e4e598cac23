#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo: build heapload, boot Debian 12's kernel in QEMU with the module,
# load tesseract's Latin.traineddata LSTM model into heapload,system with
# direct I/O, show that the buffer's SHA-256 equals the file's, then hand
# the dma-buf's memory to tesseract (tools/examples/ocr.cpp) and show the
# text it reads from a line rendered here next to the expected one.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tests/install-deps.sh
kver=$(tests/qemu/setup.sh | tail -n 1)
make module KERNELRELEASE="$kver" WERROR=y
make tools
make -C tools/examples WERROR=y
exec tests/qemu/run.sh --kver "$kver" --mode demo
