#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo: build heapload, boot Debian 12's kernel in QEMU with the module,
# load tesseract's Latin.traineddata LSTM model into heapload,system with
# direct I/O, and show that the buffer's SHA-256 equals the file's.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tests/install-deps.sh
kver=$(tests/qemu/setup.sh | tail -n 1)
make module KERNELRELEASE="$kver" WERROR=y
make tools
exec tests/qemu/run.sh --kver "$kver" --mode demo
