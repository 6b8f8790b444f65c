/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: netlinkproto/specs/ustack.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _UAPI_LINUX_USTACK_H
#define _UAPI_LINUX_USTACK_H

/* user-level stack ports as netdevs - create, attach, counters and carrier. */
#define USTACK_FAMILY_NAME	"ustack"
#define USTACK_FAMILY_VERSION	1

/* Most rx (and tx) queues a port may have (so that one port's reply, every queue's counters in it, fits one dump message). */
#define USTACK_MAX_QUEUES	32

/* A port's counters (64-bit, monotonic), as struct rtnl_link_stats64 names them. */
enum {
	USTACK_A_STATS_UNSPEC,
	/* u64: Packets the stack received on the port. */
	USTACK_A_STATS_RX_PACKETS,
	/* u64: Bytes received, Ethernet header included, FCS not. */
	USTACK_A_STATS_RX_BYTES,
	/* u64: Bad packets received. */
	USTACK_A_STATS_RX_ERRORS,
	/* u64: Packets received and dropped (no buffer, no room). */
	USTACK_A_STATS_RX_DROPPED,
	/* u64: Packets the stack sent on the port. */
	USTACK_A_STATS_TX_PACKETS,
	/* u64: Bytes sent, Ethernet header included, FCS not. */
	USTACK_A_STATS_TX_BYTES,
	/* u64: Packets the stack failed to send. */
	USTACK_A_STATS_TX_ERRORS,
	/* u64: Packets the stack dropped before sending (the kernel's own drops are added in the device's statistics). */
	USTACK_A_STATS_TX_DROPPED,
	/* u64: Multicast packets received. */
	USTACK_A_STATS_MULTICAST,

	__USTACK_A_STATS_MAX,
	USTACK_A_STATS_MAX = (__USTACK_A_STATS_MAX - 1)
};

/* One queue's counters. */
enum {
	USTACK_A_QUEUE_UNSPEC,
	/* u32: Queue number, from 0; below the port's rx-queues for rx counters, tx-queues for tx counters. */
	USTACK_A_QUEUE_INDEX,
	/* u64: Packets received on the rx queue index. */
	USTACK_A_QUEUE_RX_PACKETS,
	/* u64: Bytes received on the rx queue index. */
	USTACK_A_QUEUE_RX_BYTES,
	/* u64: Packets sent on the tx queue index. */
	USTACK_A_QUEUE_TX_PACKETS,
	/* u64: Bytes sent on the tx queue index. */
	USTACK_A_QUEUE_TX_BYTES,

	__USTACK_A_QUEUE_MAX,
	USTACK_A_QUEUE_MAX = (__USTACK_A_QUEUE_MAX - 1)
};

/* One ustack port. */
enum {
	USTACK_A_PORT_UNSPEC,
	/* u32: The port's device, by index (in the caller's netns). */
	USTACK_A_PORT_IFINDEX,
	/* string: The port's device name; with new-port, the name to give (ustack%d if absent). */
	USTACK_A_PORT_IFNAME,
	/* binary: The port's MAC address (the stack's NIC's); random if absent. */
	USTACK_A_PORT_ADDRESS,
	/* u32: Receive queues (1 if absent). */
	USTACK_A_PORT_RX_QUEUES,
	/* u32: Transmit queues (1 if absent). */
	USTACK_A_PORT_TX_QUEUES,
	/* flag: With new-port, delete the port when its owner's socket closes, instead of leaving it carrier-off. */
	USTACK_A_PORT_REMOVE_ON_CLOSE,
	/* u32: Netlink port id of the owning socket; 0 when nobody owns the port. */
	USTACK_A_PORT_OWNER,
	/* u8: The stack's link state of the port (1 up, 0 down); the device's carrier follows it. */
	USTACK_A_PORT_CARRIER,
	/* nest: With set-stats, the owner's counters; in replies, the port's totals. */
	USTACK_A_PORT_STATS,
	/* nest: Per-queue counters, one nest per queue. */
	USTACK_A_PORT_QUEUE,
	/* u64: Packets the kernel sent to the device, dropped (the device carries none of the kernel's traffic). */
	USTACK_A_PORT_KERNEL_DROPPED,
	/* u32: How many sockets have owned the port so far. */
	USTACK_A_PORT_OWNERS,

	__USTACK_A_PORT_MAX,
	USTACK_A_PORT_MAX = (__USTACK_A_PORT_MAX - 1)
};

enum {
	USTACK_CMD_UNSPEC,
	/* Get one port (by ifindex or ifname), or dump every port of the netns. */
	USTACK_CMD_GET_PORT,
	/* Create a port owned by the calling socket (needs CAP_NET_ADMIN). */
	USTACK_CMD_NEW_PORT,
	/* Delete a port the calling socket owns, or one nobody owns (needs CAP_NET_ADMIN). */
	USTACK_CMD_DEL_PORT,
	/* Make the calling socket the owner of a port nobody owns (needs CAP_NET_ADMIN). */
	USTACK_CMD_ATTACH,
	/* Update a port's counters and carrier; only its owner may, or any admin when nobody owns it (needs CAP_NET_ADMIN). */
	USTACK_CMD_SET_STATS,

	__USTACK_CMD_MAX,
	USTACK_CMD_MAX = (__USTACK_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_USTACK_H */
