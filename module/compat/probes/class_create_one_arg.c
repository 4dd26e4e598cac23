// SPDX-License-Identifier: GPL-2.0
/*
 * class_create() lost its owner argument in v6.4,
 * commit 1aaba11da9aa ("driver core: class: remove module * from class_create()").
 */
#include <linux/device.h>

struct class *hl_probe(void);
struct class *hl_probe(void)
{
	return class_create("heapload_probe");
}
