/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: netlinkproto/specs/nlkit_smoke.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _UAPI_LINUX_NLKIT_SMOKE_H
#define _UAPI_LINUX_NLKIT_SMOKE_H

/* nlkit's smoke-test family (module info, a guarded per-netns value, a paged dump). */
#define NLKIT_SMOKE_FAMILY_NAME	"nlkit_smoke"
#define NLKIT_SMOKE_FAMILY_VERSION	1

/* Longest item label, in bytes, not counting the terminating NUL. */
#define NLKIT_SMOKE_LABEL_MAX_LEN	32
/* Items a network namespace may hold. */
#define NLKIT_SMOKE_MAX_ITEMS	4096

/* What the loaded module is. */
enum {
	NLKIT_SMOKE_A_INFO_UNSPEC,
	/* string: Module version (nlkit release). */
	NLKIT_SMOKE_A_INFO_VERSION,
	/* u32: ABI of the family; equal to the genl family version. */
	NLKIT_SMOKE_A_INFO_ABI,
	/* string: Build identification (compiler, kernel it was built against). */
	NLKIT_SMOKE_A_INFO_BUILD,
	/* string: Release of the running kernel. */
	NLKIT_SMOKE_A_INFO_KERNEL,

	__NLKIT_SMOKE_A_INFO_MAX,
	NLKIT_SMOKE_A_INFO_MAX = (__NLKIT_SMOKE_A_INFO_MAX - 1)
};

/* The guarded per-netns value. */
enum {
	NLKIT_SMOKE_A_VALUE_UNSPEC,
	/* u32: A number from 0 to 1000000. */
	NLKIT_SMOKE_A_VALUE_VALUE,
	/* u64: How many times the value was changed in this netns. */
	NLKIT_SMOKE_A_VALUE_CHANGES,

	__NLKIT_SMOKE_A_VALUE_MAX,
	NLKIT_SMOKE_A_VALUE_MAX = (__NLKIT_SMOKE_A_VALUE_MAX - 1)
};

/* One item of the per-netns table. */
enum {
	NLKIT_SMOKE_A_ITEM_UNSPEC,
	/* u32: Item id, unique in the netns. */
	NLKIT_SMOKE_A_ITEM_ID,
	/* string: A short label. */
	NLKIT_SMOKE_A_ITEM_LABEL,
	/* u32: With add-items, how many items to add with consecutive ids from id. */
	NLKIT_SMOKE_A_ITEM_COUNT,

	__NLKIT_SMOKE_A_ITEM_MAX,
	NLKIT_SMOKE_A_ITEM_MAX = (__NLKIT_SMOKE_A_ITEM_MAX - 1)
};

enum {
	NLKIT_SMOKE_CMD_UNSPEC,
	/* Report the module's version, ABI and build. */
	NLKIT_SMOKE_CMD_GET_INFO,
	/* Read this netns's value. */
	NLKIT_SMOKE_CMD_GET_VALUE,
	/* Change this netns's value (needs CAP_NET_ADMIN). */
	NLKIT_SMOKE_CMD_SET_VALUE,
	/* Add count items with ids id, id+1, ... (needs CAP_NET_ADMIN). */
	NLKIT_SMOKE_CMD_ADD_ITEMS,
	/* Delete the item id, or every item of this netns without id (needs CAP_NET_ADMIN). */
	NLKIT_SMOKE_CMD_DEL_ITEMS,
	/* Get one item by id, or dump all items of this netns. */
	NLKIT_SMOKE_CMD_GET_ITEM,
	/* Notification sent to the events group when the value changes. */
	NLKIT_SMOKE_CMD_VALUE_CHANGED,

	__NLKIT_SMOKE_CMD_MAX,
	NLKIT_SMOKE_CMD_MAX = (__NLKIT_SMOKE_CMD_MAX - 1)
};

#define NLKIT_SMOKE_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_NLKIT_SMOKE_H */
