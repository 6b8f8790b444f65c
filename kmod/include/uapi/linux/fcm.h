/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: netlinkproto/specs/fcm.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _UAPI_LINUX_FCM_H
#define _UAPI_LINUX_FCM_H

/* FCM router qdiscs' configuration and live state. */
#define FCM_FAMILY_NAME	"fcm"
#define FCM_FAMILY_VERSION	1

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
/* Receiver connection state - our SYN sent, waiting for the SYN-ACK. */
#define FCM_CONN_STATE_SYN_SENT	0
/* Prime start - the window is not limited until the price says the path is full. */
#define FCM_CONN_STATE_PRIME	1
/* The control law sets the window. */
#define FCM_CONN_STATE_STEADY	2
/* FIN seen; expires soon. */
#define FCM_CONN_STATE_CLOSING	3

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

/* fcm_receiver's parameters in one netns (a new netns starts from the module parameters). */
enum {
	FCM_A_RECEIVER_PARAMS_UNSPEC,
	/* u8: 1 if the receiver acts on this netns's connections. */
	FCM_A_RECEIVER_PARAMS_ENABLED,
	/* u32: Smoothing of the rate estimate, percent per round (default 25). */
	FCM_A_RECEIVER_PARAMS_ALPHA,
	/* u32: Gain of the window law, in MSS per round at full error (default 1). */
	FCM_A_RECEIVER_PARAMS_TAU,
	/* u32: Prime start ends once the control term is below -ps-thresh percent (default 20). */
	FCM_A_RECEIVER_PARAMS_PS_THRESH,
	/* u32: Budget W of each connection, in kbit/s times price (default 300000). */
	FCM_A_RECEIVER_PARAMS_WEIGHT,
	/* u32: Bytes taken off the MSS option of outgoing SYN and SYN-ACK, room for the routers' option (default 4; 8 for the RFC 6994 form). */
	FCM_A_RECEIVER_PARAMS_MSS_DELTA,
	/* u32: Most connections tracked in this netns (default 65536). */
	FCM_A_RECEIVER_PARAMS_MAX_CONNS,
	/* u32: Seconds after which an idle connection is forgotten (default 120). */
	FCM_A_RECEIVER_PARAMS_IDLE_TIMEOUT,
	/* u16: Which option carries the price: 0 (the default) reads option 92, any other value the RFC 6994 form (kind 253 or 254) with this ExID; the other form is ignored. The RFC 6994 form takes 8 bytes: mss-delta must then be 0 or at least 8. */
	FCM_A_RECEIVER_PARAMS_EXID,

	__FCM_A_RECEIVER_PARAMS_MAX,
	FCM_A_RECEIVER_PARAMS_MAX = (__FCM_A_RECEIVER_PARAMS_MAX - 1)
};

/* fcm_receiver's state in one netns. */
enum {
	FCM_A_RECEIVER_UNSPEC,
	/* nest: The parameters. */
	FCM_A_RECEIVER_PARAMS,
	/* u32: Connections tracked now. */
	FCM_A_RECEIVER_CONNS,
	/* u64: Connections ever tracked. */
	FCM_A_RECEIVER_TRACKED,
	/* u64: Connections not tracked because max-conns were. */
	FCM_A_RECEIVER_TABLE_FULL,
	/* u64: Incoming segments of tracked connections that carried a price. */
	FCM_A_RECEIVER_PRICED,
	/* u64: Incoming TCP segments with a malformed option list or a price option of the wrong length (ignored). */
	FCM_A_RECEIVER_MALFORMED,
	/* u64: Outgoing segments whose advertised window was lowered. */
	FCM_A_RECEIVER_LOWERED,
	/* u64: Outgoing SYN and SYN-ACK whose MSS option was lowered. */
	FCM_A_RECEIVER_MSS_LOWERED,
	/* u64: Connections forgotten (idle, closed or reset). */
	FCM_A_RECEIVER_EXPIRED,

	__FCM_A_RECEIVER_MAX,
	FCM_A_RECEIVER_MAX = (__FCM_A_RECEIVER_MAX - 1)
};

/* One tracked connection, seen from the local end. */
enum {
	FCM_A_CONN_UNSPEC,
	/* u8: 4 or 6. */
	FCM_A_CONN_FAMILY,
	/* binary: Local address (4 or 16 bytes). */
	FCM_A_CONN_LOCAL,
	/* binary: Remote address (4 or 16 bytes). */
	FCM_A_CONN_REMOTE,
	/* u16: Local port. */
	FCM_A_CONN_LPORT,
	/* u16: Remote port. */
	FCM_A_CONN_RPORT,
	/* u8: One of the conn-state constants. */
	FCM_A_CONN_STATE,
	/* u8: Shift of the window this end advertises (0 when scaling is off). */
	FCM_A_CONN_WSCALE,
	/* u32: MSS this end advertised (after mss-delta). */
	FCM_A_CONN_MSS,
	/* u32: Window w the control law allows, bytes. */
	FCM_A_CONN_WINDOW,
	/* u32: Window the local TCP offered last, bytes. */
	FCM_A_CONN_KERNEL_WINDOW,
	/* u64: Smoothed receive rate x, bytes/s. */
	FCM_A_CONN_RATE,
	/* u32: Last price received. */
	FCM_A_CONN_PRICE,
	/* u32: Round-trip time estimated from timestamps, microseconds (0 until measured). */
	FCM_A_CONN_SRTT,
	/* u64: Payload bytes received. */
	FCM_A_CONN_RX_BYTES,
	/* u64: Outgoing segments whose window was lowered. */
	FCM_A_CONN_LOWERED,
	/* u32: Milliseconds since the last segment. */
	FCM_A_CONN_IDLE,

	__FCM_A_CONN_MAX,
	FCM_A_CONN_MAX = (__FCM_A_CONN_MAX - 1)
};

enum {
	FCM_CMD_UNSPEC,
	/* Get one fcm qdisc (by ifindex, and handle when a device has several), or dump every one of the netns. */
	FCM_CMD_GET_QDISC,
	/* fcm_receiver's parameters and counters in the caller's netns. */
	FCM_CMD_GET_RECEIVER,
	/* Change fcm_receiver's parameters in the caller's netns (needs CAP_NET_ADMIN). */
	FCM_CMD_SET_RECEIVER,
	/* Dump the connections fcm_receiver tracks in the caller's netns. */
	FCM_CMD_GET_CONN,

	__FCM_CMD_MAX,
	FCM_CMD_MAX = (__FCM_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_FCM_H */
