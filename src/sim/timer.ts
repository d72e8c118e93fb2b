// A re-armable timer on the engine (TCP retransmit, delayed ACK, ARP retries, FDB ageing sweeps).
//
// The engine's heap has no removal: arming schedules an event that carries the timer's generation
// number, and cancelling or re-arming bumps the generation, so a stale event finds a different number
// when it fires and does nothing. One bound callback per timer; arming allocates nothing.

import type { Engine } from './engine.js';

export class Timer {
  /** Whether the timer will fire. */
  armed = false;
  /** Virtual time it fires at (meaningful while armed). */
  deadline = 0;
  private generation = 0;
  private readonly fire: (gen: number) => void;

  constructor(
    private readonly engine: Engine,
    private readonly fn: () => void,
  ) {
    this.fire = (gen: number): void => {
      if (gen !== this.generation || !this.armed) return;
      this.armed = false;
      this.fn();
    };
  }

  /** Fires at virtual time `timeNs` (replacing any earlier arming). */
  armAt(timeNs: number): void {
    this.generation = (this.generation + 1) % 0x20000000000000;
    this.armed = true;
    this.deadline = timeNs;
    this.engine.at(timeNs, this.fire, this.generation);
  }

  /** Fires `delayNs` from now (replacing any earlier arming). */
  armAfter(delayNs: number): void {
    this.armAt(this.engine.now + delayNs);
  }

  cancel(): void {
    this.generation = (this.generation + 1) % 0x20000000000000;
    this.armed = false;
  }
}
