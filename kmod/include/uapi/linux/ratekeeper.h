/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: netlinkproto/specs/ratekeeper.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _UAPI_LINUX_RATEKEEPER_H
#define _UAPI_LINUX_RATEKEEPER_H

/* ratekeeper qdiscs' configuration and live state, set-rate, congestion events. */
#define RATEKEEPER_FAMILY_NAME	"ratekeeper"
#define RATEKEEPER_FAMILY_VERSION	1

/* Heaviest senders reported per qdisc and per event. */
#define RATEKEEPER_TOP_SENDERS	8
/* Highest severity. */
#define RATEKEEPER_SEVERITY_MAX	300
/* Congested intervals in a row over the guarantee that raise the severity by one. */
#define RATEKEEPER_OVER_INTERVALS	4
/* Intervals in a row not over the guarantee (or not congested) that lower it by one. */
#define RATEKEEPER_UNDER_INTERVALS	11

/* Configuration of one sch_ratekeeper qdisc (its TCA_OPTIONS). */
enum {
	RATEKEEPER_A_OPTS_UNSPEC,
	/* u64: Current shaping rate, bytes/s; between min-rate and max-rate. */
	RATEKEEPER_A_OPTS_RATE,
	/* u64: The tenant's guarantee, bytes/s. */
	RATEKEEPER_A_OPTS_MIN_RATE,
	/* u64: The highest rate, bytes/s. */
	RATEKEEPER_A_OPTS_MAX_RATE,
	/* u32: Bytes that may leave back to back after an idle period. */
	RATEKEEPER_A_OPTS_BURST,
	/* u32: Queue limit in bytes (drop-tail). */
	RATEKEEPER_A_OPTS_LIMIT,
	/* u32: Measurement interval in microseconds. */
	RATEKEEPER_A_OPTS_INTERVAL,
	/* u64: Capacity of the host link the group shares, bytes/s; 0 turns detection off. */
	RATEKEEPER_A_OPTS_LINKRATE,
	/* u32: Percentage of linkrate above which the link counts as congested. */
	RATEKEEPER_A_OPTS_HIGHMARK,
	/* u32: Qdiscs of one group in a netns share one host link. */
	RATEKEEPER_A_OPTS_GROUP,
	/* u32: Least time between two congestion events of one qdisc, milliseconds. */
	RATEKEEPER_A_OPTS_EVENT_GAP,

	__RATEKEEPER_A_OPTS_MAX,
	RATEKEEPER_A_OPTS_MAX = (__RATEKEEPER_A_OPTS_MAX - 1)
};

/* One of the heaviest senders of a qdisc in the last interval. */
enum {
	RATEKEEPER_A_SENDER_UNSPEC,
	/* binary: Source IP address (IPv4 as an IPv4-mapped IPv6 address); all zero when unknown. */
	RATEKEEPER_A_SENDER_ADDR,
	/* binary: Source MAC address. */
	RATEKEEPER_A_SENDER_MAC,
	/* u64: Its rate in the last interval, bytes/s. */
	RATEKEEPER_A_SENDER_RATE,

	__RATEKEEPER_A_SENDER_MAX,
	RATEKEEPER_A_SENDER_MAX = (__RATEKEEPER_A_SENDER_MAX - 1)
};

/* One sch_ratekeeper qdisc and its live state. */
enum {
	RATEKEEPER_A_QDISC_UNSPEC,
	/* u32: Device the qdisc is attached to. */
	RATEKEEPER_A_QDISC_IFINDEX,
	/* u32: Qdisc handle (major:0). */
	RATEKEEPER_A_QDISC_HANDLE,
	/* u32: Parent handle (TC_H_ROOT for a root qdisc). */
	RATEKEEPER_A_QDISC_PARENT,
	/* string: Device name (in get replies; events name the device by ifindex only). */
	RATEKEEPER_A_QDISC_IFNAME,
	/* nest: The configuration (rate is the current rate). */
	RATEKEEPER_A_QDISC_OPTS,
	/* u64: With set-rate, the new rate in bytes/s (between min and max). */
	RATEKEEPER_A_QDISC_RATE,
	/* u64: Measured rate (EWMA over intervals), bytes/s. */
	RATEKEEPER_A_QDISC_MEASURED,
	/* u64: Measured rate of the whole group, bytes/s. */
	RATEKEEPER_A_QDISC_LINK_LOAD,
	/* u8: 1 when the group's link is above its high mark. */
	RATEKEEPER_A_QDISC_CONGESTED,
	/* u32: Current severity (0 to severity-max). */
	RATEKEEPER_A_QDISC_SEVERITY,
	/* u64: Packets sent. */
	RATEKEEPER_A_QDISC_PACKETS,
	/* u64: Bytes sent. */
	RATEKEEPER_A_QDISC_BYTES,
	/* u64: Packets dropped (queue full). */
	RATEKEEPER_A_QDISC_DROPS,
	/* u64: Times a packet had to wait for the shaper. */
	RATEKEEPER_A_QDISC_OVERLIMITS,
	/* u32: Bytes queued. */
	RATEKEEPER_A_QDISC_BACKLOG,
	/* u32: Packets queued. */
	RATEKEEPER_A_QDISC_QLEN,
	/* u64: Congestion events sent. */
	RATEKEEPER_A_QDISC_EVENTS,
	/* u64: Congestion events held back by event-gap. */
	RATEKEEPER_A_QDISC_EVENTS_SUPPRESSED,
	/* nest: The heaviest senders of the last interval, heaviest first. */
	RATEKEEPER_A_QDISC_SENDER,
	/* u64: With a congestion event, the kernel's CLOCK_MONOTONIC time in ns. */
	RATEKEEPER_A_QDISC_TIME,

	__RATEKEEPER_A_QDISC_MAX,
	RATEKEEPER_A_QDISC_MAX = (__RATEKEEPER_A_QDISC_MAX - 1)
};

enum {
	RATEKEEPER_CMD_UNSPEC,
	/* Get one ratekeeper qdisc (by ifindex, and handle when a device has several), or dump every one of the netns. */
	RATEKEEPER_CMD_GET_QDISC,
	/* Set the current rate of one qdisc (needs CAP_NET_ADMIN). */
	RATEKEEPER_CMD_SET_RATE,
	/* A tenant receives above its guarantee while its host link is congested. */
	RATEKEEPER_CMD_CONGESTION,

	__RATEKEEPER_CMD_MAX,
	RATEKEEPER_CMD_MAX = (__RATEKEEPER_CMD_MAX - 1)
};

#define RATEKEEPER_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_RATEKEEPER_H */
