// SPDX-License-Identifier: GPL-2.0
/*
 * struct class.devnode takes a const struct device * since v6.2,
 * commit ff62b8e6588f ("driver core: make struct class.devnode() take a const *").
 */
#include <linux/device.h>

static char *hl_probe_devnode(const struct device *dev, umode_t *mode)
{
	return NULL;
}

struct class hl_probe_class;
struct class hl_probe_class = { .devnode = hl_probe_devnode };
