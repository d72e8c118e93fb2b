// A forwarding database: MAC address → port, learned from source addresses and aged out, as Linux's
// net/bridge/br_fdb.c keeps it (and as a LAN switch does). Used by `Bridge` and by a `Wire` that is a
// switch.
//
// An open-addressing hash table with linear probing over typed arrays, keyed by the 48-bit MAC held in
// a Float64Array (exact), so lookups and learning allocate nothing. Deletion shifts the following
// entries back (no tombstones). The table doubles only when more live entries are needed; expired
// entries are swept before growing, so a churn of short-lived stations does not grow it without bound.
//
// Ageing follows br_fdb_cleanup: a learned entry is gone once `now - updated ≥ ageingNs` (Linux deletes
// it when updated + ageing_time ≤ jiffies; an ageing time of 0 makes every entry expire at once and the
// bridge floods like a hub). Here expiry is checked when an entry is looked up, which gives the same
// forwarding decisions as Linux's periodic sweep (the sweep runs exactly at the earliest expiry).
// Local entries (the bridge's own address and its ports' addresses, BR_FDB_LOCAL) never age and are
// never moved by learning.
//
// The per-frame methods (`lookupAt`, `learnAt`, `isLocalAt`) read the MAC from the frame and the time
// from the clock themselves, so no 48-bit number or large time crosses a call (V8 would box it).

const EMPTY = -1;
const LOCAL = 1;

/** `lookup` result meaning "no entry" (-1 is a valid port: the bridge device's own addresses). */
export const FDB_MISS = -2;

function hashMac(mac: number): number {
  return hashHalves((mac / 0x100000000) >>> 0, mac >>> 0);
}

function hashHalves(hi: number, lo: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2f), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export interface FdbEntry {
  mac: number;
  port: number;
  local: boolean;
  /** Virtual time of the last learning (local entries: when added). */
  updated: number;
}

export class MacTable {
  private keys: Float64Array;
  private ports: Int32Array;
  private updated: Float64Array;
  private flags: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(
    /** Lifetime of a learned entry without traffic from its station (Linux default 300 s). */
    public ageingNs: number,
    /** Where the current virtual time is read (the engine). */
    private readonly clock: { readonly now: number },
    capacity = 64,
  ) {
    let n = 16;
    while (n < capacity) n *= 2;
    this.keys = new Float64Array(n).fill(EMPTY);
    this.ports = new Int32Array(n);
    this.updated = new Float64Array(n);
    this.flags = new Uint8Array(n);
    this.mask = n - 1;
  }

  /** Entries held, including learned ones that expired but were not looked up since. */
  get size(): number {
    return this.count;
  }

  /**
   * The port for `mac` now; FDB_MISS when unknown or expired (an expired entry is deleted).
   * For a local entry, returns its port (-1 = the bridge device itself): see `isLocal`.
   */
  lookup(mac: number): number {
    return this.live(this.find(mac));
  }

  /** `lookup` of the MAC at byte `off` of `view` (a frame's destination). */
  lookupAt(view: DataView, off: number): number {
    return this.live(this.findAt(view, off));
  }

  /** The port of slot i, or FDB_MISS when i < 0 or the entry expired (deleting it). */
  private live(i: number): number {
    if (i < 0) return FDB_MISS;
    if (this.flags[i] === 0 && this.clock.now - this.updated[i]! >= this.ageingNs) {
      this.deleteAt(i);
      return FDB_MISS;
    }
    return this.ports[i]!;
  }

  /** Whether `mac` has a local entry (frames to it are for this machine, not forwarded). */
  isLocal(mac: number): boolean {
    const i = this.find(mac);
    return i >= 0 && this.flags[i] === LOCAL;
  }

  /** `isLocal` of the MAC at byte `off` of `view`. */
  isLocalAt(view: DataView, off: number): boolean {
    const i = this.findAt(view, off);
    return i >= 0 && this.flags[i] === LOCAL;
  }

  /** br_fdb_update: `mac` was seen as a source on `port` now. Local entries are not touched. */
  learn(mac: number, port: number): void {
    const i = this.find(mac);
    if (i >= 0) this.refresh(i, port);
    else this.insert(mac, port, this.clock.now, 0);
  }

  /** `learn` of the MAC at byte `off` of `view` (a frame's source). */
  learnAt(view: DataView, off: number, port: number): void {
    const i = this.findAt(view, off);
    if (i >= 0) this.refresh(i, port);
    else this.insert(view.getUint16(off) * 0x100000000 + view.getUint32(off + 2), port, this.clock.now, 0);
  }

  private refresh(i: number, port: number): void {
    if (this.flags[i] === LOCAL) return;
    this.ports[i] = port;
    this.updated[i] = this.clock.now;
  }

  /** A permanent local entry (br_fdb_add_local): `port` -1 for the bridge device's own address. */
  addLocal(mac: number, port: number): void {
    const i = this.find(mac);
    if (i >= 0) {
      this.ports[i] = port;
      this.flags[i] = LOCAL;
      this.updated[i] = this.clock.now;
      return;
    }
    this.insert(mac, port, this.clock.now, LOCAL);
  }

  /** Forgets `mac` (local or learned). */
  remove(mac: number): boolean {
    const i = this.find(mac);
    if (i < 0) return false;
    this.deleteAt(i);
    return true;
  }

  /** Forgets every entry on `port` (br_fdb_delete_by_port, when a port leaves the bridge). */
  removePort(port: number): void {
    for (let i = 0; i <= this.mask; ) {
      if (this.keys[i] !== EMPTY && this.ports[i] === port) this.deleteAt(i); // re-examine slot i
      else i++;
    }
  }

  /** Deletes learned entries that have expired by now. */
  sweep(): void {
    const now = this.clock.now;
    for (let i = 0; i <= this.mask; ) {
      if (this.keys[i] !== EMPTY && this.flags[i] === 0 && now - this.updated[i]! >= this.ageingNs) this.deleteAt(i);
      else i++;
    }
  }

  /** `bridge fdb show`: live entries sorted by MAC (allocates; tools and tests). */
  entries(): FdbEntry[] {
    const now = this.clock.now;
    const out: FdbEntry[] = [];
    for (let i = 0; i <= this.mask; i++) {
      const mac = this.keys[i]!;
      if (mac === EMPTY) continue;
      const local = this.flags[i] === LOCAL;
      if (!local && now - this.updated[i]! >= this.ageingNs) continue;
      out.push({ mac, port: this.ports[i]!, local, updated: this.updated[i]! });
    }
    return out.sort((a, b) => a.mac - b.mac);
  }

  private find(mac: number): number {
    const keys = this.keys;
    const mask = this.mask;
    for (let i = hashMac(mac) & mask; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === mac) return i;
      if (k === EMPTY) return -1;
    }
  }

  private findAt(view: DataView, off: number): number {
    const hi = view.getUint16(off);
    // The low half as an int32: as a uint32 above 2^31 it would be boxed into a HeapNumber per frame
    // when hashHalves is not inlined; the hash only mixes bits, so it is the same.
    const lo = view.getInt32(off + 2);
    const mac = hi * 0x100000000 + (lo >>> 0);
    const keys = this.keys;
    const mask = this.mask;
    for (let i = hashHalves(hi, lo) & mask; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === mac) return i;
      if (k === EMPTY) return -1;
    }
  }

  private insert(mac: number, port: number, now: number, flags: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) {
      this.sweep();
      if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    }
    const keys = this.keys;
    const mask = this.mask;
    let i = hashMac(mac) & mask;
    while (keys[i] !== EMPTY) i = (i + 1) & mask;
    keys[i] = mac;
    this.ports[i] = port;
    this.updated[i] = now;
    this.flags[i] = flags;
    this.count++;
  }

  /** Removes slot i and shifts back the entries of its probe run that would become unreachable. */
  private deleteAt(i: number): void {
    const keys = this.keys;
    const mask = this.mask;
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hashMac(keys[j]!) & mask;
      // Entry j may move into the hole if its home is not in the cyclic range (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      keys[hole] = keys[j]!;
      this.ports[hole] = this.ports[j]!;
      this.updated[hole] = this.updated[j]!;
      this.flags[hole] = this.flags[j]!;
      hole = j;
    }
    keys[hole] = EMPTY;
    this.count--;
  }

  private resize(n: number): void {
    const keys = this.keys;
    const ports = this.ports;
    const updated = this.updated;
    const flags = this.flags;
    this.keys = new Float64Array(n).fill(EMPTY);
    this.ports = new Int32Array(n);
    this.updated = new Float64Array(n);
    this.flags = new Uint8Array(n);
    this.mask = n - 1;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === EMPTY) continue;
      this.insert(keys[i]!, ports[i]!, updated[i]!, flags[i]!);
    }
  }
}
