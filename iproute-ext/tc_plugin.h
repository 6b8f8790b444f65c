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
#include <stdlib.h>
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

/* tc_xstats copies a qdisc's xstats into st (size bytes, zeroed by the caller): a newer
 * module's longer struct is cut to what the plugin knows, an older one's shorter struct
 * leaves the rest 0. It starts the line as tc does, and returns false when there are none.
 */
static inline bool tc_xstats(void *st, size_t size, FILE *f, struct rtattr *xstats)
{
	size_t len;

	if (!xstats)
		return false;
	len = RTA_PAYLOAD(xstats);
	memcpy(st, RTA_DATA(xstats), len < size ? len : size);
	if (!is_json_context())
		fprintf(f, "  ");
	return true;
}

/* ---- a qdisc's options as a table: one parser and one printer for every plugin ---- */

/* How an option is read on the command line, carried and printed. */
enum tc_opt_kind {
	TC_OPT_RATE,	/* u64 bytes/s; printed as tc prints rates */
	TC_OPT_SIZE,	/* u32 bytes; "limit 28000b" */
	TC_OPT_U32,	/* decimal u32 */
	TC_OPT_PERCENT,	/* decimal u32, a trailing '%' allowed; "highmark 50%" */
	TC_OPT_USEC,	/* a time, u32 microseconds; "interval 100us" */
	TC_OPT_MSEC,	/* a time, u32 milliseconds; "eventgap 200ms" */
	TC_OPT_U16_HEX,	/* u32 in any base up to 0xffff, u16; "exid 0xfc11" */
	TC_OPT_SWITCH,	/* a word alone, u8 1; its off word, u8 0 ("split-gso", "no-split-gso") */
};

struct tc_opt {
	const char *name;	/* the command-line word, and the key in tc -j */
	int type;		/* the netlink attribute inside TCA_OPTIONS */
	enum tc_opt_kind kind;
	const char *off;	/* TC_OPT_SWITCH: the word that turns it off */
};

/* ---- the values' grammar: nlkit's (tools/units), not tc's get_rate64 & co ----
 * tc's own parsers take "-5" as a rate (strtod, then a cast) and hex, inf and nan where
 * nlkit's commands refuse them; the plugins read every value as nlkit does instead.
 * tools/units/testdata/values.tsv is the one table of rules both follow (the Go tests
 * TestValuesTable and TestPluginParsesAsUnits, which compiles iproute-ext/testdata/values.c).
 */
struct tc_unit {
	const char *suffix;	/* lower case; "" for a bare number (last) */
	double mult;
};

static const struct tc_unit tc_rate_units[] = {	/* bytes/s; a bare number is bit/s */
	{ "tibit", 1099511627776.0 / 8 }, { "gibit", 1073741824.0 / 8 }, { "mibit", 1048576.0 / 8 },
	{ "kibit", 1024.0 / 8 }, { "tbit", 1e12 / 8 }, { "gbit", 1e9 / 8 }, { "mbit", 1e6 / 8 },
	{ "kbit", 1e3 / 8 }, { "bit", 1.0 / 8 }, { "tibps", 1099511627776.0 }, { "gibps", 1073741824.0 },
	{ "mibps", 1048576.0 }, { "kibps", 1024.0 }, { "tbps", 1e12 }, { "gbps", 1e9 }, { "mbps", 1e6 },
	{ "kbps", 1e3 }, { "bps", 1 }, { "", 1.0 / 8 }, { NULL, 0 },
};

static const struct tc_unit tc_size_units[] = {	/* bytes; k, m, g are powers of 1024 */
	{ "kbit", 1024.0 / 8 }, { "mbit", 1048576.0 / 8 }, { "gbit", 1073741824.0 / 8 },
	{ "kb", 1024 }, { "mb", 1048576 }, { "gb", 1073741824 }, { "k", 1024 }, { "m", 1048576 },
	{ "g", 1073741824 }, { "b", 1 }, { "", 1 }, { NULL, 0 },
};

static const struct tc_unit tc_time_units[] = {	/* microseconds; a bare number too */
	{ "usecs", 1 }, { "usec", 1 }, { "us", 1 }, { "msecs", 1e3 }, { "msec", 1e3 }, { "ms", 1e3 },
	{ "secs", 1e6 }, { "sec", 1e6 }, { "s", 1e6 }, { "", 1 }, { NULL, 0 },
};

/* tc_is_number: decimal digits with one optional point, then an optional exponent; no
 * sign, hex, inf or nan (what tools/units' number matches).
 */
static inline bool tc_is_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
	}
	if (!digits)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t e;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (e = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == e)
			return false;
	}
	return i == n;
}

/* tc_scaled reads a number with one of units' suffixes (case ignored) into *v. */
static inline bool tc_scaled(const char *s, const struct tc_unit *units, double *v)
{
	char low[64], num[64];
	size_t n = strlen(s), i;
	const struct tc_unit *u;

	if (n >= sizeof(low))
		return false;
	for (i = 0; i <= n; i++)
		low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i];
	for (u = units; u->suffix; u++) {
		size_t k = strlen(u->suffix);

		if (k > n || strcmp(low + n - k, u->suffix))
			continue;
		if (!tc_is_number(low, n - k))
			return false;
		memcpy(num, low, n - k);
		num[n - k] = 0;
		*v = strtod(num, NULL) * u->mult;
		return *v <= 1.7976931348623157e308;	/* not inf */
	}
	return false;
}

/* tc_is_digits: one or more decimal digits, nothing else. */
static inline bool tc_is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* tc_value reads s as a value of kind (not TC_OPT_SWITCH) into *v, as tools/units.Parse
 * does; -1 when it is refused.
 */
static inline int tc_value(enum tc_opt_kind kind, const char *s, __u64 *v)
{
	char buf[32];
	double d;
	size_t n;

	switch (kind) {
	case TC_OPT_RATE:
		if (!tc_scaled(s, tc_rate_units, &d) || d + 0.5 >= 9223372036854775808.0)
			return -1;
		*v = (__u64)(d + 0.5);
		return 0;
	case TC_OPT_SIZE:
		if (!tc_scaled(s, tc_size_units, &d) || d >= 4294967296.0)
			return -1;
		*v = (__u64)d;
		return 0;
	case TC_OPT_USEC:
	case TC_OPT_MSEC:
		if (!tc_scaled(s, tc_time_units, &d) || d >= 4294967296.0)
			return -1;
		*v = (__u64)d;
		if (kind == TC_OPT_MSEC)
			*v /= 1000;
		return 0;
	case TC_OPT_PERCENT:
		n = strlen(s);
		if (n >= sizeof(buf))
			return -1;
		memcpy(buf, s, n + 1);
		if (n && buf[n - 1] == '%')
			buf[n - 1] = 0;
		s = buf;
		/* fall through */
	case TC_OPT_U32:
		if (!tc_is_digits(s) || strtoull(s, NULL, 10) > 0xffffffffULL)
			return -1;
		*v = strtoull(s, NULL, 10);
		return 0;
	case TC_OPT_U16_HEX: {
		const char *d0 = s;
		int base = 10;

		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			base = 16, d0 = s + 2;
			if (!*d0)
				return -1;
			for (const char *p = d0; *p; p++)
				if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
					return -1;
		} else if (s[0] == '0') {
			base = 8;
			for (const char *p = s; *p; p++)
				if (*p < '0' || *p > '7')
					return -1;
		} else if (!tc_is_digits(s)) {
			return -1;
		}
		*v = strtoull(d0, NULL, base);
		return *v > 0xffff ? -1 : 0;
	}
	case TC_OPT_SWITCH:
		break;
	}
	return -1;
}

/* tc_opt_put reads one option's value into its attribute; nonzero when the value is
 * refused (tc_value).
 */
static inline int tc_opt_put(const struct tc_opt *o, const char *val, struct nlmsghdr *n)
{
	__u64 v;
	__u32 v32;
	__u16 v16;

	if (o->kind == TC_OPT_SWITCH || tc_value(o->kind, val, &v))
		return -1;	/* a switch takes no value: tc_opt_parse puts it */
	switch (o->kind) {
	case TC_OPT_RATE:
		return addattr_l(n, 1024, o->type, &v, sizeof(v));
	case TC_OPT_U16_HEX:
		v16 = v;
		return addattr_l(n, 1024, o->type, &v16, sizeof(v16));
	default:
		v32 = v;
		return addattr_l(n, 1024, o->type, &v32, sizeof(v32));
	}
}

/* tc_opt_parse reads "name value" pairs into a nested TCA_OPTIONS, saying what it
 * refused (kind: the qdisc, for messages; explain: its usage).
 */
static inline int tc_opt_parse(const char *kind, const struct tc_opt *opts, void (*explain)(void),
			       int argc, char **argv, struct nlmsghdr *n)
{
	struct rtattr *tail = addattr_nest(n, 1024, TCA_OPTIONS | NLA_F_NESTED);

	for (; argc > 0; argc -= 2, argv += 2) {
		const char *k = argv[0], *val = argc > 1 ? argv[1] : NULL;
		const struct tc_opt *o;

		if (!strcmp(k, "help")) {
			explain();
			return -1;
		}
		for (o = opts; o->name && strcmp(o->name, k) && !(o->off && !strcmp(o->off, k)); o++)
			;
		if (o->name && o->kind == TC_OPT_SWITCH) {
			__u8 on = !strcmp(o->name, k);

			addattr_l(n, 1024, o->type, &on, sizeof(on));
			argc++, argv--;	/* one word, not a pair */
			continue;
		}
		if (!o->name) {
			fprintf(stderr, "%s: unknown parameter \"%s\"\n", kind, k);
			explain();
			return -1;
		}
		if (!val || tc_opt_put(o, val, n)) {
			fprintf(stderr, "%s: illegal %s \"%s\"\n", kind, k, val ? val : "(missing value)");
			explain();
			return -1;
		}
	}
	addattr_nest_end(n, tail);
	return 0;
}

/* tc_opt_print prints the options the kernel dumped (a TCA_OPTIONS nest, attributes up
 * to max), in the table's order; a u16 option it prints only when present.
 */
static inline int tc_opt_print(const struct tc_opt *opts, int max, FILE *f, struct rtattr *opt)
{
	struct rtattr *tb[max + 1];
	const struct tc_opt *o;

	if (!opt)
		return 0;
	parse_rtattr_flags(tb, max, RTA_DATA(opt), RTA_PAYLOAD(opt), NLA_F_NESTED);
	for (o = opts; o->name; o++) {
		struct rtattr *a = o->type <= max ? tb[o->type] : NULL;

		switch (o->kind) {
		case TC_OPT_RATE:
			out_rate(f, o->name, get64(a));
			break;
		case TC_OPT_SIZE:
			out_u(f, o->name, "%s %llub ", get32(a));
			break;
		case TC_OPT_U32:
			out_u(f, o->name, "%s %llu ", get32(a));
			break;
		case TC_OPT_PERCENT:
			out_u(f, o->name, "%s %llu%% ", get32(a));
			break;
		case TC_OPT_USEC:
			out_u(f, o->name, "%s %lluus ", get32(a));
			break;
		case TC_OPT_MSEC:
			out_u(f, o->name, "%s %llums ", get32(a));
			break;
		case TC_OPT_U16_HEX:
			if (a && RTA_PAYLOAD(a) >= sizeof(__u16))
				out_u(f, o->name, "%s %#llx ", *(__u16 *)RTA_DATA(a));
			break;
		case TC_OPT_SWITCH:
			if (!a || RTA_PAYLOAD(a) < sizeof(__u8))
				break;
			if (is_json_context())
				print_color_u64(TC_PRINT_JSON, TC_COLOR_NONE, o->name, NULL, *(__u8 *)RTA_DATA(a));
			else
				fprintf(f, "%s ", *(__u8 *)RTA_DATA(a) ? o->name : o->off);
			break;
		}
	}
	return 0;
}

#endif /* _NLKIT_TC_PLUGIN_H */
