// SPDX-License-Identifier: GPL-2.0
/*
 * The control law (nlkit's reconstruction of CLAMP; units in brackets), once per round,
 * a round being the smoothed RTT measured from timestamps (100 ms without them):
 *
 *   x <- x + alpha/100 * (received/round - x)           [bytes/s]
 *   u  = 100 * (W - x*p) / W                           [percent; x here in kbit/s]
 *   prime start: w is not limited (the sender's own slow start runs) until
 *                u < -ps_thresh; then w = bytes received in that round.
 *   steady:      w <- clamp(w + tau * MSS * u / 100, MSS, window the kernel offered)
 *
 * p is the last price received, W (weight) the connection's budget in kbit/s x price.
 * With no price (no FCM router on the path) u = 100 and w only grows. At equilibrium
 * x * p = W for every connection through the same queue, so the rates are equal (for
 * equal weights) and the queue's price is N * W / C. Linearised, one round changes
 * the queue by -(tau * b * C / W) times its excess (C in kbit/s, b the router's bval),
 * and the change is seen one round later: the loop is stable for tau * b * C < W
 * (README, "FCM control law"). The defaults (tau 1, W 300000) keep the gain at 1/3 at
 * 10 Mbit/s with b = 10, with 3 packets of queue above q_min per connection.
 *
 * fcm_round() runs it on a connection from the LOCAL_IN hook, under the
 * connection's lock.
 */

#include <linux/math64.h>
#include <linux/minmax.h>
#include <net/tcp.h>

#include "receiver.h"

void fcm_round(struct fcm_rcv_net *rn, struct fcm_conn *c, u64 now)
{
	u64 round = c->srtt_us ? max_t(u64, (u64)c->srtt_us * NSEC_PER_USEC, NSEC_PER_MSEC) :
				 FCM_DEFAULT_ROUND_NS;
	u64 dt = now - c->round_start, meas, pay;
	u32 a = READ_ONCE(rn->p.alpha), wgt = READ_ONCE(rn->p.weight);
	s64 u, w;

	if (dt < round)
		return;
	meas = mul_u64_u64_div_u64(c->round_bytes, NSEC_PER_SEC, dt);
	c->x = c->x ? div_u64(c->x * (100 - a) + meas * a, 100) : meas;
	pay = div_u64(c->x * 8, 1000) * c->price;		/* kbit/s x price */
	/* u = 100 (1 - pay / W), in percent. The price comes from the network (a peer
	 * can send the largest), so u is bounded below before it is multiplied: at
	 * FCM_U_MIN the window drops to one MSS in a round anyway.
	 */
	u = 100 - (s64)min_t(u64, mul_u64_u32_div(pay, 100, wgt), 100 - FCM_U_MIN);
	switch (c->state) {
	case FCM_RECEIVER_CONN_STATE_PRIME:
		if (u < -(s64)READ_ONCE(rn->p.ps_thresh)) {
			c->state = FCM_RECEIVER_CONN_STATE_STEADY;
			c->w = max_t(u64, c->round_bytes, c->mss);
		}
		break;
	case FCM_RECEIVER_CONN_STATE_STEADY:
		w = (s64)c->w + (s64)READ_ONCE(rn->p.tau) * c->mss * u / 100;
		/* no more than the kernel offers, nor than a TCP window can say (the
		 * kernel may have offered 0)
		 */
		if (c->kwin && w > c->kwin)
			w = c->kwin;
		w = min_t(s64, w, FCM_MAX_WIN);
		c->w = max_t(s64, w, c->mss);
		break;
	}
	c->round_start = now;
	c->round_bytes = 0;
}
