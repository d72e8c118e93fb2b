// The relay service (`forward:`), as moby's docker-proxy behaves: a fresh connection to the backend per
// accepted one, bytes copied both ways, a half-close passed through (the backend may still answer after
// the client's FIN), a backend that refuses closes the client; UDP flows per client, answers from the
// address the client asked at.

import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { World } from '../../src/world/world.js';
import { startRelay } from '../../src/world/relay.js';
import { formatIpv4, parseIpv4 } from '../../src/wire/addr.js';
import type { TcpConnection } from '../../src/sockets/tcp.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function threeHosts() {
  const w = new World({ seed: 3 });
  const lan = w.wire('lan');
  const client = w.namespace('client');
  const relay = w.namespace('relay');
  const backend = w.namespace('backend');
  client.nic('eth0', lan, { mac: '02:00:00:00:00:01', addrs: ['192.0.2.1/24'] });
  relay.nic('eth0', lan, { mac: '02:00:00:00:00:02', addrs: ['192.0.2.2/24', '192.0.2.22/24'] });
  backend.nic('eth0', lan, { mac: '02:00:00:00:00:03', addrs: ['192.0.2.3/24'] });
  return { w, client, relay, backend };
}

const svc = (proto: 'tcp' | 'udp', port: number, forward: string) => {
  const c = forward.lastIndexOf(':');
  return { node: 'relay', name: `${proto}/${port}`, proto, port, bind: '0.0.0.0', reply: null, echo: false, reuseport: false, forward: { ip: forward.slice(0, c), port: Number(forward.slice(c + 1)) } };
};

describe('relay service', () => {
  it('passes a half-close through: the backend reads EOF, still answers, then both sides close', () => {
    const { w, client, relay, backend } = threeHosts();
    const seenByBackend: string[] = [];
    let backendFrom = '';
    backend.tcp.listen({ addr: 0, port: 80 }, (conn) => {
      backendFrom = formatIpv4(conn.raddr);
      conn.handlers = {
        onData: (b) => seenByBackend.push(dec.decode(b)),
        onPeerClose: (c) => {
          seenByBackend.push('EOF');
          c.send(enc.encode('answer after EOF'));
          c.close();
        },
      };
    });
    const stats = startRelay(relay, svc('tcp', 8080, '192.0.2.3:80'));
    const got: string[] = [];
    let closed = false;
    w.engine.at(0, () =>
      client.tcp.connect({ dst: parseIpv4('192.0.2.2'), dport: 8080 }, {
        onConnect: (c: TcpConnection) => {
          c.send(enc.encode('request'));
          c.shutdown();
        },
        onData: (b) => got.push(dec.decode(b)),
        onPeerClose: (c) => {
          got.push('EOF');
          c.close();
        },
        onClose: () => (closed = true),
      }),
    );
    w.run();
    expect(stats.accepted).toBe(1);
    expect(seenByBackend).toEqual(['request', 'EOF']);
    expect(got).toEqual(['answer after EOF', 'EOF']);
    expect(closed).toBe(true);
    expect(backendFrom).toBe('192.0.2.2'); // a fresh connection from the relay, not the client's packets
    expect(relay.tcp.connections().filter((c) => c.state !== 'TIME_WAIT' && c.state !== 'CLOSED')).toEqual([]);
  });

  it('a refused backend closes the client connection', () => {
    const { w, client, relay } = threeHosts();
    const stats = startRelay(relay, svc('tcp', 8080, '192.0.2.3:81'));
    const events: string[] = [];
    w.engine.at(0, () =>
      client.tcp.connect({ dst: parseIpv4('192.0.2.2'), dport: 8080 }, {
        onConnect: () => events.push('connected'),
        onPeerClose: (c) => {
          events.push('EOF');
          c.close();
        },
        onError: (r) => events.push(r),
      }),
    );
    w.run();
    expect(stats.dialFailed).toBe(1);
    expect(events).toEqual(['connected', 'EOF']);
  });

  it('UDP: one backend socket per client port, answers from the address the client asked at', () => {
    const { w, client, relay, backend } = threeHosts();
    const backendSaw: string[] = [];
    backend.host.udp.bind({ port: 53 }, (data, from, port, reply) => {
      backendSaw.push(`${formatIpv4(from)}:${port}`);
      reply(data);
    });
    const stats = startRelay(relay, svc('udp', 5353, '192.0.2.3:53'));
    const answers: string[] = [];
    w.engine.at(0, () => {
      for (const [sport, dst] of [[1111, '192.0.2.22'], [1111, '192.0.2.22'], [2222, '192.0.2.2']] as const) {
        const c = client.host.udp.bind({ port: sport, reuseaddr: true }, (d, from) => answers.push(`${sport} ${dec.decode(d)} from ${formatIpv4(from)}`));
        c.send(`q${sport}`, dst, 5353);
        w.engine.after(1e6, () => c.close());
      }
    });
    w.run();
    expect(stats.flows).toBe(2);
    expect(new Set(backendSaw).size).toBe(2);
    expect(backendSaw.every((s) => s.startsWith('192.0.2.2:'))).toBe(true);
    expect(answers.sort()).toEqual(['1111 q1111 from 192.0.2.22', '1111 q1111 from 192.0.2.22', '2222 q2222 from 192.0.2.2']);
  });

  it('a relay takes no reply or echo', () => {
    const text = (extra: string) => `version: 1\nhosts:\n  a:\n    services:\n      - { tcp: 80, forward: "192.0.2.1:80"${extra} }\n`;
    expect(parseScenario(text(''), 's.yaml').hosts[0]!.services[0]!.forward).toEqual({ ip: '192.0.2.1', port: 80 });
    expect(() => parseScenario(text(', reply: "x"'), 's.yaml')).toThrow(ScenarioError);
    expect(() => parseScenario(text(', echo: true'), 's.yaml')).toThrow(/relay service \(forward:\) takes no echo/);
    expect(() => parseScenario(`version: 1\nhosts:\n  a:\n    services:\n      - { tcp: 80, forward: "web:80" }\n`, 's.yaml')).toThrow(/an address and port like/);
  });
});
