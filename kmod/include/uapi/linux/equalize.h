/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: netlinkproto/specs/equalize.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _UAPI_LINUX_EQUALIZE_H
#define _UAPI_LINUX_EQUALIZE_H

/* The equalize module's prefixes and counters, per netns. */
#define EQUALIZE_FAMILY_NAME	"equalize"
#define EQUALIZE_FAMILY_VERSION	1

/* Configured prefixes per netns. */
#define EQUALIZE_MAX_PREFIXES	1024

/* A destination prefix whose forwarded packets are spread. */
enum {
	EQUALIZE_A_PREFIX_UNSPEC,
	/* u8: AF_INET (2) or AF_INET6 (10). */
	EQUALIZE_A_PREFIX_FAMILY,
	/* binary: The prefix's address, 4 or 16 bytes in network order (host bits must be zero). */
	EQUALIZE_A_PREFIX_ADDR,
	/* u8: Prefix length in bits. */
	EQUALIZE_A_PREFIX_LEN,
	/* u64: Packets given a fresh hash because of this prefix. */
	EQUALIZE_A_PREFIX_PACKETS,

	__EQUALIZE_A_PREFIX_MAX,
	EQUALIZE_A_PREFIX_MAX = (__EQUALIZE_A_PREFIX_MAX - 1)
};

/* The module's state in the caller's netns. */
enum {
	EQUALIZE_A_STATUS_UNSPEC,
	/* u32: Prefixes configured. */
	EQUALIZE_A_STATUS_PREFIXES,
	/* u64: Forwarded IPv4 packets given a fresh hash. */
	EQUALIZE_A_STATUS_HASHED4,
	/* u64: Forwarded IPv6 packets given a fresh hash. */
	EQUALIZE_A_STATUS_HASHED6,
	/* u8: net.ipv4.fib_multipath_hash_policy now (the module needs 1). */
	EQUALIZE_A_STATUS_POLICY4,
	/* u8: net.ipv6.fib_multipath_hash_policy now (the module needs 1). */
	EQUALIZE_A_STATUS_POLICY6,
	/* u64: Packets hashed while the family's hash policy was not 1 (the kernel then ignores the hash). */
	EQUALIZE_A_STATUS_WRONG_POLICY,

	__EQUALIZE_A_STATUS_MAX,
	EQUALIZE_A_STATUS_MAX = (__EQUALIZE_A_STATUS_MAX - 1)
};

enum {
	EQUALIZE_CMD_UNSPEC,
	/* The module's counters and the hash policies of the caller's netns. */
	EQUALIZE_CMD_GET_STATUS,
	/* Spread forwarded packets to this prefix (needs CAP_NET_ADMIN). */
	EQUALIZE_CMD_ADD_PREFIX,
	/* Stop spreading packets to this prefix (needs CAP_NET_ADMIN). */
	EQUALIZE_CMD_DEL_PREFIX,
	/* Get one prefix by family, addr and len, or dump the prefixes of the caller's netns. */
	EQUALIZE_CMD_GET_PREFIX,

	__EQUALIZE_CMD_MAX,
	EQUALIZE_CMD_MAX = (__EQUALIZE_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_EQUALIZE_H */
