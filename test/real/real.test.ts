// `wirebox real` on the real kernel. The topology commands are checked everywhere (pure); the runs need
// root, network namespaces, iptables, tcpdump, python3, dnsmasq and dhclient: they skip with a printed reason without
// them, and fail instead under CI=true, where .ci/run installs them.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareCaptures } from '../../src/compare/index.js';
import { compilePlan } from '../../src/plan/compile.js';
import { buildTopology } from '../../src/real/topology.js';
import { RealRunError, dhcpPlan, mergeToPcapng, toolsNeeded } from '../../src/real/run.js';
import { DHCLIENT_SCRIPT, dhclientConf, dnsmasqConf } from '../../src/real/dhcp.js';
import { readCaptureFile } from '../../src/capture/reader.js';
import { folderSide } from '../../src/real/verify.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';

const ROOT = resolve('.');
const BUILT = join(ROOT, 'dist/cli/main.js');

/** The built CLI (signals must reach the process doing the work, not a tsx wrapper): built on demand. */
function cli(args: string[]): [string, string[]] {
  if (!existsSync(BUILT)) {
    const b = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`building dist/ failed: ${b.stdout}${b.stderr}`);
  }
  return [process.execPath, [BUILT, ...args]];
}

function wbNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith('wb-'));
}

function canRunReal(): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const t of ['ip', 'iptables-restore', 'tcpdump', 'python3', 'ping', 'setpriv', 'dnsmasq', 'dhclient']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) missing.push(t);
  }
  if (missing.length === 0) {
    const probe = spawnSync('ip', ['netns', 'add', 'wb-probe'], { encoding: 'utf8' });
    if (probe.status !== 0) missing.push(`network namespaces (${probe.stderr.trim()})`);
    else spawnSync('ip', ['netns', 'del', 'wb-probe']);
  }
  if (missing.length === 0) return true;
  const why = `wirebox real tests need ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}: .ci/run must provide them`);
  console.warn(`skipping: ${why}`);
  return false;
}

const SLOW = `version: 1
name: slow
wires: { lan: {} }
hosts:
  a:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.1/24, mac: "02:00:00:00:09:01" } }
  b:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.2/24, mac: "02:00:00:00:09:02" } }
traffic:
  - { at: 0ms, from: a, ping: 192.0.2.2, count: 60, interval: 200ms }
`;

describe('--pcapng output of a real run (merge, no root needed)', () => {
  it('merges per-interface pcaps into one pcapng: interfaces named, every record, time order, wall-clock times kept', () => {
    const dir = 'fixtures/real-captures/nat-basic';
    const files = readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort();
    const out = join(mkdtempSync(join(tmpdir(), 'wirebox-merge-')), 'nat-basic.pcapng');
    mergeToPcapng(dir, files, out);
    const merged = readCaptureFile(out);
    expect(merged.format).toBe('pcapng');
    expect(merged.interfaces.map((i) => i.name)).toEqual(files.map((f) => f.replace(/\.pcap$/, '')));
    const parts = files.map((f) => readCaptureFile(join(dir, f)));
    expect(merged.records.length).toBe(parts.reduce((n, p) => n + p.records.length, 0));
    for (let i = 1; i < merged.records.length; i++) expect(merged.records[i]!.timeNs >= merged.records[i - 1]!.timeNs).toBe(true);
    const firstReal = parts.map((p) => p.records[0]!.timeNs).reduce((a, b) => (a < b ? a : b));
    expect(merged.records[0]!.timeNs).toBe(firstReal);
  });
});

describe('topology (pure)', () => {
  it('nat-basic: namespaces, a veth pair for the two-NIC wire, docker0 with its port, addresses, routes', () => {
    const plan = compilePlan(loadScenarioFile('fixtures/real-captures/nat-basic/scenario.yaml'));
    const t = buildTopology(plan);
    expect(t.namespaces).toEqual(['wb-server', 'wb-dh', 'wb-ct']);
    const lines = t.commands.map((c) => c.join(' '));
    expect(lines).toContain('ip link add eth0 netns wb-server type veth peer name eth0 netns wb-dh');
    expect(lines).toContain('ip -n wb-dh addr add 172.17.0.1/16 brd + dev docker0');
    expect(lines).toContain('ip -n wb-ct link set eth0 address 02:42:ac:11:00:02 mtu 1500');
    expect(lines).toContain('ip -n wb-dh route add default via 198.51.100.1');
    expect(lines.some((l) => /^ip -n wb-dh link set veth[0-9a-f]{7} master docker0$/.test(l))).toBe(true);
    // every device lives in a wb- namespace: no command creates one in the caller's namespace
    for (const c of t.commands) {
      if (c[0] === 'ip' && c[1] === 'link' && c[2] === 'add') expect(c).toContain('netns');
    }
    expect(t.captures.map((c) => c.captureName).sort()).toEqual(expect.arrayContaining(['ct.eth0', 'dh.docker0', 'dh.eth0', 'server.eth0']));
  });

  it('offload: false turns TSO, GSO and GRO off with ethtool on that interface only, and needs ethtool', () => {
    const s = parseScenario(SLOW.replace('mac: "02:00:00:00:09:01" }', 'mac: "02:00:00:00:09:01", offload: false }'), 'nooffload.yaml');
    const plan = compilePlan(s);
    const lines = buildTopology(plan).commands.map((c) => c.join(' '));
    expect(lines.filter((l) => l.includes('ethtool'))).toEqual(['ip netns exec wb-a ethtool -K eth0 tso off gso off gro off']);
    expect(toolsNeeded(plan).map((t) => t.cmd)).toContain('ethtool');
    expect(toolsNeeded(compilePlan(parseScenario(SLOW, 'slow.yaml'))).map((t) => t.cmd)).not.toContain('ethtool');
  });

  it('a wire with three NICs gets a switch namespace of its own', () => {
    const s = parseScenario(SLOW.replace('traffic:', '  c:\n    interfaces: { eth0: { wire: lan, ip: 192.0.2.3/24 } }\ntraffic:'), 'three.yaml');
    const t = buildTopology(compilePlan(s));
    expect(t.namespaces).toContain('wb-wire-lan');
    expect(t.commands.filter((c) => c.includes('veth') && c.includes('wb-wire-lan')).length).toBe(3);
  });
});

const HOSTONLY_DHCP = `version: 1
name: hostonly-dhcp
hosts:
  h:
    vms:
      vo: { mode: host-only }
`;

describe('DHCP in wirebox real (pure)', () => {
  const plan = compilePlan(loadScenarioFile('fixtures/scenarios/vm-nat.yaml'));

  it('vm-nat: vm1.eth0 leases from dnsmasq on kvm.virbr0, configured as libvirt configures its default network', () => {
    const runs = dhcpPlan(plan);
    expect(runs.map((r) => `${r.ns.name}.${r.ifname} <- ${r.server.ns.name}.${r.server.plan.ifname}`)).toEqual(['vm1.eth0 <- kvm.virbr0']);
    expect(toolsNeeded(plan).map((t) => `${t.cmd}:${t.pkg}`)).toEqual(expect.arrayContaining(['dnsmasq:dnsmasq-base', 'dhclient:isc-dhcp-client']));
    const mac = plan.namespaces.find((n) => n.name === 'vm1')!.interfaces.find((i) => i.name === 'eth0')!.mac;
    const conf = dnsmasqConf(runs[0]!.server.ns, runs[0]!.server.plan, { pid: '/w/d.pid', leases: '/w/d.leases' }).split('\n');
    expect(conf).toEqual([
      'strict-order',
      'pid-file=/w/d.pid',
      'except-interface=lo',
      'bind-dynamic',
      'interface=virbr0',
      'dhcp-range=192.168.122.2,192.168.122.254,255.255.255.0',
      'dhcp-no-override',
      'dhcp-authoritative',
      'dhcp-lease-max=253',
      `dhcp-host=${mac},192.168.122.2`,
      'dhcp-leasefile=/w/d.leases',
      '',
    ]);
    // Debian's request list (the emulator's DHCLIENT_PRL) and the VM's name; the script writes nothing outside the namespace.
    expect(dhclientConf('vm1')).toMatch(/send host-name "vm1";\nrequest subnet-mask, broadcast-address, time-offset, routers,/);
    expect(DHCLIENT_SCRIPT).not.toMatch(/resolv|\/etc\//);
  });

  it('a VirtualBox host-only VM asking DHCP (its server 192.168.56.100 is not a host address) is refused', () => {
    const p = compilePlan(parseScenario(HOSTONLY_DHCP, 'hostonly-dhcp.yaml'));
    expect(() => dhcpPlan(p)).toThrow(RealRunError);
    expect(() => dhcpPlan(p)).toThrow(/vo asks for an address by DHCP from 192\.168\.56\.100 on h\.vboxnet0.*cannot answer as it.*ip:/);
  });

  it('a DHCP server with no client (host-only with fixed addresses) is not run and not refused', () => {
    expect(dhcpPlan(compilePlan(loadScenarioFile('fixtures/scenarios/vm-bridged-hostonly-internal.yaml')))).toEqual([]);
  });
});

const real = canRunReal();

describe.runIf(real)('on the real kernel (root)', () => {
  it('refuses to run without root, and changes nothing', () => {
    const before = wbNamespaces();
    const [cmd, args] = cli(['real', 'fixtures/real-captures/nat-basic/scenario.yaml', '--out', join(tmpdir(), 'never')]);
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', cmd, ...args], { encoding: 'utf8', cwd: ROOT });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/needs root/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(wbNamespaces()).toEqual(before);
  });

  it('runs nat-basic and its captures match the recorded real ones', () => {
    const out = mkdtempSync(join(tmpdir(), 'wirebox-real-'));
    const [cmd, args] = cli(['real', 'fixtures/real-captures/nat-basic/scenario.yaml', '--out', out]);
    const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
    expect(r.stderr + r.stdout).toMatch(/wrote 5 captures/);
    expect(r.status).toBe(0);
    expect(wbNamespaces()).toEqual([]);
    const files = readdirSync(out);
    expect(files).toEqual(expect.arrayContaining(['ct.eth0.pcap', 'dh.docker0.pcap', 'dh.eth0.pcap', 'server.eth0.pcap']));
    const report = compareCaptures(folderSide(out), folderSide('fixtures/real-captures/nat-basic'));
    const judged = report.files.filter((f) => f.labelB !== null);
    expect(judged.map((f) => `${f.key}: ${f.verdict}`)).toEqual(judged.map((f) => `${f.key}: match`));
  });

  it('runs vm-nat: dnsmasq leases vm1 its address before its traffic; as the recording but for the random xid', () => {
    const out = mkdtempSync(join(tmpdir(), 'wirebox-real-'));
    const [cmd, args] = cli(['real', 'fixtures/scenarios/vm-nat.yaml', '--out', out, '--settle', '300']);
    const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
    expect(r.stderr + r.stdout).toMatch(/bound to 192\.168\.122\.2/);
    expect(r.stderr + r.stdout).toMatch(/wrote 5 captures/);
    expect(r.status).toBe(0);
    expect(wbNamespaces()).toEqual([]);
    const report = compareCaptures(folderSide(out), folderSide('fixtures/real/vm-nat'));
    expect(report.files.map((f) => f.key).sort()).toEqual(['kvm.eth0', 'kvm.virbr0', 'kvm.vnet0', 'server.eth0', 'vm1.eth0']);
    for (const f of report.files) {
      // dhclient's xid is random on every run: only the four DHCP messages' xid bytes (4-7) may differ.
      for (const d of f.differences) expect(d.kind === 'field' && d.field === 'udp.payload' && /^300 bytes, byte [4-7] /.test(d.a), `${f.key}: ${JSON.stringify(d)}`).toBe(true);
      expect(f.differences.length, f.key).toBeLessThanOrEqual(f.key.startsWith('kvm.eth0') || f.key.startsWith('server') ? 0 : 4);
    }
  });

  it('refuses while namespaces of an earlier run remain, and --cleanup removes them', () => {
    spawnSync('ip', ['netns', 'add', 'wb-leftover']);
    try {
      const [cmd, args] = cli(['real', 'fixtures/real-captures/nat-basic/scenario.yaml', '--out', join(tmpdir(), 'never')]);
      const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/remain: wb-leftover.*wirebox real --cleanup/s);
      const [c2, a2] = cli(['real', '--cleanup']);
      const c = spawnSync(c2, a2, { encoding: 'utf8', cwd: ROOT });
      expect(c.stdout).toMatch(/removed wb-leftover/);
      expect(wbNamespaces()).toEqual([]);
    } finally {
      spawnSync('ip', ['netns', 'del', 'wb-leftover']);
    }
  });

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`killed half-way with ${signal}, it leaves no namespace, interface or process behind`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wirebox-kill-'));
      const file = join(dir, 'slow.yaml');
      (await import('node:fs')).writeFileSync(file, SLOW);
      const linksBefore = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout.split('\n').length;
      const [cmd, args] = cli(['real', file, '--out', join(dir, 'out')]);
      const child = spawn(cmd, args, { cwd: ROOT, stdio: 'ignore' });
      // wait until the run is under way (its namespaces exist and tcpdump runs)
      const t0 = Date.now();
      while (wbNamespaces().length < 2 && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 100));
      expect(wbNamespaces()).toEqual(['wb-a', 'wb-b'].filter((n) => wbNamespaces().includes(n)));
      await new Promise((r) => setTimeout(r, 1500));
      child.kill(signal);
      await new Promise((r) => child.on('exit', r));
      const t1 = Date.now();
      while (wbNamespaces().length > 0 && Date.now() - t1 < 10000) await new Promise((r) => setTimeout(r, 200));
      expect(wbNamespaces()).toEqual([]);
      await new Promise((r) => setTimeout(r, 500));
      const procs = spawnSync('pgrep', ['-af', 'wirebox-real-'], { encoding: 'utf8' }).stdout.trim();
      expect(procs).toBe('');
      const linksAfter = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout.split('\n').length;
      expect(linksAfter).toBe(linksBefore);
      expect(existsSync(join(dir, 'out'))).toBe(false); // nothing half-written
    });
  }
});
