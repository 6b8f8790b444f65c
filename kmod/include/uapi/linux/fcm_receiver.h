/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: netlinkproto/specs/fcm_receiver.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _UAPI_LINUX_FCM_RECEIVER_H
#define _UAPI_LINUX_FCM_RECEIVER_H

/* fcm_receiver's per-netns parameters, counters and tracked connections. */
#define FCM_RECEIVER_FAMILY_NAME	"fcm_receiver"
#define FCM_RECEIVER_FAMILY_VERSION	1

/* Connection state - our SYN sent, waiting for the SYN-ACK. */
#define FCM_RECEIVER_CONN_STATE_SYN_SENT	0
/* Prime start - the window is not limited until the price says the path is full. */
#define FCM_RECEIVER_CONN_STATE_PRIME	1
/* The control law sets the window. */
#define FCM_RECEIVER_CONN_STATE_STEADY	2
/* FIN seen; expires soon. */
#define FCM_RECEIVER_CONN_STATE_CLOSING	3

/* fcm_receiver's parameters in one netns (a new netns starts from the module parameters). */
enum {
	FCM_RECEIVER_A_PARAMS_UNSPEC,
	/* u8: 1 if the receiver acts on this netns's connections. */
	FCM_RECEIVER_A_PARAMS_ENABLED,
	/* u32: Smoothing of the rate estimate, percent per round (default 25). */
	FCM_RECEIVER_A_PARAMS_ALPHA,
	/* u32: Gain of the window law, in MSS per round at full error (default 1). */
	FCM_RECEIVER_A_PARAMS_TAU,
	/* u32: Prime start ends once the control term is below -ps-thresh percent (default 20). */
	FCM_RECEIVER_A_PARAMS_PS_THRESH,
	/* u32: Budget W of each connection, in kbit/s times price (default 300000). */
	FCM_RECEIVER_A_PARAMS_WEIGHT,
	/* u32: Bytes taken off the MSS option of outgoing SYN and SYN-ACK, room for the routers' option (default 4; 8 for the RFC 6994 form). */
	FCM_RECEIVER_A_PARAMS_MSS_DELTA,
	/* u32: Most connections tracked in this netns (default 65536). */
	FCM_RECEIVER_A_PARAMS_MAX_CONNS,
	/* u32: Seconds after which an idle connection is forgotten (default 120). */
	FCM_RECEIVER_A_PARAMS_IDLE_TIMEOUT,
	/* u16: Which option carries the price: 0 (the default) reads option 92, any other value the RFC 6994 form (kind 253 or 254) with this ExID; the other form is ignored. The RFC 6994 form takes 8 bytes: mss-delta must then be 0 or at least 8. */
	FCM_RECEIVER_A_PARAMS_EXID,

	__FCM_RECEIVER_A_PARAMS_MAX,
	FCM_RECEIVER_A_PARAMS_MAX = (__FCM_RECEIVER_A_PARAMS_MAX - 1)
};

/* fcm_receiver's state in one netns. */
enum {
	FCM_RECEIVER_A_RECEIVER_UNSPEC,
	/* nest: The parameters. */
	FCM_RECEIVER_A_RECEIVER_PARAMS,
	/* u32: Connections tracked now. */
	FCM_RECEIVER_A_RECEIVER_CONNS,
	/* u64: Connections ever tracked. */
	FCM_RECEIVER_A_RECEIVER_TRACKED,
	/* u64: Connections not tracked because max-conns were. */
	FCM_RECEIVER_A_RECEIVER_TABLE_FULL,
	/* u64: Incoming segments of tracked connections that carried a price. */
	FCM_RECEIVER_A_RECEIVER_PRICED,
	/* u64: Incoming TCP segments with a malformed option list or a price option of the wrong length (ignored). */
	FCM_RECEIVER_A_RECEIVER_MALFORMED,
	/* u64: Outgoing segments whose advertised window was lowered. */
	FCM_RECEIVER_A_RECEIVER_LOWERED,
	/* u64: Outgoing SYN and SYN-ACK whose MSS option was lowered. */
	FCM_RECEIVER_A_RECEIVER_MSS_LOWERED,
	/* u64: Connections forgotten (idle, closed or reset). */
	FCM_RECEIVER_A_RECEIVER_EXPIRED,

	__FCM_RECEIVER_A_RECEIVER_MAX,
	FCM_RECEIVER_A_RECEIVER_MAX = (__FCM_RECEIVER_A_RECEIVER_MAX - 1)
};

/* One tracked connection, seen from the local end. */
enum {
	FCM_RECEIVER_A_CONN_UNSPEC,
	/* u8: 4 or 6. */
	FCM_RECEIVER_A_CONN_FAMILY,
	/* binary: Local address (4 or 16 bytes). */
	FCM_RECEIVER_A_CONN_LOCAL,
	/* binary: Remote address (4 or 16 bytes). */
	FCM_RECEIVER_A_CONN_REMOTE,
	/* u16: Local port. */
	FCM_RECEIVER_A_CONN_LPORT,
	/* u16: Remote port. */
	FCM_RECEIVER_A_CONN_RPORT,
	/* u8: One of the conn-state constants. */
	FCM_RECEIVER_A_CONN_STATE,
	/* u8: Shift of the window this end advertises (0 when scaling is off). */
	FCM_RECEIVER_A_CONN_WSCALE,
	/* u32: MSS this end advertised (after mss-delta). */
	FCM_RECEIVER_A_CONN_MSS,
	/* u32: Window w the control law allows, bytes. */
	FCM_RECEIVER_A_CONN_WINDOW,
	/* u32: Window the local TCP offered last, bytes. */
	FCM_RECEIVER_A_CONN_KERNEL_WINDOW,
	/* u64: Smoothed receive rate x, bytes/s. */
	FCM_RECEIVER_A_CONN_RATE,
	/* u32: Last price received. */
	FCM_RECEIVER_A_CONN_PRICE,
	/* u32: Round-trip time estimated from timestamps, microseconds (0 until measured). */
	FCM_RECEIVER_A_CONN_SRTT,
	/* u64: Payload bytes received. */
	FCM_RECEIVER_A_CONN_RX_BYTES,
	/* u64: Outgoing segments whose window was lowered. */
	FCM_RECEIVER_A_CONN_LOWERED,
	/* u32: Milliseconds since the last segment. */
	FCM_RECEIVER_A_CONN_IDLE,

	__FCM_RECEIVER_A_CONN_MAX,
	FCM_RECEIVER_A_CONN_MAX = (__FCM_RECEIVER_A_CONN_MAX - 1)
};

enum {
	FCM_RECEIVER_CMD_UNSPEC,
	/* fcm_receiver's parameters and counters in the caller's netns. */
	FCM_RECEIVER_CMD_GET_RECEIVER,
	/* Change fcm_receiver's parameters in the caller's netns (needs CAP_NET_ADMIN). */
	FCM_RECEIVER_CMD_SET_RECEIVER,
	/* Get one connection fcm_receiver tracks in the caller's netns by family, addresses and ports, or dump them all. */
	FCM_RECEIVER_CMD_GET_CONN,

	__FCM_RECEIVER_CMD_MAX,
	FCM_RECEIVER_CMD_MAX = (__FCM_RECEIVER_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_FCM_RECEIVER_H */
