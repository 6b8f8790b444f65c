// SPDX-License-Identifier: GPL-2.0
/*
 * In-module self-tests of sch_ratekeeper's rate math, run at load when built with
 * NLKIT_SELFTEST (the Kbuild sets it against a kernel with KASAN: the debug kernel),
 * as WireGuard's selftest/ does; included at the end of qdisc.c, whose static
 * functions it tests: the measured rate's EWMA over busy and idle intervals (and a
 * clock read older than the interval's start), its decay as readers see it, the top
 * senders' order and rates, and the automatic queue limit. A failure fails the load.
 */

#ifdef NLKIT_SELFTEST

#define RK_ST_IVAL	(10 * NSEC_PER_MSEC)

static bool __init rk_selftest_expect(const char *what, u64 got, u64 want)
{
	if (got == want)
		return true;
	pr_err("sch_ratekeeper selftest: %s is %llu, want %llu\n", what, got, want);
	return false;
}

bool __init rk_selftest(void)
{
	struct rk_sched *q = kzalloc(sizeof(*q), GFP_KERNEL);
	u64 t0 = 100 * NSEC_PER_SEC;
	bool ok = true;

	if (!q)
		return false;
	q->cfg.interval_us = RK_ST_IVAL / NSEC_PER_USEC;
	q->ival_start = t0;

	/* 12500 bytes in 10 ms: 1.25 MB/s; the EWMA halves its distance per interval */
	q->ival_bytes = 12500;
	rk_roll(q, t0 + RK_ST_IVAL);
	ok &= rk_selftest_expect("the rate after one busy interval", q->measured, 625000);
	ok &= rk_selftest_expect("the bytes left in a closed interval", q->ival_bytes, 0);
	q->ival_bytes = 12500;
	rk_roll(q, t0 + 2 * RK_ST_IVAL);
	ok &= rk_selftest_expect("the rate after two busy intervals", q->measured, 937500);
	rk_roll(q, t0 + 2 * RK_ST_IVAL + RK_ST_IVAL / 2);
	ok &= rk_selftest_expect("the rate in an interval not yet over", q->measured, 937500);
	/* three idle intervals in one roll: the distance to 0 halves three times */
	rk_roll(q, t0 + 5 * RK_ST_IVAL);
	ok &= rk_selftest_expect("the rate after three idle intervals", q->measured, 117187);
	/* a clock read before the interval began (another CPU rolled it) changes nothing */
	q->ival_bytes = 1000;
	rk_roll(q, t0 + 5 * RK_ST_IVAL - 1);
	ok &= rk_selftest_expect("the rate after a stale clock read", q->measured, 117187);
	ok &= rk_selftest_expect("the bytes after a stale clock read", q->ival_bytes, 1000);

	/* readers see an idle qdisc's rate halve each interval, and 0 after 64 */
	q->measured = 1000000;
	q->measured_at = t0;
	ok &= rk_selftest_expect("the decayed rate within an interval", rk_decayed(q, t0 + RK_ST_IVAL / 2), 1000000);
	ok &= rk_selftest_expect("the decayed rate after 2 intervals", rk_decayed(q, t0 + 5 * RK_ST_IVAL / 2), 250000);
	ok &= rk_selftest_expect("the decayed rate after 100 intervals", rk_decayed(q, t0 + 100 * RK_ST_IVAL), 0);

	/* top senders: by bytes, at most RATEKEEPER_TOP_SENDERS, rates over the interval */
	q->slots[3].bytes = 100;
	q->slots[7].bytes = 300;
	q->slots[9].bytes = 200;
	rk_take_top(q, RK_ST_IVAL);
	ok &= rk_selftest_expect("the number of top senders", q->ntop, 3);
	ok &= rk_selftest_expect("the heaviest sender's rate", q->top[0].rate, 30000);
	ok &= rk_selftest_expect("the lightest sender's bytes", q->top[2].bytes, 100);
	ok &= rk_selftest_expect("a slot after the interval", q->slots[7].bytes, 0);

	/* the automatic limit: 100 ms at rate, at least 128 KiB, at most 1 GiB */
	ok &= rk_selftest_expect("the limit at rate 0", rk_auto_limit(0), 128 * 1024);
	ok &= rk_selftest_expect("the limit at 1 GB/s", rk_auto_limit(1000000000), 100000000);
	ok &= rk_selftest_expect("the limit at 2^40 B/s", rk_auto_limit(1ULL << 40), 1U << 30);

	kfree(q);
	if (ok)
		pr_info("sch_ratekeeper: selftests passed\n");
	return ok;
}

#endif /* NLKIT_SELFTEST */
