// Payloads (`send`/`reply` as a string, { size } or { hex }) and TCP clients that read the whole reply:
// a 1 MB reply arrives whole and the connection ends with FINs, not RSTs; keep-alive repeats the
// exchange on one connection; an entry that gets fewer bytes than expected fails.

import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { parseSize } from '../../src/scenario/values.js';
import { payloadChunk, payloadLength } from '../../src/wire/payload.js';
import { frames, lan, runYaml } from './helpers.js';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;

function tcpFrames(caps: Parameters<typeof frames>[0], name: string) {
  return frames(caps, name).flatMap((f) => (f.transport?.kind === 'tcp' ? [{ f, t: f.transport }] : []));
}

describe('payload values', () => {
  it('sizes take decimal and binary units, hex takes pairs', () => {
    expect(parseSize(1500)).toBe(1500);
    expect(parseSize('1500B')).toBe(1500);
    expect(parseSize('64KiB')).toBe(65536);
    expect(parseSize('1.5MB')).toBe(1_500_000);
    expect(parseSize('1GiB')).toBe(2 ** 30);
    expect(parseSize('1.5B')).toBeNull();
    expect(parseSize('10 kb')).toBeNull();
    const s = parseScenario(lan('[ { tcp: 80, reply: { hex: "de ad be ef" } } ]', '  - { from: client, tcp: "192.0.2.1:80", send: { size: 20 } }'), 't.yaml');
    expect(s.hosts[0]!.services[0]!.reply).toEqual({ hex: 'deadbeef' });
    expect(s.traffic[0]).toMatchObject({ send: { size: 20 } });
  });

  it('a sized payload is the 16-byte pattern at any offset, made piece by piece', () => {
    const p = { size: 2 ** 40 };
    expect(payloadLength(p)).toBe(2 ** 40);
    expect(new TextDecoder().decode(payloadChunk(p, 2 ** 40 - 20, 100))).toBe('cdef0123456789abcdef');
    expect(new TextDecoder().decode(payloadChunk({ size: 20 }, 0, 100))).toBe('0123456789abcdef0123');
  });

  it('bad payloads are one line with the place', () => {
    expect(() => parseScenario(lan('[ { tcp: 80, reply: { size: 10XB } } ]', '  - { from: client, ping: server }'), 't.yaml')).toThrow(
      /t\.yaml:7:\d+: hosts\.server\.services\[0\]\.reply\.size: expected a size like 1500/,
    );
    expect(() => parseScenario(lan('[ { udp: 53, echo: true } ]', '  - { from: client, udp: "192.0.2.1:53", send: { size: 70000 } }'), 't.yaml')).toThrow(
      /t\.yaml:\d+:\d+: traffic\[0\]\.send: a UDP datagram carries at most 65507 bytes, got 70000/,
    );
    expect(() => parseScenario(lan('[ { tcp: 80, reply: { hex: "abc" } } ]', '  - { from: client, ping: server }'), 't.yaml')).toThrow(/hex digits in pairs/);
  });
});

describe('TCP clients read the whole reply', () => {
  it('a 1 MB reply arrives whole; both sides close with FIN and nothing is reset', () => {
    const { summary, caps } = runYaml(lan('[ { tcp: 80, reply: { size: 1MB } } ]', '  - { from: client, tcp: "192.0.2.1:80", send: "GET / HTTP/1.0\\r\\n\\r\\n" }'));
    expect(summary.traffic[0]).toMatchObject({ result: 'ok' });
    expect(summary.traffic[0]!.detail).toMatch(/^reply 1000000 bytes "0123456789abcdef0123456789abcdef01234567…"$/);
    const tcp = tcpFrames(caps, 'client.eth0');
    expect(tcp.filter((x) => x.t.repr.flags & RST)).toEqual([]);
    expect(tcp.filter((x) => x.t.repr.flags & FIN)).toHaveLength(2);
    // every payload byte the server sent is the pattern, in order
    const fromServer = tcp.filter((x) => x.t.repr.srcPort === 80 && x.t.repr.payload.length > 0);
    const isn = fromServer[0]!.t.repr.seq;
    let total = 0;
    for (const x of fromServer) {
      const off = (x.t.repr.seq - isn) >>> 0;
      const p = x.t.repr.payload;
      for (let i = 0; i < p.length; i += 97) expect(p[i]).toBe('0123456789abcdef'.charCodeAt((off + i) & 15));
      total = Math.max(total, off + p.length);
    }
    expect(total).toBe(1_000_000);
  });

  it('echo replies as many bytes as were sent, read whole', () => {
    const { summary } = runYaml(lan('[ { tcp: 7, echo: true } ]', '  - { from: client, tcp: "192.0.2.1:7", send: { size: 300KiB } }'));
    expect(summary.traffic[0]).toMatchObject({ result: 'ok' });
    expect(summary.traffic[0]!.detail).toMatch(/^reply 307200 bytes/);
  });

  it('requests: 5 makes five exchanges on one connection (one SYN, two FINs)', () => {
    const { summary, caps } = runYaml(lan('[ { tcp: 80, reply: "HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi" } ]', '  - { from: client, tcp: "192.0.2.1:80", send: "GET / HTTP/1.1\\r\\n\\r\\n", requests: 5 }'));
    expect(summary.traffic[0]).toMatchObject({ result: 'ok' });
    expect(summary.traffic[0]!.detail).toMatch(/^5 requests, reply 200 bytes/);
    const tcp = tcpFrames(caps, 'client.eth0');
    expect(tcp.filter((x) => x.t.repr.flags & SYN)).toHaveLength(2);
    expect(tcp.filter((x) => x.t.repr.flags & FIN)).toHaveLength(2);
    expect(tcp.filter((x) => x.t.repr.srcPort === 80 && x.t.repr.payload.length > 0)).toHaveLength(5);
    expect(tcp.filter((x) => x.t.repr.dstPort === 80 && x.t.repr.payload.length > 0)).toHaveLength(5);
  });

  it('fewer bytes than expected fails the entry and says how many arrived', () => {
    const { summary } = runYaml(lan('[ { tcp: 80, reply: "short" } ]', '  - { from: client, tcp: "192.0.2.1:80", send: "x", expect: 100, timeout: 1s }'));
    expect(summary.traffic[0]).toMatchObject({ result: 'short' });
    expect(summary.traffic[0]!.detail).toMatch(/reply 5 bytes "short"; 5 of 100 bytes within 1 s/);
  });

  it('a published container port is followed to the service behind it', () => {
    const { plan } = runYaml(`version: 1
wires: { lan: {} }
hosts:
  dh:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.10/24 } }
    docker: { containers: { web: { publish: ["8080:80"], services: [ { tcp: 80, reply: { size: 2KiB } } ] } } }
  client:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.2/24 } }
traffic:
  - { from: client, tcp: "192.0.2.10:8080", send: "GET", requests: 2 }
`);
    expect(plan.traffic[0]).toMatchObject({ expectBytes: 2048, requests: 2 });
  });

  it('requests over 1 with no way to know a reply end is refused at the entry', () => {
    expect(() => runYaml(lan('[]', '  - { from: client, tcp: "192.0.2.9:80", send: "x", requests: 2 }'))).toThrow(
      /test\.yaml:\d+:\d+: traffic\[0\]: requests: 2 needs to know where one reply ends.*give expect: SIZE/,
    );
  });
});
