// The RTT estimator and the RTO it gives (net/ipv4/tcp_input.c tcp_rtt_estimator, tcp_set_rto;
// smoltcp's RttEstimator plays the same part). Kept in microseconds, srtt << 3 and mdev << 2, as
// Linux keeps them, so the integer rounding is Linux's.

import { MS, TCP_RTO_MAX, TCP_RTO_MIN, TCP_TIMEOUT_INIT } from '../tcp-const.js';
import { seqGt } from '../tcp-wire.js';

export class RttEstimator {
  /** srtt_us: smoothed RTT << 3 (0 before the first sample). */
  srttUs = 0;
  mdevUs = 0;
  mdevMaxUs = 0;
  rttvarUs = 0;
  /** rtt_seq: rttvar decays once per window of data (when snd_una passes this). */
  rttSeq = 0;
  /** The smallest RTT seen (tp->rtt_min), µs; RACK's reordering window and CUBIC's t use it. */
  minRttUs = 0;
  /** icsk_rto in ns. */
  rto = TCP_TIMEOUT_INIT;

  /** tcp_rtt_estimator (RFC 6298 with Linux's mdev_max / rttvar): one sample of `mrttUs`. */
  sample(mrttUs: number, sndUna: number, sndNxt: number): void {
    const minUs = TCP_RTO_MIN / 1000;
    let m = mrttUs;
    let srtt = this.srttUs;
    if (srtt !== 0) {
      m -= srtt >> 3;
      srtt += m;
      if (m < 0) {
        m = -m;
        m -= this.mdevUs >> 2;
        if (m > 0) m >>= 3;
      } else {
        m -= this.mdevUs >> 2;
      }
      this.mdevUs += m;
      if (this.mdevUs > this.mdevMaxUs) {
        this.mdevMaxUs = this.mdevUs;
        if (this.mdevMaxUs > this.rttvarUs) this.rttvarUs = this.mdevMaxUs;
      }
      if (seqGt(sndUna, this.rttSeq)) {
        if (this.mdevMaxUs < this.rttvarUs) this.rttvarUs -= (this.rttvarUs - this.mdevMaxUs) >> 2;
        this.rttSeq = sndNxt;
        this.mdevMaxUs = minUs;
      }
    } else {
      srtt = m << 3;
      this.mdevUs = m << 1;
      this.rttvarUs = Math.max(this.mdevUs, minUs);
      this.mdevMaxUs = this.rttvarUs;
      this.rttSeq = sndNxt;
    }
    this.srttUs = Math.max(1, srtt);
  }

  /** tcp_set_rto: srtt + rttvar, bounded by TCP_RTO_MAX. */
  setRto(): void {
    this.rto = Math.min(Math.ceil(((this.srttUs >> 3) + this.rttvarUs) / 1000) * MS, TCP_RTO_MAX);
  }

  /** Smoothed RTT in ns (0 before a sample). */
  get srttNs(): number {
    return (this.srttUs / 8) * 1000;
  }
}
