/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: netlinkproto/specs/fcm.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _UAPI_LINUX_FCM_H
#define _UAPI_LINUX_FCM_H

/* FCM router qdiscs' configuration and live state. */
#define FCM_FAMILY_NAME	"fcm"
#define FCM_FAMILY_VERSION	2

/* TCP option kind of the price stamp. */
#define FCM_OPTION_KIND	92
/* Its length (kind, length, 16-bit price). */
#define FCM_OPTION_LEN	4
/* TCP option kind of the RFC 6994 form of the stamp (the receiver also reads 254). */
#define FCM_OPTION_EXP_KIND	253
/* Its length (kind, length, 16-bit ExID, 16-bit price); two NOPs before it make 8 bytes. */
#define FCM_OPTION_EXP_LEN	6
/* sch_fcm qdiscs per network namespace (each has an id in its /proc/net/fcm_queue). */
#define FCM_MAX_INSTANCES	128
/* Highest price. */
#define FCM_PRICE_MAX	65535

/* Configuration of one sch_fcm qdisc (its TCA_OPTIONS). */
enum {
	FCM_A_OPTS_UNSPEC,
	/* u64: Pacing rate, bytes/s (the outgoing link's rate). Required. */
	FCM_A_OPTS_RATE,
	/* u32: Queue limit in bytes (drop-tail); default 100 ms at rate, at least 64 KiB. */
	FCM_A_OPTS_LIMIT,
	/* u32: The constant b of p(q) (default 10). */
	FCM_A_OPTS_BVAL,
	/* u32: Queue length in packets above which p(q) becomes non-zero (default 30). */
	FCM_A_OPTS_QMIN,
	/* u16: 0 (the default) stamps option 92; any other value stamps the RFC 6994 form (kind 253) with this ExID. A change without it keeps the qdisc's form. */
	FCM_A_OPTS_EXID,
	/* u8: 1: GSO packets are segmented at enqueue and every segment carries the price at its own dequeue. 0: a GSO packet is stamped once with the price at its dequeue, its gso_size shrunk so its segments fit the MTU with the option, and segmented after the qdisc (the stack's GSO or the device's TSO): tbf's per-packet cost, one price per GSO packet. Without it the mode follows the rate: 1 below 1 Gbit/s, 0 from there on, also after a change of the rate; once set, a change without it keeps the mode. Dumps show the mode in force. */
	FCM_A_OPTS_SPLIT_GSO,

	__FCM_A_OPTS_MAX,
	FCM_A_OPTS_MAX = (__FCM_A_OPTS_MAX - 1)
};

/* One sch_fcm qdisc and its live state. */
enum {
	FCM_A_QDISC_UNSPEC,
	/* u32: Device the qdisc is attached to. */
	FCM_A_QDISC_IFINDEX,
	/* u32: Qdisc handle (major:0). */
	FCM_A_QDISC_HANDLE,
	/* u32: Parent handle (TC_H_ROOT for a root qdisc). */
	FCM_A_QDISC_PARENT,
	/* string: Device name. */
	FCM_A_QDISC_IFNAME,
	/* u32: Instance id, as in /proc/net/fcm_queue. */
	FCM_A_QDISC_ID,
	/* nest: The configuration. */
	FCM_A_QDISC_OPTS,
	/* u32: Packets queued. */
	FCM_A_QDISC_QLEN,
	/* u32: Bytes queued. */
	FCM_A_QDISC_BACKLOG,
	/* u32: p(q) of the last segment sent. */
	FCM_A_QDISC_PRICE,
	/* u64: TCP segments stamped with the option. */
	FCM_A_QDISC_MODIFIED,
	/* u64: TCP segments sent unmodified for lack of room (data offset 60, or MTU). */
	FCM_A_QDISC_PASSED,
	/* u64: Packets that are not TCP segments (or not parseable as such), sent untouched. */
	FCM_A_QDISC_OTHER,
	/* u64: Packets sent. */
	FCM_A_QDISC_PACKETS,
	/* u64: Bytes sent. */
	FCM_A_QDISC_BYTES,
	/* u64: Packets dropped (queue full, or a GSO packet that could not be segmented). */
	FCM_A_QDISC_DROPS,

	__FCM_A_QDISC_MAX,
	FCM_A_QDISC_MAX = (__FCM_A_QDISC_MAX - 1)
};

enum {
	FCM_CMD_UNSPEC,
	/* Get one fcm qdisc (by ifindex, and handle when a device has several), or dump every one of the netns. */
	FCM_CMD_GET_QDISC,

	__FCM_CMD_MAX,
	FCM_CMD_MAX = (__FCM_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_FCM_H */
