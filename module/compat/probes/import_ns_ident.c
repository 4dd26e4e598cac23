// SPDX-License-Identifier: GPL-2.0
/*
 * Symbol namespaces are bare identifiers up to v6.12; v6.13 made them
 * string literals, commit cdd30ebb1b9f ("module: Convert symbol namespace
 * to string literal"), after which this no longer compiles.
 */
#include <linux/module.h>

MODULE_IMPORT_NS(DMA_BUF);
