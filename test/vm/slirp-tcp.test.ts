// libslirp's guest-side TCP (src/vm/slirp/tcp.ts) on its own, with a recording owner and a fake host
// socket: segmentation at the guest's MSS and window, PSH on the segment that empties the buffer, the
// delayed ACK of a FIN (2 ms) before the FIN that follows the host's EOF, retransmission at BSD's 6 s
// doubling, and RST handling both ways.

import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { SlirpTcb, type HostSide, type SlirpSegment, type SlirpTcbOwner } from '../../src/vm/slirp/tcp.js';

const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const MS = 1e6;

interface Out {
  t: number;
  flags: number;
  seq: number;
  ack: number;
  win: number;
  mss: number;
  len: number;
}

function setup(guestMss = 1460, guestWin = 64240) {
  const engine = new Engine({ seed: 1 });
  const out: Out[] = [];
  let forgotten = false;
  const owner: SlirpTcbOwner = {
    engine,
    emitTcp: (_t, flags, seq, ack, win, mss, data) => out.push({ t: engine.now, flags, seq, ack, win, mss, len: data?.length ?? 0 }),
    forget: () => {
      forgotten = true;
    },
  };
  const host = { sent: [] as number[], shut: 0, closed: 0 };
  const side: HostSide = {
    send: (b) => host.sent.push(b.length),
    shutdown: () => host.shut++,
    close: () => host.closed++,
  };
  const guestIsn = 1000;
  const t = new SlirpTcb(owner, 0xc6336401, 8000, 0x0a000264, 40000, 64001, 'CONNECTING');
  t.acceptSyn({ seq: guestIsn, ack: 0, flags: SYN, win: guestWin, mss: guestMss, data: new Uint8Array() });
  t.host = side;
  const seg = (flags: number, seq: number, ack: number, data = 0, win = guestWin): SlirpSegment => ({ seq, ack, flags, win, mss: 0, data: new Uint8Array(data) });
  return { engine, out, t, host, seg, guestIsn, forgotten: () => forgotten };
}

describe('slirp TCP towards the guest', () => {
  it('SYN-ACK only once the host connected: MSS 1460 only, window 65535', () => {
    const { out, t, guestIsn } = setup();
    expect(out).toEqual([]);
    t.hostConnected();
    expect(out).toEqual([{ t: 0, flags: SYN | ACK, seq: 64001, ack: guestIsn + 1, win: 65535, mss: 1460, len: 0 }]);
  });

  it('segments at the guest’s MSS within its window, PSH on the last; more after the ACK', () => {
    const { out, t, seg, guestIsn } = setup(1000, 2500);
    t.hostConnected();
    t.input(seg(ACK, guestIsn + 1, 64002, 0, 2500));
    out.length = 0;
    t.fromHost(new Uint8Array(4000));
    expect(out.map((o) => [o.flags, o.seq - 64002, o.len])).toEqual([
      [ACK, 0, 1000],
      [ACK, 1000, 1000],
      [ACK, 2000, 500],
    ]);
    out.length = 0;
    t.input(seg(ACK, guestIsn + 1, 64002 + 2500, 0, 2500));
    expect(out.map((o) => [o.flags, o.seq - 64002, o.len])).toEqual([
      [ACK, 2500, 1000],
      [ACK | PSH, 3500, 500],
    ]);
  });

  it('data from the guest goes to the host first, then an immediate ACK', () => {
    const { out, t, seg, host, guestIsn } = setup();
    t.hostConnected();
    t.input(seg(ACK, guestIsn + 1, 64002));
    out.length = 0;
    t.input(seg(ACK | PSH, guestIsn + 1, 64002, 43));
    expect(host.sent).toEqual([43]);
    expect(out).toEqual([{ t: 0, flags: ACK, seq: 64002, ack: guestIsn + 44, win: 65535, mss: 0, len: 0 }]);
  });

  it('guest FIN: host shut down at once, ACK 2 ms later; host EOF: FIN after the poll round; last ACK frees it', () => {
    const { engine, out, t, seg, host, guestIsn, forgotten } = setup();
    t.hostConnected();
    t.input(seg(ACK, guestIsn + 1, 64002));
    out.length = 0;
    t.input(seg(FIN | ACK, guestIsn + 1, 64002));
    expect([host.shut, host.closed]).toEqual([1, 0]);
    expect(out).toEqual([]);
    expect(t.state).toBe('CLOSE_WAIT');
    engine.after(0.1 * MS, () => t.hostEof());
    engine.run(10 * MS);
    expect(out.map((o) => [o.t / MS, o.flags, o.ack - guestIsn])).toEqual([
      [2, ACK, 2],
      [2.1, FIN | ACK, 2],
    ]);
    expect(t.state).toBe('LAST_ACK');
    t.input(seg(ACK, guestIsn + 2, 64003));
    expect(t.state).toBe('CLOSED');
    expect(host.closed).toBe(1);
    expect(forgotten()).toBe(true);
  });

  it('unacknowledged data is sent again after 6 s, then 12 s later', () => {
    const { engine, out, t, seg, guestIsn } = setup();
    t.hostConnected();
    t.input(seg(ACK, guestIsn + 1, 64002));
    out.length = 0;
    t.fromHost(new Uint8Array(10));
    engine.run(20e9);
    expect(out.map((o) => [o.t / 1e9, o.seq - 64002, o.len])).toEqual([
      [0, 0, 10],
      [6, 0, 10],
      [18, 0, 10],
    ]);
  });

  it('RST from the guest closes the host socket (nothing unread: no RST from the host); a host reset sends RST|ACK', () => {
    const a = setup();
    a.t.hostConnected();
    a.t.input(a.seg(ACK, a.guestIsn + 1, 64002));
    a.t.input(a.seg(RST, a.guestIsn + 1, 0));
    expect(a.host.closed).toBe(1);
    expect(a.t.state).toBe('CLOSED');
    // A Linux guest that closed with unread data resets with the sequence before its FIN: accepted.
    const c = setup();
    c.t.hostConnected();
    c.t.input(c.seg(ACK, c.guestIsn + 1, 64002));
    c.t.input(c.seg(FIN | ACK, c.guestIsn + 1, 64002));
    c.t.input(c.seg(RST, c.guestIsn + 1, 0));
    expect(c.t.state).toBe('CLOSED');
    // One beyond the window is not.
    const d = setup();
    d.t.hostConnected();
    d.t.input(d.seg(ACK, d.guestIsn + 1, 64002));
    d.t.input(d.seg(RST, d.guestIsn + 1 + 70000, 0));
    expect(d.t.state).toBe('ESTABLISHED');
    const b = setup();
    b.t.hostConnected();
    b.t.input(b.seg(ACK, b.guestIsn + 1, 64002));
    b.out.length = 0;
    b.t.hostReset();
    expect(b.out.map((o) => [o.flags, o.seq, o.ack - b.guestIsn])).toEqual([[RST | ACK, 64002, 1]]);
  });
});
