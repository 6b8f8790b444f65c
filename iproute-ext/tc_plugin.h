/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What nlkit's tc qdisc plugins share: the part of Debian's tc that a q_<kind>.so
 * links against (tc loads the plugin and looks up <kind>_qdisc_util; the helpers are
 * exported by the tc binary; their declarations, a small and long-stable ABI, are
 * written out here so no iproute2 source tree is needed), and output helpers that
 * print like tc, or JSON under tc -j.
 */
#ifndef _NLKIT_TC_PLUGIN_H
#define _NLKIT_TC_PLUGIN_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/types.h>

/* ---- tc's plugin ABI (iproute2 tc/tc_util.h, lib/utils.c, lib/json_print.c) ---- */
struct qdisc_util {
	struct qdisc_util *next;
	const char *id;
	int (*parse_qopt)(struct qdisc_util *qu, int argc, char **argv, struct nlmsghdr *n,
			  const char *dev);
	int (*print_qopt)(struct qdisc_util *qu, FILE *f, struct rtattr *opt);
	int (*print_xstats)(struct qdisc_util *qu, FILE *f, struct rtattr *xstats);
	int (*parse_copt)(struct qdisc_util *qu, int argc, char **argv, struct nlmsghdr *n,
			  const char *dev);
	int (*print_copt)(struct qdisc_util *qu, FILE *f, struct rtattr *opt);
	int (*has_block)(struct qdisc_util *qu, struct rtattr *opt, __u32 block_idx, bool *p_has);
};

int get_rate64(__u64 *rate, const char *str);
int get_size(unsigned int *size, const char *str);
int get_time(unsigned int *time, const char *str);	/* microseconds */
int get_u32(__u32 *val, const char *arg, int base);
int addattr_l(struct nlmsghdr *n, int maxlen, int type, const void *data, int alen);
struct rtattr *addattr_nest(struct nlmsghdr *n, int maxlen, int type);
int addattr_nest_end(struct nlmsghdr *n, struct rtattr *nest);
int parse_rtattr_flags(struct rtattr *tb[], int max, struct rtattr *rta, int len,
		       unsigned short flags);
bool is_json_context(void);
enum { TC_PRINT_JSON = 2 };	/* enum output_type: PRINT_JSON */
enum { TC_COLOR_NONE = 6 };	/* enum color_attr: COLOR_NONE */
int print_color_u64(int type, int color, const char *key, const char *fmt,
		    unsigned long long value);
int print_color_uint(int type, int color, const char *key, const char *fmt, unsigned int value);
int print_color_string(int type, int color, const char *key, const char *fmt,
		       const char *value);
/* ---- end of the ABI ---- */

/* A rate in bytes/s, printed as tc does (bits, SI prefixes). */
static inline void fmt_rate(char *b, size_t len, __u64 bytes)
{
	double bits = (double)bytes * 8;

	if (bits >= 1e9)
		snprintf(b, len, "%gGbit", bits / 1e9);
	else if (bits >= 1e6)
		snprintf(b, len, "%gMbit", bits / 1e6);
	else if (bits >= 1e3)
		snprintf(b, len, "%gKbit", bits / 1e3);
	else
		snprintf(b, len, "%gbit", bits);
}

static inline void out_rate(FILE *f, const char *key, __u64 v)
{
	char b[64];

	if (is_json_context()) {
		print_color_u64(TC_PRINT_JSON, TC_COLOR_NONE, key, NULL, v);
		return;
	}
	fmt_rate(b, sizeof(b), v);
	fprintf(f, "%s %s ", key, b);
}

static inline void out_u(FILE *f, const char *key, const char *fmt, unsigned long long v)
{
	if (is_json_context())
		print_color_u64(TC_PRINT_JSON, TC_COLOR_NONE, key, NULL, v);
	else
		fprintf(f, fmt, key, v);
}

static inline __u64 get64(struct rtattr *a)
{
	__u64 v = 0;

	if (a && RTA_PAYLOAD(a) >= sizeof(v))
		memcpy(&v, RTA_DATA(a), sizeof(v));
	return v;
}

static inline __u32 get32(struct rtattr *a)
{
	__u32 v = 0;

	if (a && RTA_PAYLOAD(a) >= sizeof(v))
		memcpy(&v, RTA_DATA(a), sizeof(v));
	return v;
}

#endif /* _NLKIT_TC_PLUGIN_H */
