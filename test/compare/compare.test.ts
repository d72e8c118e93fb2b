// wirebox compare on the real captures: each matches itself; single edits (TTL, a TCP option, a payload
// byte) are found and named by frame and field; a NAT that remaps a port differs from one that keeps it;
// consistent changes of everything that differs between honest runs still match; what is ignored by
// default is seen with the flags; one extra frame is one difference; flows interleaving differently
// in time are no difference, reordering inside a flow is.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { runCompare } from '../../src/cli/compare.js';
import type { Difference, FileReport } from '../../src/compare/index.js';
import { copyScenario, dv, eachFrame, fixture, FIXTURES, getMac, records, SCENARIOS, setMac, tcpOptionOffset, tempDir, writePcap, writePcapng, type Rec } from './helpers.js';

function fieldDiffs(f: FileReport): Extract<Difference, { kind: 'field' }>[] {
  return f.differences.filter((d): d is Extract<Difference, { kind: 'field' }> => d.kind === 'field');
}

/** A copy of one fixture file with `edit` applied, under the same name in a fresh folder. */
function editedCopy(scenario: string, file: string, edit: (recs: Rec[]) => Rec[]): string {
  const dir = tempDir('edit');
  return writePcap(join(dir, file), edit(records(fixture(scenario, file))));
}

describe('a capture compared with itself', () => {
  for (const s of SCENARIOS) {
    it(`${s}: every file matches, every frame identical`, () => {
      const r = runCompare([join(FIXTURES, s), join(FIXTURES, s)]);
      expect(r.code).toBe(0);
      expect(r.report.verdict).toBe('match');
      expect(r.report.files.length).toBeGreaterThan(2);
      for (const f of r.report.files) {
        expect(f.verdict).toBe('match');
        expect(f.framesIdentical).toBe(f.framesA);
        expect(f.fieldsMatched).toBe(f.fieldsCompared);
        expect(f.fieldsCompared).toBeGreaterThan(0);
      }
      expect(r.text.trimEnd().split('\n').at(-1)).toMatch(/^match: /);
    });
  }
});

describe('single edits are found and named', () => {
  const orig = fixture('nat-basic', 'dh.eth0.pcap');

  it('a TTL changed in one frame', () => {
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => {
      recs[4]!.data[22] = 62; // frame 5: the SYN leaving with TTL 63
      return recs;
    });
    const r = runCompare([orig, copy]);
    expect(r.code).toBe(1);
    const f = r.report.files[0]!;
    expect(f.differences).toEqual([{ kind: 'field', frameA: 5, frameB: 5, field: 'ipv4.ttl', a: '63', b: '62' }]);
    expect(r.text).toContain('dh.eth0.pcap frame 5 (A) / 5 (B): ipv4.ttl: 63 ≠ 62');
    expect(f.framesIdentical).toBe(f.framesA - 1);
    expect(r.text.trimEnd().split('\n').at(-1)).toMatch(/^differ: 1 of 1 file/);
  });

  it('a TCP option changed (MSS of the SYN-ACK)', () => {
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) =>
      eachFrame(recs, (f, r, i) => {
        if (i !== 5) return;
        const at = tcpOptionOffset(f, 2);
        dv(r).setUint16(at + 2, 1400);
      }),
    );
    const r = runCompare([orig, copy]);
    expect(r.code).toBe(1);
    expect(r.report.files[0]!.differences).toEqual([{ kind: 'field', frameA: 6, frameB: 6, field: 'tcp.opt.mss', a: '1460', b: '1400' }]);
  });

  it('the TCP options in another order', () => {
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) =>
      eachFrame(recs, (f, r, i) => {
        if (i !== 4) return;
        // SYN options: mss(4) sackOK(2) TS(10) nop wscale(3) → sackOK first, then mss
        const at = tcpOptionOffset(f, 2);
        r.data.set([4, 2, 2, 4, 0x05, 0xb4], at);
      }),
    );
    const d = fieldDiffs(runCompare([orig, copy]).report.files[0]!);
    expect(d.map((x) => [x.frameA, x.field])).toEqual([[5, 'tcp.options']]);
    expect(d[0]!.a).toBe('mss,sack-permitted,timestamps,nop,wscale');
    expect(d[0]!.b).toBe('sack-permitted,mss,timestamps,nop,wscale');
  });

  it('one payload byte changed', () => {
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) =>
      eachFrame(recs, (f, r, i) => {
        if (i !== 7) return; // frame 8: the request, 43 bytes
        const t = f.transport!;
        if (t.kind !== 'tcp') throw new Error('frame 8 is TCP');
        r.data[t.offset + t.headerLen + 4] = 0x58;
      }),
    );
    const r = runCompare([orig, copy]);
    expect(r.code).toBe(1);
    expect(r.report.files[0]!.differences).toEqual([
      { kind: 'field', frameA: 8, frameB: 8, field: 'tcp.payload', a: '43 bytes, byte 4 = 0x2f', b: '43 bytes, byte 4 = 0x58' },
    ]);
  });
});

/** Rewrite a TCP port in both directions of every frame that carries it. */
function remapPort(recs: Rec[], from: number, to: number): Rec[] {
  return eachFrame(recs, (f, r) => {
    const t = f.transport;
    if (t === null || (t.kind !== 'tcp' && t.kind !== 'udp')) return;
    const v = dv(r);
    if (t.repr.srcPort === from) v.setUint16(t.offset, to);
    if (t.repr.dstPort === from) v.setUint16(t.offset + 2, to);
  });
}

describe('ports through NAT', () => {
  it('a NAT that remaps the source port differs from one that keeps it', () => {
    const dir = copyScenario('nat-basic', tempDir('remap'), (file, recs) => (file === 'dh.eth0.pcap' || file === 'server.eth0.pcap' ? remapPort(recs, 35952, 40001) : recs));
    const r = runCompare([join(FIXTURES, 'nat-basic'), dir]);
    expect(r.code).toBe(1);
    const byKey = new Map(r.report.files.map((f) => [f.key, f]));
    expect(byKey.get('ct.eth0')!.verdict).toBe('match');
    expect(byKey.get('dh.docker0')!.verdict).toBe('match');
    const dh = fieldDiffs(byKey.get('dh.eth0')!);
    expect(dh[0]).toMatchObject({ frameA: 5, frameB: 5, field: 'tcp.srcPort', a: 'P1 (35952)' });
    expect(dh[0]!.b).toMatch(/^P\d \(40001\) \[A's P1 \(35952\) is B's P1 \(35952\) elsewhere\]$/);
    expect(byKey.get('server.eth0')!.verdict).toBe('differ');
    expect(r.text).toContain('dh.eth0.pcap frame 5 (A) / 5 (B): tcp.srcPort: P1 (35952) ≠ ');
  });

  it('the same port renumbered on every interface is the same structure', () => {
    const dir = copyScenario('nat-basic', tempDir('renum'), (_, recs) => remapPort(recs, 35952, 40001));
    expect(runCompare([join(FIXTURES, 'nat-basic'), dir]).code).toBe(0);
  });
});

/**
 * Everything that differs between two honest runs, changed consistently across the four files of
 * nat-basic: MACs (header and ARP), ephemeral ports, the ICMP echo id, TCP ISNs (seq and the peer's ack,
 * per direction), TCP timestamps (TSval and the peer's TSecr), IP ids, and ping's timeval.
 */
function honestRerun(recs: Rec[]): Rec[] {
  const macs = new Map<number, number>();
  const mac = (m: number): number => {
    if (m === 0 || m === 0xffffffffffff || Math.floor(m / 0x10000000000) % 2 === 1) return m;
    if (!macs.has(m)) macs.set(m, 0x0e0000000000 + ((m * 7919) % 0xffffff));
    return macs.get(m)!;
  };
  const isnShift = { client: 0x12345678, server: 0x9abcdef0 };
  const tsShift = { client: 1_000_000, server: 77 };
  return eachFrame(recs, (f, r) => {
    const v = dv(r);
    setMac(r, 0, mac(getMac(r, 0)));
    setMac(r, 6, mac(getMac(r, 6)));
    const n = f.network;
    if (n?.kind === 'arp') {
      setMac(r, n.offset + 8, mac(getMac(r, n.offset + 8)));
      setMac(r, n.offset + 18, mac(getMac(r, n.offset + 18)));
      return;
    }
    if (n?.kind !== 'ipv4') return;
    v.setUint16(n.offset + 4, (n.repr.id * 31 + 1234) & 0xffff);
    const t = f.transport;
    if (t === null) return;
    if (t.kind === 'icmpv4') {
      if (t.repr.ident === 18782) v.setUint16(t.offset + 4, 4242);
      v.setUint32(t.offset + 8, 0x01020304); // ping's timeval
      return;
    }
    if (t.kind === 'udp') {
      if (t.repr.srcPort === 57817) v.setUint16(t.offset, 33000);
      if (t.repr.dstPort === 57817) v.setUint16(t.offset + 2, 33000);
      return;
    }
    if (t.kind !== 'tcp') return;
    const fromClient = t.repr.dstPort === 8000;
    const [mine, peer] = fromClient ? (['client', 'server'] as const) : (['server', 'client'] as const);
    if (t.repr.srcPort === 35952) v.setUint16(t.offset, 50505);
    if (t.repr.dstPort === 35952) v.setUint16(t.offset + 2, 50505);
    v.setUint32(t.offset + 4, (t.repr.seq + isnShift[mine]) >>> 0);
    if (t.repr.flags & 0x10) v.setUint32(t.offset + 8, (t.repr.ack + isnShift[peer]) >>> 0);
    const ts = tcpOptionOffset(f, 8);
    if (ts >= 0) {
      v.setUint32(ts + 2, (v.getUint32(ts + 2) + tsShift[mine]) >>> 0);
      const ecr = v.getUint32(ts + 6);
      if (ecr !== 0) v.setUint32(ts + 6, (ecr + tsShift[peer]) >>> 0);
    }
  });
}

describe('addresses', () => {
  it('a missing MASQUERADE shows as address differences of the aligned frames, not as lost frames', () => {
    // dh.eth0 with the container's own address on the TCP flow, as if the host had not translated it
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) =>
      eachFrame(recs, (f, r) => {
        if (f.transport?.kind !== 'tcp' || f.network?.kind !== 'ipv4') return;
        const v = dv(r);
        const at = f.network.offset;
        if (f.network.repr.src === 0xc633640a) v.setUint32(at + 12, 0xac110002);
        if (f.network.repr.dst === 0xc633640a) v.setUint32(at + 16, 0xac110002);
      }),
    );
    const f = runCompare([fixture('nat-basic', 'dh.eth0.pcap'), copy]).report.files[0]!;
    expect(f.differences.every((d) => d.kind === 'field')).toBe(true);
    expect(f.framesAligned).toBe(16);
    expect(fieldDiffs(f)[0]).toEqual({ kind: 'field', frameA: 5, frameB: 5, field: 'ipv4.src', a: '198.51.100.10', b: '172.17.0.2' });
    expect(fieldDiffs(f)).toHaveLength(10);
  });
});

describe('normalisation absorbs what differs between honest runs', () => {
  it('MACs, ports, ISNs, timestamps, ICMP ids and IP ids changed consistently: still a match', () => {
    const dir = copyScenario('nat-basic', tempDir('honest'), (_, recs) => honestRerun(recs));
    const r = runCompare([join(FIXTURES, 'nat-basic'), dir]);
    expect(r.text).toMatch(/^match: /m);
    expect(r.code).toBe(0);
    // and the copy really differs literally: with fixed MACs and strict IP ids it does not match
    const fixed = runCompare([join(FIXTURES, 'nat-basic'), dir], { fixedMacs: true });
    expect(fixed.code).toBe(1);
    expect(fixed.report.files.flatMap(fieldDiffs).some((d) => d.field === 'eth.src')).toBe(true);
    const strict = runCompare([join(FIXTURES, 'nat-basic'), dir], { strict: true });
    expect(strict.report.files.flatMap(fieldDiffs).some((d) => d.field === 'ipv4.id')).toBe(true);
  });

  it('a MAC used where the other side used two different ones is a difference', () => {
    // dh.eth0: the server's replies come from a second MAC in the copy
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) =>
      eachFrame(recs, (f, r, i) => {
        if (i >= 8 && getMac(r, 6) === 0x525400aa0001) setMac(r, 6, 0x525400aa0099);
      }),
    );
    const r = runCompare([fixture('nat-basic', 'dh.eth0.pcap'), copy]);
    expect(r.code).toBe(1);
    const d = fieldDiffs(r.report.files[0]!);
    expect(d[0]).toMatchObject({
      frameA: 9,
      field: 'eth.src',
      a: 'M2 (52:54:00:aa:00:01)',
      b: "M3 (52:54:00:aa:00:99) [A's M2 (52:54:00:aa:00:01) is B's M2 (52:54:00:aa:00:01) elsewhere]",
    });
  });
});

describe('ignored by default, seen with the flags', () => {
  it('trailing ARP refreshes', () => {
    const copy = editedCopy('publish', 'client.eth0.pcap', (recs) => recs.slice(0, -2));
    const orig = fixture('publish', 'client.eth0.pcap');
    const r = runCompare([orig, copy]);
    expect(r.code).toBe(0);
    expect(r.report.files[0]!.ignoredA).toBe(2);
    const kept = runCompare([orig, copy], { keepArpRefresh: true });
    expect(kept.code).toBe(1);
    expect(kept.report.files[0]!.differences.map((d) => [d.kind, d.kind === 'only-a' ? d.frameA : 0])).toEqual([
      ['only-a', 17],
      ['only-a', 18],
    ]);
    expect(kept.text).toContain('client.eth0.pcap frame 17 (A): only in A: ARP, Request who-has 198.51.100.1 tell 198.51.100.10');
  });

  it('IGMP', () => {
    const copy = editedCopy('nat-basic', 'ct.eth0.pcap', (recs) => recs.slice(1));
    const orig = fixture('nat-basic', 'ct.eth0.pcap');
    expect(runCompare([orig, copy]).code).toBe(0);
    const kept = runCompare([orig, copy], { keepIgmp: true });
    expect(kept.code).toBe(1);
    expect(kept.report.files[0]!.differences).toEqual([{ kind: 'only-a', frameA: 1, summary: expect.stringContaining('igmp') }]);
  });

  it('IPv6', () => {
    const orig = records(fixture('nat-basic', 'dh.eth0.pcap'));
    const v6 = new Uint8Array(14 + 40);
    v6.set(orig[0]!.data.subarray(6, 12), 6);
    v6.set([0x33, 0x33, 0, 0, 0, 2], 0);
    v6[12] = 0x86;
    v6[13] = 0xdd;
    v6[14] = 0x60;
    const dir = tempDir('v6');
    const copy = writePcap(join(dir, 'dh.eth0.pcap'), [{ timeNs: 0, data: v6 }, ...orig]);
    expect(runCompare([fixture('nat-basic', 'dh.eth0.pcap'), copy]).code).toBe(0);
    const kept = runCompare([fixture('nat-basic', 'dh.eth0.pcap'), copy], { keepIpv6: true });
    expect(kept.report.files[0]!.differences).toEqual([{ kind: 'only-b', frameB: 1, summary: expect.stringContaining('IPv6') }]);
  });
});

describe('alignment', () => {
  const orig = fixture('nat-basic', 'dh.eth0.pcap');

  it('one extra frame is one difference, not a cascade', () => {
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => [...recs.slice(0, 8), { ...recs[7]!, data: recs[7]!.data.slice() }, ...recs.slice(8)]);
    const r = runCompare([orig, copy]);
    expect(r.code).toBe(1);
    const f = r.report.files[0]!;
    expect(f.differences).toHaveLength(1);
    expect(f.differences[0]).toMatchObject({ kind: 'only-b' });
    expect(f.framesIdentical).toBe(16);
  });

  it('one missing frame is one difference', () => {
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => [...recs.slice(0, 9), ...recs.slice(10)]);
    const f = runCompare([orig, copy]).report.files[0]!;
    expect(f.differences).toEqual([{ kind: 'only-a', frameA: 10, summary: expect.stringContaining('Flags [P.]') }]);
  });

  it('flows interleaved differently in time are no difference', () => {
    // the UDP exchange (frames 15-16) and the ping (3-4) moved before everything else
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => [recs[14]!, recs[15]!, ...recs.slice(0, 14)]);
    const r = runCompare([orig, copy]);
    expect(r.text).toMatch(/^match/m);
    expect(r.code).toBe(0);
  });

  it('reordering inside a flow is a difference', () => {
    // the client's request and the server's ACK of it swapped
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => [...recs.slice(0, 7), recs[8]!, recs[7]!, ...recs.slice(9)]);
    expect(runCompare([orig, copy]).code).toBe(1);
  });
});

describe('inputs', () => {
  it('folders are paired by file name; a file on one side only is reported', () => {
    const dir = copyScenario('nat-basic', tempDir('names'));
    const b = tempDir('names-b');
    copyScenario('nat-basic', b);
    // B: server.eth0 missing, an extra file
    rmSync(join(b, 'server.eth0.pcap'));
    writePcap(join(b, 'extra.eth0.pcap'), records(fixture('nat-basic', 'server.eth0.pcap')));
    const r = runCompare([dir, b]);
    expect(r.code).toBe(1);
    const verdicts = Object.fromEntries(r.report.files.map((f) => [f.key, f.verdict]));
    expect(verdicts).toEqual({ 'ct.eth0': 'match', 'dh.docker0': 'match', 'dh.eth0': 'match', 'server.eth0': 'only-a', 'extra.eth0': 'only-b' });
    expect(r.text).toContain('server.eth0.pcap: only in A');
    expect(r.text).toContain('extra.eth0.pcap: only in B');
  });

  it('a pcapng with several named interfaces is matched by interface name', () => {
    const b = tempDir('ng');
    writePcapng(join(b, 'nat-basic.pcapng'), [
      { name: 'dh.eth0', recs: records(fixture('nat-basic', 'dh.eth0.pcap')) },
      { name: 'ct.eth0', recs: records(fixture('nat-basic', 'ct.eth0.pcap')) },
      { name: 'dh.docker0', recs: records(fixture('nat-basic', 'dh.docker0.pcap')) },
    ]);
    writePcap(join(b, 'server.eth0.pcap'), records(fixture('nat-basic', 'server.eth0.pcap')));
    const r = runCompare([join(FIXTURES, 'nat-basic'), b]);
    expect(r.report.files.map((f) => [f.key, f.verdict, f.labelB])).toEqual([
      ['ct.eth0', 'match', 'nat-basic.pcapng#ct.eth0'],
      ['dh.docker0', 'match', 'nat-basic.pcapng#dh.docker0'],
      ['dh.eth0', 'match', 'nat-basic.pcapng#dh.eth0'],
      ['server.eth0', 'match', 'server.eth0.pcap'],
    ]);
    expect(r.code).toBe(0);
  });

  it('explicit pairs A=B, with different names on each side', () => {
    const b = tempDir('pairs');
    mkdirSync(join(b, 'real'));
    const vg = writePcap(join(b, 'real', 'vg.tap0.pcap'), records(fixture('vm-nat', 'vg.tap0.pcap')));
    const r = runCompare([`${fixture('vm-nat', 'vg.tap0.pcap')}=${vg}`, `${fixture('vm-nat', 'vh.eth0.pcap')}=${fixture('vm-nat', 'vh.eth0.pcap')}`]);
    expect(r.code).toBe(0);
    expect(r.report.files).toHaveLength(2);
    // a pair whose sides differ
    const d = runCompare([`${fixture('nat-basic', 'dh.eth0.pcap')}=${fixture('vm-nat', 'vh.eth0.pcap')}`]);
    expect(d.code).toBe(1);
    expect(d.text).toContain('ipv4.ttl: 63 ≠ 64');
  });

  it('two folders with captures paired under other names (NAME_A=NAME_B)', () => {
    const emu = tempDir('rename');
    writePcap(join(emu, 'vg.eth0.pcap'), records(fixture('vm-nat', 'vg.tap0.pcap')));
    writePcap(join(emu, 'vh.eth0.pcap'), records(fixture('vm-nat', 'vh.eth0.pcap')));
    writePcap(join(emu, 'server.eth0.pcap'), records(fixture('vm-nat', 'server.eth0.pcap')));
    const real = join(FIXTURES, 'vm-nat');
    const plain = runCompare([emu, real]);
    expect(plain.code).toBe(1);
    expect(plain.report.files.filter((f) => f.verdict !== 'match').map((f) => [f.key, f.verdict])).toEqual([
      ['vg.eth0', 'only-a'],
      ['vg.tap0', 'only-b'],
    ]);
    const r = runCompare([emu, real, 'vg.eth0=vg.tap0.pcap']);
    expect(r.code).toBe(0);
    expect(r.text).toContain('vg.eth0.pcap=vg.tap0.pcap: match');
    expect(() => runCompare([emu, real, 'vg.eth1=vg.tap0'])).toThrow(/no capture vg.eth1/);
  });

  it('--json gives the report as data', () => {
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => {
      recs[4]!.data[22] = 62;
      return recs;
    });
    const r = runCompare([fixture('nat-basic', 'dh.eth0.pcap'), copy], { json: true });
    const j = JSON.parse(r.text);
    expect(j.verdict).toBe('differ');
    expect(j.files[0].differences[0]).toEqual({ kind: 'field', frameA: 5, frameB: 5, field: 'ipv4.ttl', a: '63', b: '62' });
  });

  it('the human report is short unless --all', () => {
    const r = runCompare([fixture('nat-basic', 'ct.eth0.pcap'), fixture('vm-nat', 'vg.tap0.pcap')]);
    const n = r.report.files[0]!.differences.length;
    expect(n).toBeGreaterThan(10);
    expect(r.text.split('\n').filter((l) => l.includes(' frame ')).length).toBe(10);
    expect(r.text).toContain(`${n - 10} more differences`);
    const all = runCompare([fixture('nat-basic', 'ct.eth0.pcap'), fixture('vm-nat', 'vg.tap0.pcap')], { all: true });
    expect(all.text.split('\n').filter((l) => l.includes(' frame ')).length).toBe(n);
  });
});

describe('--checksums', () => {
  it('partial offload checksums are noted, not errors; a bad one is a difference', () => {
    const orig = fixture('nat-basic', 'ct.eth0.pcap');
    const same = runCompare([orig, orig], { checksums: true });
    expect(same.code).toBe(0);
    expect(same.report.files[0]!.notes.join()).toMatch(/partial checksum/);
    const copy = editedCopy('nat-basic', 'ct.eth0.pcap', (recs) => {
      recs[3]!.data[24] ^= 0xff; // frame 4: IPv4 header checksum
      return recs;
    });
    expect(runCompare([orig, copy]).code).toBe(0);
    const r = runCompare([orig, copy], { checksums: true });
    expect(r.code).toBe(1);
    expect(r.report.files[0]!.differences).toEqual([{ kind: 'checksum', side: 'b', frame: 4, field: 'ipv4.checksum', found: expect.any(Number), expected: expect.any(Number) }]);
    expect(r.text).toMatch(/frame 4 \(B\): ipv4.checksum bad: 0x[0-9a-f]{4}, should be 0x[0-9a-f]{4}/);
  });
});

describe('windows and IP ids', () => {
  const orig = fixture('nat-basic', 'dh.eth0.pcap');
  const setWindow = (index: number, w: number) => (recs: Rec[]) =>
    eachFrame(recs, (f, r, i) => {
      if (i === index) dv(r).setUint16(f.transport!.offset + 14, w);
    });

  it('the window after the handshake only with --strict; the SYN window always', () => {
    const after = editedCopy('nat-basic', 'dh.eth0.pcap', setWindow(6, 500)); // frame 7: the client's ACK
    expect(runCompare([orig, after]).code).toBe(0);
    const strict = runCompare([orig, after], { strict: true });
    expect(fieldDiffs(strict.report.files[0]!)).toEqual([{ kind: 'field', frameA: 7, frameB: 7, field: 'tcp.window', a: '63', b: '500' }]);
    const syn = editedCopy('nat-basic', 'dh.eth0.pcap', setWindow(4, 29200)); // frame 5: the SYN
    expect(fieldDiffs(runCompare([orig, syn]).report.files[0]!)).toEqual([{ kind: 'field', frameA: 5, frameB: 5, field: 'tcp.window', a: '64240', b: '29200' }]);
  });

  it('--strict: IP ids as a pattern per flow direction', () => {
    // frame 8 (the client's second segment, id +1 after frame 7) jumps by 5
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) =>
      eachFrame(recs, (f, r, i) => {
        if (i === 7) dv(r).setUint16(f.network!.offset + 4, (f.network!.kind === 'ipv4' ? f.network!.repr.id : 0) + 5);
      }),
    );
    expect(runCompare([orig, copy]).code).toBe(0);
    const d = fieldDiffs(runCompare([orig, copy], { strict: true }).report.files[0]!).filter((x) => x.field === 'ipv4.id');
    expect(d.map((x) => [x.frameA, x.a, x.b])).toEqual([
      [8, '+1 (36544)', '+6 (36549)'],
      [11, '+1 (36545)', '+65532 (36545)'],
    ]);
  });

  it('--strict: a packet keeps its IP id on every interface it crosses', () => {
    // the outside interfaces see other ids for the client's TCP segments (same +1 pattern): as if NAT
    // had rewritten them
    const dir = copyScenario('nat-basic', tempDir('ids'), (file, recs) =>
      file === 'dh.eth0.pcap' || file === 'server.eth0.pcap'
        ? eachFrame(recs, (f, r) => {
            if (f.transport?.kind === 'tcp' && f.transport.repr.dstPort === 8000 && f.network?.kind === 'ipv4') dv(r).setUint16(f.network.offset + 4, f.network.repr.id + 1000);
          })
        : recs,
    );
    expect(runCompare([join(FIXTURES, 'nat-basic'), dir]).code).toBe(0);
    const strict = runCompare([join(FIXTURES, 'nat-basic'), dir], { strict: true });
    expect(strict.code).toBe(1);
    const d = strict.report.files.flatMap(fieldDiffs);
    expect(new Set(d.map((x) => x.field))).toEqual(new Set(['ipv4.id.interfaces']));
    expect(d[0]).toMatchObject({ a: '4', b: '2' });
  });
});

describe('TCP timestamps', () => {
  const orig = fixture('nat-basic', 'dh.eth0.pcap');
  const shiftTs = (recs: Rec[], from: number, valDelta: number, ecrDelta: number): Rec[] =>
    eachFrame(recs, (f, r, i) => {
      const at = tcpOptionOffset(f, 8);
      if (i < from || at < 0 || f.transport?.kind !== 'tcp') return;
      const v = dv(r);
      if (f.transport.repr.dstPort === 8000) v.setUint32(at + 2, v.getUint32(at + 2) + valDelta);
      else v.setUint32(at + 6, v.getUint32(at + 6) + ecrDelta);
    });

  it('a millisecond tick falling elsewhere is no difference by default, but is with --strict', () => {
    // from the handshake's ACK on, the client's clock is one tick later (and the server echoes that)
    const copy = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => shiftTs(recs, 6, 1, 1));
    expect(runCompare([orig, copy]).code).toBe(0);
    const strict = fieldDiffs(runCompare([orig, copy], { strict: true }).report.files[0]!);
    expect(strict[0]).toMatchObject({ frameA: 7, field: 'tcp.opt.ts.val', a: '0', b: '1' });
  });

  it('a clock going back, or a TSecr that echoes nothing sent, is a difference', () => {
    const back = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => shiftTs(recs, 10, -5, 0));
    const d = fieldDiffs(runCompare([orig, back]).report.files[0]!);
    expect(d[0]).toMatchObject({ field: 'tcp.opt.ts.val', a: 'not decreasing (+0)', b: 'decreasing (-5)' });
    const echo = editedCopy('nat-basic', 'dh.eth0.pcap', (recs) => shiftTs(recs, 9, 0, 3));
    const e = fieldDiffs(runCompare([orig, echo]).report.files[0]!);
    expect(e[0]).toMatchObject({ frameA: 10, field: 'tcp.opt.ts.ecr', a: 'echoes latest (+0)', b: 'echoes other (+3)' });
  });
});
