import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, parseScenario, ScenarioError } from '../../src/scenario/load.js';
import type { Scenario, TrafficSpec } from '../../src/scenario/types.js';
import { BUILTIN_EXAMPLE, BUILTIN_EXAMPLE_NAME } from '../../src/scenario/example.js';
import { compilePlan } from '../../src/plan/compile.js';

const root = join(import.meta.dirname, '../..');
const real = (name: string): string => join(root, 'fixtures/real-captures', name, 'scenario.yaml');

function errorOf(fn: () => unknown): ScenarioError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

/** The value part of the scenario, without positions (for whole-object comparisons). */
type NoWhere<T> = T extends (infer U)[]
  ? NoWhere<U>[]
  : T extends object
    ? { [K in keyof T as K extends 'where' | 'targetWhere' ? never : K]: NoWhere<T[K]> }
    : T;
function strip<T>(v: T): NoWhere<T> {
  return JSON.parse(JSON.stringify(v, (k, x) => (k === 'where' || k === 'targetWhere' ? undefined : x))) as NoWhere<T>;
}
/** Type-checks an expected value against the stripped type. */
const shape = <T>(v: NoWhere<T>): NoWhere<T> => v;

const HTTP = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
const GET = 'GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n';

describe('the SCENARIO.md complete example', () => {
  const md = readFileSync(join(root, 'docs/SCENARIO.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(md)![1]!;
  const s = parseScenario(yaml, 'example.yaml');

  it('loads with the documented values and defaults', () => {
    expect(strip(s)).toEqual(shape<Scenario>({
      file: 'example.yaml',
      version: 1,
      name: 'docker-bridge-nat',
      seed: 1,
      wires: [{ name: 'wan', latencyNs: 0, netem: null }],
      hosts: [
        {
          name: 'server',
          interfaces: [{ name: 'eth0', wire: 'wan', ip: ['192.0.2.1/24'], mac: '02:00:00:00:00:01', mtu: 1500, offload: true, netem: null }],
          routes: [],
          forward: false,
          nat: [],
          services: [
            { name: 'tcp/80', proto: 'tcp', port: 80, bind: '0.0.0.0', reply: 'HTTP/1.0 200 OK\r\n\r\nhi', echo: false, reuseport: false, forward: null },
            { name: 'udp/7', proto: 'udp', port: 7, bind: '0.0.0.0', reply: null, echo: true, reuseport: false, forward: null },
          ],
          docker: null,
          vms: [],
        },
        {
          name: 'dh',
          interfaces: [{ name: 'eth0', wire: 'wan', ip: ['192.0.2.10/24'], mac: '02:00:00:00:00:10', mtu: 1500, offload: true, netem: null }],
          routes: [{ to: 'default', via: '192.0.2.1', dev: null }],
          forward: true,
          nat: [],
          services: [],
          docker: {
            engine: 28, userlandProxy: true,
            networks: [],
            containers: [{ name: 'web', network: { mode: 'network', network: 'bridge' }, ip: null, mac: null, publish: [], services: [] }],
          },
          vms: [],
        },
      ],
      traffic: [
        { kind: 'ping', index: 0, atNs: 0, from: 'web', target: { kind: 'ip', ip: '192.0.2.1' }, count: 1, intervalNs: 1e9, size: 56, ttl: null },
        {
          kind: 'tcp',
          index: 1,
          atNs: 200e6,
          from: 'web',
          target: { kind: 'ip', ip: '192.0.2.1' },
          port: 80,
          send: 'GET / HTTP/1.0\r\n\r\n',
          requests: 1,
          expect: null,
          count: 1,
          intervalNs: 1e9,
          ttl: null,
          sport: null,
          bind: null,
          timeoutNs: 10e9,
        },
        {
          kind: 'udp',
          index: 2,
          atNs: 400e6,
          from: 'web',
          target: { kind: 'ip', ip: '192.0.2.1' },
          port: 7,
          send: 'ping',
          flows: 1,
          count: 1,
          intervalNs: 1e9,
          ttl: null,
          sport: null,
          bind: null,
          timeoutNs: 2e9,
        },
      ],
      capture: { interfaces: null, lo: false },
    }));
  });

  it('is the built-in example, character for character', () => {
    expect(BUILTIN_EXAMPLE).toBe(yaml);
    expect(parseScenario(BUILTIN_EXAMPLE, BUILTIN_EXAMPLE_NAME).name).toBe('docker-bridge-nat');
  });

  it('keeps positions for nodes and traffic (line of the docs block)', () => {
    const lines = yaml.split('\n');
    const web = s.hosts[1]!.docker!.containers[0]!;
    expect(lines[web.where.line - 1]!.slice(web.where.col - 1)).toMatch(/^web: /);
    expect(web.where.path).toBe('hosts.dh.docker.containers.web');
    const t = s.traffic[1]!;
    expect(t.where.path).toBe('traffic[1]');
    expect(lines[t.targetWhere.line - 1]!.slice(t.targetWhere.col - 1)).toMatch(/^"192\.0\.2\.1:80"/);
    expect(t.targetWhere.path).toBe('traffic[1].tcp');
  });
});

describe('the real-capture fixtures', () => {
  it('bridge-learning: engine 27, three containers in order, default network', () => {
    const s = loadScenarioFile(real('bridge-learning'));
    expect(s.name).toBe('bridge-learning');
    expect(s.seed).toBe(1);
    expect(s.wires).toEqual([]);
    const dh = s.hosts[0]!;
    expect(dh.interfaces).toEqual([]);
    expect(dh.forward).toBe(true);
    expect(dh.docker!.engine).toBe(27);
    expect(dh.docker!.containers.map((c) => c.name)).toEqual(['ct1', 'ct2', 'ct3']);
    expect(dh.docker!.containers.every((c) => c.network.mode === 'network' && c.network.network === 'bridge')).toBe(true);
    expect(strip(dh.docker!.containers[1]!.services)).toEqual([
      { name: 'tcp/8000', proto: 'tcp', port: 8000, bind: '0.0.0.0', reply: HTTP, echo: false, reuseport: false, forward: null },
    ]);
    expect(strip(s.traffic)).toEqual(shape<TrafficSpec[]>([
      {
        kind: 'tcp', index: 0, atNs: 0, from: 'ct1', target: { kind: 'ip', ip: '172.17.0.3' }, port: 8000,
        send: GET, requests: 1, expect: null, count: 1, intervalNs: 1e9, ttl: null, sport: null, bind: null, timeoutNs: 10e9,
      },
    ]));
  });

  it('nat-basic: server services, default route, ping/tcp/udp', () => {
    const s = loadScenarioFile(real('nat-basic'));
    expect(s.hosts.map((h) => h.name)).toEqual(['server', 'dh']);
    const [server, dh] = s.hosts;
    expect(server!.forward).toBe(false);
    expect(server!.services.map((x) => [x.proto, x.port, x.echo, x.reply])).toEqual([
      ['tcp', 8000, false, HTTP],
      ['udp', 7, true, null],
    ]);
    expect(dh!.interfaces[0]).toMatchObject({ name: 'eth0', wire: 'wan', ip: ['198.51.100.10/24'], mac: '52:54:00:aa:00:10', mtu: 1500 });
    expect(dh!.routes.map((r) => [r.to, r.via, r.dev])).toEqual([['default', '198.51.100.1', null]]);
    expect(s.traffic.map((t) => [t.kind, t.atNs, t.from, t.target])).toEqual([
      ['ping', 0, 'ct', { kind: 'ip', ip: '198.51.100.1' }],
      ['tcp', 200e6, 'ct', { kind: 'ip', ip: '198.51.100.1' }],
      ['udp', 400e6, 'ct', { kind: 'ip', ip: '198.51.100.1' }],
    ]);
    expect(s.traffic[2]).toMatchObject({ port: 7, send: 'ping', timeoutNs: 2e9 });
  });

  it('publish: a published port and traffic to closed ports', () => {
    const s = loadScenarioFile(real('publish'));
    const ct = s.hosts[1]!.docker!.containers[0]!;
    expect(strip(ct.publish)).toEqual([{ hostIp: null, hostPort: 8080, containerPort: 8000, proto: 'tcp' }]);
    expect(ct.publish[0]!.where).toMatchObject({ line: 17, path: 'hosts.dh.docker.containers.ct.publish[0]' });
    expect(s.traffic.map((t) => (t.kind === 'ping' ? 0 : t.port))).toEqual([8080, 9999, 9998]);
  });

  it('vm-nat: a user-mode VM with a fixed address', () => {
    const s = loadScenarioFile(real('vm-nat'));
    const vh = s.hosts[1]!;
    expect(vh.forward).toBe(true);
    expect(strip(vh.vms)).toEqual([
      { name: 'vg', mode: 'user', interface: null, network: null, ip: '10.0.2.100', prefixLen: null, mac: null, services: [], forward: [] },
    ]);
    expect(s.traffic.every((t) => t.from === 'vg')).toBe(true);
  });
});

const BASE = `version: 1
wires: { wan: {}, lan: {} }
hosts:
  r:
    interfaces:
      eth0: { wire: wan, ip: 192.0.2.1/24 }
      eth1: { wire: lan, ip: [10.0.0.1/24, 10.0.1.1/24], mac: "02:AA:BB:CC:DD:EE", mtu: 9000 }
`;

describe('values and defaults', () => {
  it('reads every key of hosts, docker, vms and traffic', () => {
    const s = parseScenario(
      `${BASE}    forward: false
    routes:
      - { to: 203.0.113.0/24, via: 192.0.2.254, dev: eth0 }
      - { to: 198.51.100.0/24, dev: eth1 }
    nat:
      - { masquerade: { out: eth0, source: 10.0.0.7/16 } }
      - { snat: { out: "eth+", to: 192.0.2.1 } }
      - { dnat: { in: eth0, proto: udp, port: 53, to: "10.0.0.9:5353" } }
      - { dnat: { proto: tcp, port: 80, to: 10.0.0.9 } }
    services:
      - { tcp: 22, bind: 10.0.0.1, echo: true, reuseport: true, name: ssh }
      - { tcp: 22, bind: 10.0.1.1, reply: "x" }
    docker:
      engine: 27
      networks:
        backend: { driver: bridge, subnet: 172.18.0.0/16, bridge: br-backend, gateway: 172.18.0.254 }
        auto: {}
        lan: { driver: macvlan, parent: eth0, subnet: 192.0.2.0/24, gateway: 192.0.2.1 }
      containers:
        web: { publish: ["8080:80", "5353:53/udp", "127.0.0.1:8443:443"], services: [ { tcp: 80, reply: "hi" } ] }
        db: { network: backend, ip: 172.18.0.10, mac: "02:42:ac:12:00:0a" }
        side: { network: "container:web" }
        tool: { network: host }
        jail: { network: none }
    vms:
      vm1: { mode: user, forward: ["2222:22", "127.0.0.1:5354:53/udp"] }
      vm2: { mode: nat }
      vm3: { mode: bridged, interface: eth0, ip: 192.0.2.50/24 }
      vm4: { mode: host-only }
      vm5: { mode: internal, network: intnet }
traffic:
  - { at: 1.5s, from: db, ping: web, count: 3, interval: 200ms, size: 1400 }
  - { at: 250us, from: r, tcp: "db:5432", sport: 40000, bind: 10.0.0.1, timeout: 3s }
  - { from: vm1, udp: "192.0.2.1:53" }
`,
      'full.yaml',
    );
    expect(s.name).toBe('full');
    const r = s.hosts[0]!;
    expect(r.forward).toBe(false);
    expect(r.interfaces[1]).toMatchObject({ ip: ['10.0.0.1/24', '10.0.1.1/24'], mac: '02:aa:bb:cc:dd:ee', mtu: 9000 });
    expect(strip(r.routes)).toEqual([
      { to: '203.0.113.0/24', via: '192.0.2.254', dev: 'eth0' },
      { to: '198.51.100.0/24', via: null, dev: 'eth1' },
    ]);
    expect(strip(r.nat)).toEqual([
      { kind: 'masquerade', out: 'eth0', source: '10.0.0.0/16' },
      { kind: 'snat', out: 'eth+', source: null, to: '192.0.2.1' },
      { kind: 'dnat', in: 'eth0', proto: 'udp', port: 53, to: { ip: '10.0.0.9', port: 5353 } },
      { kind: 'dnat', in: null, proto: 'tcp', port: 80, to: { ip: '10.0.0.9', port: null } },
    ]);
    expect(r.services.map((x) => [x.name, x.bind, x.reuseport, x.echo])).toEqual([
      ['ssh', '10.0.0.1', true, true],
      ['tcp/22', '10.0.1.1', false, false],
    ]);
    const d = r.docker!;
    expect(strip(d.networks)).toEqual([
      { driver: 'bridge', name: 'backend', subnet: '172.18.0.0/16', gateway: '172.18.0.254', bridge: 'br-backend', internal: false },
      { driver: 'bridge', name: 'auto', subnet: null, gateway: null, bridge: null, internal: false },
      { driver: 'macvlan', name: 'lan', parent: 'eth0', subnet: '192.0.2.0/24', gateway: '192.0.2.1' },
    ]);
    expect(d.containers.map((c) => [c.name, c.network])).toEqual([
      ['web', { mode: 'network', network: 'bridge' }],
      ['db', { mode: 'network', network: 'backend' }],
      ['side', { mode: 'container', container: 'web' }],
      ['tool', { mode: 'host' }],
      ['jail', { mode: 'none' }],
    ]);
    expect(strip(d.containers[0]!.publish)).toEqual([
      { hostIp: null, hostPort: 8080, containerPort: 80, proto: 'tcp' },
      { hostIp: null, hostPort: 5353, containerPort: 53, proto: 'udp' },
      { hostIp: '127.0.0.1', hostPort: 8443, containerPort: 443, proto: 'tcp' },
    ]);
    expect(d.containers[1]).toMatchObject({ ip: '172.18.0.10', mac: '02:42:ac:12:00:0a' });
    expect(r.vms.map((v) => [v.name, v.mode, v.interface, v.network, v.ip, v.prefixLen])).toEqual([
      ['vm1', 'user', null, null, null, null],
      ['vm2', 'nat', null, null, null, null],
      ['vm3', 'bridged', 'eth0', null, '192.0.2.50', 24],
      ['vm4', 'host-only', null, null, null, null],
      ['vm5', 'internal', null, 'intnet', null, null],
    ]);
    expect(strip(r.vms[0]!.forward)).toEqual([
      { hostIp: null, hostPort: 2222, containerPort: 22, proto: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 5354, containerPort: 53, proto: 'udp' },
    ]);
    expect(strip(s.traffic)).toEqual([
      { kind: 'ping', index: 0, atNs: 1.5e9, from: 'db', target: { kind: 'node', node: 'web' }, count: 3, intervalNs: 200e6, size: 1400, ttl: null },
      {
        kind: 'tcp', index: 1, atNs: 250e3, from: 'r', target: { kind: 'node', node: 'db' }, port: 5432,
        send: null, requests: 1, expect: null, count: 1, intervalNs: 1e9, ttl: null, sport: 40000, bind: '10.0.0.1', timeoutNs: 3e9,
      },
      {
        kind: 'udp', index: 2, atNs: 0, from: 'vm1', target: { kind: 'ip', ip: '192.0.2.1' }, port: 53,
        send: '', flows: 1, count: 1, intervalNs: 1e9, ttl: null, sport: null, bind: null, timeoutNs: 2e9,
      },
    ]);
  });

  it('seed defaults to 1 and is kept when given; wire latency is a duration', () => {
    expect(parseScenario('version: 1\nhosts: { a: {} }\n', 'x.yaml').seed).toBe(1);
    const s = parseScenario('version: 1\nseed: 4294967295\nwires: { w: { latency: 2ms } }\nhosts: { a: {} }\n', 'x.yaml');
    expect(s.seed).toBe(4294967295);
    expect(s.wires[0]!.latencyNs).toBe(2e6);
  });

  it('keeps node order as written, even for names that look like numbers', () => {
    const s = parseScenario('version: 1\nhosts:\n  b: {}\n  "2": {}\n  a: {}\n  1: {}\n', 'x.yaml');
    expect(s.hosts.map((h) => h.name)).toEqual(['b', '2', 'a', '1']);
  });

  it('services sharing a port with reuseport on both, or on different addresses, are accepted', () => {
    const s = parseScenario(
      `${BASE}    services:
      - { udp: 53, echo: true, reuseport: true }
      - { udp: 53, echo: true, reuseport: true }
      - { tcp: 53, bind: 10.0.0.1, echo: true }
      - { tcp: 53, bind: 10.0.1.1, echo: true }
      - { udp: 54, echo: true }
      - { tcp: 54, echo: true }
`,
      'x.yaml',
    );
    expect(s.hosts[0]!.services).toHaveLength(6);
  });

  it('a macvlan network may share its parent LAN subnet; overlapping interfaces on one wire are fine', () => {
    const s = parseScenario(
      `version: 1
wires: { wan: {} }
hosts:
  dh:
    interfaces:
      eth0: { wire: wan, ip: [192.0.2.10/24, 192.0.2.11/25] }
      eth1: { wire: wan, ip: 192.0.2.12/24 }
    docker:
      networks:
        lan: { driver: macvlan, parent: eth0, subnet: 192.0.2.0/24 }
      containers:
        c: { network: lan, ip: 192.0.2.99 }
`,
      'x.yaml',
    );
    expect(s.hosts[0]!.docker!.containers[0]!.ip).toBe('192.0.2.99');
  });
});

describe('offload', () => {
  it('defaults to on (as Linux sets up a veth); offload: false reaches the plan, on is left out of it', () => {
    const s = parseScenario(BASE.replace('eth0: { wire: wan, ip: 192.0.2.1/24 }', 'eth0: { wire: wan, ip: 192.0.2.1/24, offload: false }'), 'o.yaml');
    expect(s.hosts[0]!.interfaces.map((i) => i.offload)).toEqual([false, true]);
    const ifs = compilePlan(s).namespaces.find((n) => n.name === 'r')!.interfaces;
    expect(ifs.find((i) => i.name === 'eth0')!.offload).toBe(false);
    expect('offload' in ifs.find((i) => i.name === 'eth1')!).toBe(false);
  });

  it('offload takes true or false only', () => {
    expect(() => parseScenario(BASE.replace('ip: 192.0.2.1/24 }', 'ip: 192.0.2.1/24, offload: maybe }'), 'o.yaml')).toThrow(/o\.yaml:\d+:\d+.*offload/);
  });
});

describe('accepted on purpose', () => {
  it('unquoted MACs and port mappings stay strings (YAML 1.2, no sexagesimal numbers)', () => {
    const s = parseScenario(
      'version: 1\nwires: { w: {} }\nhosts:\n  a:\n    interfaces: { eth0: { wire: w, mac: 02:00:00:00:00:10 } }\n    docker: { containers: { c: { publish: [80:80, 5353:53/udp] } } }\n',
      'x.yaml',
    );
    expect(s.hosts[0]!.interfaces[0]!.mac).toBe('02:00:00:00:00:10');
    expect(s.hosts[0]!.docker!.containers[0]!.publish.map((p) => [p.hostPort, p.containerPort, p.proto])).toEqual([
      [80, 80, 'tcp'],
      [5353, 53, 'udp'],
    ]);
  });

  it("docker0's default subnet on a host interface is left to the planner (dockerd takes the next pool)", () => {
    const s = parseScenario(
      'version: 1\nwires: { w: {} }\nhosts:\n  dh:\n    interfaces: { eth0: { wire: w, ip: 172.17.0.10/16 } }\n    docker: { containers: { c: {} } }\n',
      'x.yaml',
    );
    expect(s.hosts[0]!.docker!.containers).toHaveLength(1);
  });

  it('nat-mode VMs take forward (libvirt DNAT), which binds no host socket', () => {
    const s = parseScenario(
      'version: 1\nhosts:\n  vh:\n    services: [ { tcp: 2222, echo: true } ]\n    vms:\n      g: { mode: nat, forward: ["2222:22"] }\n',
      'x.yaml',
    );
    expect(s.hosts[0]!.vms[0]!.forward.map((f) => [f.hostPort, f.containerPort])).toEqual([[2222, 22]]);
  });
});

describe('errors', () => {
  it('collects many errors in one ScenarioError, in file order', () => {
    const e = errorOf(() =>
      parseScenario(
        `version: 1
wires: { wan: {} }
hosts:
  a:
    interfaces:
      eth0: { wire: wan, ip: 1.2.3.4/33, mac: zz }
    services:
      - { tcp: 0, echo: true }
traffic:
  - { at: 5, from: a, ping: 1.2.3.4, size: -1 }
`,
        'many.yaml',
      ),
    );
    expect(e.issues.map((i) => `${i.line}:${i.col} ${i.path}`)).toEqual([
      '6:30 hosts.a.interfaces.eth0.ip',
      '6:47 hosts.a.interfaces.eth0.mac',
      '8:16 hosts.a.services[0].tcp',
      '10:11 traffic[0].at',
      '10:44 traffic[0].size',
    ]);
    expect(e.message.split('\n')).toHaveLength(5);
    expect(e.message.split('\n')[0]).toBe(
      'many.yaml:6:30: hosts.a.interfaces.eth0.ip: 1.2.3.4/33: prefix length 33 is too large (an IPv4 prefix is 0-32 bits)',
    );
  });

  it('shows at most 20 errors and says how many more there were', () => {
    const hosts = Array.from({ length: 30 }, (_, i) => `  h${i}: { bogus: 1 }`).join('\n');
    const e = errorOf(() => parseScenario(`version: 1\nhosts:\n${hosts}\n`, 'x.yaml'));
    expect(e.issues).toHaveLength(20);
    expect(e.message).toMatch(/\(10 more errors not shown\)$/);
  });

  it('JSON files keep line:col, and strict JSON syntax is required', () => {
    const json = `{
  "version": 1,
  "hosts": {
    "a": { "interfaces": { "eth0": { "wire": "nowhere" } } }
  }
}`;
    const e = errorOf(() => parseScenario(json, 'x.json'));
    expect(e.message).toContain('x.json:4:46: hosts.a.interfaces.eth0.wire: unknown wire "nowhere"');
    const syn = errorOf(() => parseScenario('{\n  "version": 1,\n  "hosts": {},\n}\n', 'y.json'));
    expect(syn.message).toMatch(/^y\.json:4:1: JSON syntax error: /);
    const ok = parseScenario(JSON.stringify({ version: 1, seed: 7, hosts: { a: { forward: true } } }), 'z.json');
    expect([ok.seed, ok.hosts[0]!.forward, ok.name]).toEqual([7, true, 'z']);
  });

  it('a missing file is a ScenarioError, not a stack trace', () => {
    const e = errorOf(() => loadScenarioFile(join(root, 'fixtures/nope.yaml')));
    expect(e.message).toContain('cannot read the scenario: no such file');
  });

  it('ScenarioError.at reports a later stage\'s problem at the place in the file', () => {
    const s = loadScenarioFile(real('nat-basic'));
    const e = ScenarioError.at(s.traffic[0]!.targetWhere, 'no route to 198.51.100.1');
    expect(e.message).toBe(`${real('nat-basic')}:20:32: traffic[0].ping: no route to 198.51.100.1`);
    expect([e.line, e.col, e.path]).toEqual([20, 32, 'traffic[0].ping']);
  });
});
