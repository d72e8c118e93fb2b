// Congestion control behind a small interface (Linux's struct tcp_congestion_ops; gVisor's
// congestionControl in tcpip/transport/tcp/cubic.go, smoltcp's congestion::Controller), and CUBIC
// as its one implementation (net/ipv4/tcp_cubic.c without HyStart, RFC 9438).
//
// The connection owns a CongestionControl and asks it three things: how far to grow cwnd for newly
// acknowledged segments (cong_avoid, called only when tcp_is_cwnd_limited), what ssthresh becomes
// on a loss (ssthresh), and to forget its epoch when cwnd restarts after idle (cwnd_event
// CA_EVENT_CWND_RESTART). cwnd, ssthresh and snd_cwnd_cnt are tcp_sock fields Linux's core also
// writes (loss recovery, RTO), so they are plain fields here too.

import { TCP_INIT_CWND } from '../tcp-const.js';

export interface CongestionControl {
  /** snd_cwnd, in segments. */
  cwnd: number;
  /** snd_ssthresh, in segments. */
  ssthresh: number;
  /** snd_cwnd_cnt: ACKed segments counted towards the next increment in congestion avoidance. */
  cwndCnt: number;
  /** cong_avoid: `acked` segments newly acknowledged at `nowNs`; the caller checked cwnd-limited. */
  congAvoid(acked: number, nowNs: number, minRttUs: number): void;
  /** ssthresh: the slow-start threshold after a loss (the multiplicative decrease). */
  recalcSsthresh(): number;
  /** cwnd_event(CA_EVENT_CWND_RESTART): cwnd restarts after idle. */
  onCwndRestart(): void;
}

/** CUBIC: W(t) = C (t − K)³ + W_max with C = 0.4, β = 717/1024, fast convergence, Reno-friendly. */
export class Cubic implements CongestionControl {
  cwnd = TCP_INIT_CWND;
  ssthresh = 0x7fffffff;
  cwndCnt = 0;
  private lastMax = 0;
  private epoch = -1;
  private origin = 0;
  private k = 0;
  private ackCnt = 0;
  private tcpCwnd = 0;

  /** cubictcp_recalc_ssthresh: β = 717/1024, with fast convergence of last_max_cwnd. */
  recalcSsthresh(): number {
    this.epoch = -1;
    this.lastMax = this.cwnd < this.lastMax ? Math.floor((this.cwnd * (1024 + 717)) / 2048) : this.cwnd;
    return Math.max(Math.floor((this.cwnd * 717) / 1024), 2);
  }

  onCwndRestart(): void {
    this.epoch = -1;
  }

  /** cubictcp_cong_avoid: slow start up to ssthresh, then tcp_cong_avoid_ai with bictcp_update's cnt. */
  congAvoid(acked: number, nowNs: number, minRttUs: number): void {
    if (this.cwnd < this.ssthresh) {
      const c = Math.min(this.cwnd + acked, this.ssthresh);
      acked -= c - this.cwnd;
      this.cwnd = c;
      if (acked <= 0) return;
    }
    const cnt = this.update(acked, nowNs, minRttUs);
    if (this.cwndCnt >= cnt) {
      this.cwndCnt = 0;
      this.cwnd++;
    }
    this.cwndCnt += acked;
    if (this.cwndCnt >= cnt) {
      const delta = Math.floor(this.cwndCnt / cnt);
      this.cwndCnt -= delta * cnt;
      this.cwnd += delta;
    }
  }

  /** bictcp_update: the cubic curve with t including the minimum RTT, and the Reno-friendly region
   *  (beta_scale 15). Returns cnt: ACKed segments per cwnd increment. */
  private update(acked: number, now: number, minRttUs: number): number {
    const cwnd = this.cwnd;
    this.ackCnt += acked;
    if (this.epoch < 0) {
      this.epoch = now;
      this.ackCnt = acked;
      this.tcpCwnd = cwnd;
      if (this.lastMax <= cwnd) {
        this.k = 0;
        this.origin = cwnd;
      } else {
        this.k = Math.cbrt((this.lastMax - cwnd) / 0.4);
        this.origin = this.lastMax;
      }
    }
    const t = (now - this.epoch) / 1e9 + minRttUs / 1e6;
    const target = Math.floor(this.origin + 0.4 * (t - this.k) ** 3);
    let cnt = target > cwnd ? Math.floor(cwnd / (target - cwnd)) : 100 * cwnd;
    if (this.lastMax === 0 && cnt > 20) cnt = 20;
    const delta = (cwnd * 15) >> 3;
    while (this.ackCnt > delta) {
      this.ackCnt -= delta;
      this.tcpCwnd++;
    }
    if (this.tcpCwnd > cwnd) {
      const maxCnt = Math.floor(cwnd / (this.tcpCwnd - cwnd));
      if (cnt > maxCnt) cnt = maxCnt;
    }
    return Math.max(cnt, 2);
  }
}
