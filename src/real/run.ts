// `wirebox real`: the same WorldPlan the emulator runs, built on the real Linux kernel — namespaces,
// veth pairs, bridges, macvlans, the very iptables rules the Docker and VM models produced (through
// iptables-restore), slirp4netns for user-mode VMs, dnsmasq and dhclient for VMs that lease their
// address (src/real/dhcp.ts), a small agent per namespace for services and traffic, and tcpdump on
// every captured interface. Output has the layout of `wirebox run`.
//
// It always cleans up: on success, on error, on SIGINT/SIGTERM, and — through a detached watchdog
// that outlives a SIGKILLed runner — even when killed outright.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { trafficEndNs, type NamespacePlan, type WorldPlan } from '../plan/plan.js';
import { formatIptablesSave } from '../plan/iptables-save.js';
import { readCaptureFile } from '../capture/reader.js';
import { PcapngWriter } from '../capture/pcapng.js';
import { AGENT_PY } from './agent.js';
import { DHCLIENT_SCRIPT, dhclientConf, dhcpClients, dhcpServersInUse, dnsmasqConf, serverAddress, serverIsLocal, type DhcpClientRun } from './dhcp.js';
import { NS_PREFIX, buildTopology, nsName, slirpTapCommands, type Argv } from './topology.js';

/** A problem the user can act on; the CLI prints its message alone and exits 2. */
export class RealRunError extends Error {
  override name = 'RealRunError';
}

export interface RealOptions {
  outDir: string;
  /** Extra time after the last traffic entry finished, for trailing FINs/ACKs (ms). */
  settleMs?: number;
  /** Progress lines (to stderr in the CLI). */
  log?: (line: string) => void;
  /** One `<scenario name>.pcapng` with every interface named `<node>.<interface>`, as `wirebox run --pcapng`. */
  pcapng?: boolean;
}

export interface RealResult {
  files: string[];
  logs: string[];
}

interface ToolNeed {
  cmd: string;
  pkg: string;
}

/** What `real` needs for this plan, with the Debian package that provides each. */
export function toolsNeeded(plan: WorldPlan): ToolNeed[] {
  const needs: ToolNeed[] = [
    { cmd: 'ip', pkg: 'iproute2' },
    { cmd: 'iptables-restore', pkg: 'iptables' },
    { cmd: 'tcpdump', pkg: 'tcpdump' },
    { cmd: 'python3', pkg: 'python3' },
  ];
  if (plan.traffic.some((t) => t.kind === 'ping')) needs.push({ cmd: 'ping', pkg: 'iputils-ping' });
  if (plan.slirps.length > 0) needs.push({ cmd: 'slirp4netns', pkg: 'slirp4netns' });
  if (plan.namespaces.some((n) => n.interfaces.some((i) => i.kind === 'nic' && i.netem))) needs.push({ cmd: 'tc', pkg: 'iproute2' });
  if (plan.namespaces.some((n) => n.interfaces.some((i) => i.offload === false))) needs.push({ cmd: 'ethtool', pkg: 'ethtool' });
  if (plan.namespaces.some((n) => n.dhcpClient.length > 0)) {
    needs.push({ cmd: 'dnsmasq', pkg: 'dnsmasq-base' }, { cmd: 'dhclient', pkg: 'isc-dhcp-client' });
  }
  return needs;
}

export function which(cmd: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  return r.status === 0;
}

/** Checks everything before touching the system; throws RealRunError naming what is missing. */
export function preflight(plan: WorldPlan): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new RealRunError('wirebox real needs root: it creates network namespaces, veth pairs and iptables rules. Run it as root (e.g. with sudo). Nothing was changed.');
  }
  const missing = toolsNeeded(plan).filter((t) => !which(t.cmd));
  if (missing.length > 0) {
    throw new RealRunError(
      `wirebox real needs ${missing.map((m) => m.cmd).join(', ')}, not found on PATH; on Debian: apt-get install ${[...new Set(missing.map((m) => m.pkg))].join(' ')}. Nothing was changed.`,
    );
  }
  const left = leftoverNamespaces();
  if (left.length > 0) {
    throw new RealRunError(
      `namespaces of a previous wirebox real run remain: ${left.join(', ')}. Remove them with \`wirebox real --cleanup\` (or \`ip netns del NAME\` for each) and run again. Nothing was changed.`,
    );
  }
  dhcpPlan(plan);
}

/**
 * The DHCP clients and the servers they use. A DHCP server only answers: with no client on its network
 * it puts nothing on the wire and is not run (VirtualBox's host-only network has one even when every VM
 * has a fixed address). A server that is not one of its host's addresses cannot be dnsmasq: refused.
 */
export function dhcpPlan(plan: WorldPlan): DhcpClientRun[] {
  let runs: DhcpClientRun[];
  try {
    runs = dhcpClients(plan);
  } catch (err) {
    throw new RealRunError(`${(err as Error).message}. Nothing was changed.`);
  }
  for (const s of dhcpServersInUse(runs)) {
    if (!serverIsLocal(s.ns, s.plan)) {
      const users = runs.filter((r) => r.server.plan === s.plan).map((r) => r.ns.name);
      throw new RealRunError(
        `${users.join(', ')} ask${users.length === 1 ? 's' : ''} for an address by DHCP from ${serverAddress(s.ns, s.plan)} on ${s.ns.name}.${s.plan.ifname}, a server that is not one of ${s.ns.name}'s addresses (VirtualBox host-only's own DHCP server, with its own MAC): wirebox real runs dnsmasq, which cannot answer as it. Give the VM a fixed address with \`ip:\`. Nothing was changed.`,
      );
    }
  }
  return runs;
}

export function leftoverNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(NS_PREFIX));
}

/** Kills every process in the `wb-` namespaces and deletes them. Returns the names removed. */
export function cleanupNamespaces(names: string[] = leftoverNamespaces()): string[] {
  const removed: string[] = [];
  for (const ns of [...names].reverse()) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const pid of (pids.stdout ?? '').split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    const r = spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8' });
    if (r.status === 0) removed.push(ns);
  }
  return removed;
}

function run(argv: Argv, input?: string): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || String(r.error ?? '')).trim();
    throw new RealRunError(`command failed: ${argv.join(' ')}: ${why}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** Lines of a child's stream, delivered to `onLine`. */
function lines(child: ChildProcess, stream: 'stdout' | 'stderr', onLine: (l: string) => void): void {
  const s = child[stream];
  if (s) createInterface({ input: s }).on('line', onLine);
}

function waitFor<T>(what: string, ms: number, poll: () => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      let v: T | undefined;
      try {
        v = poll();
      } catch (err) {
        return reject(err);
      }
      if (v !== undefined) return resolve(v);
      if (Date.now() - started > ms) return reject(new RealRunError(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

/** Runs `plan` on the real kernel and writes `<captureName>.pcap` per captured interface into opts.outDir. */
export async function runReal(plan: WorldPlan, opts: RealOptions): Promise<RealResult> {
  const log = opts.log ?? (() => {});
  preflight(plan);
  const topo = buildTopology(plan);
  const work = mkdtempSync(join(tmpdir(), 'wirebox-real-'));
  const stage = join(work, 'captures');
  mkdirSync(stage);
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  let created: string[] = [];

  // A watchdog outliving us: if this process dies without cleaning up (SIGKILL), it does.
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; for ns in ${topo.namespaces.slice().reverse().join(' ')}; do for p in $(ip netns pids $ns 2>/dev/null); do kill -9 $p; done; ip netns del $ns 2>/dev/null; done; rm -rf ${work}`],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  const cleanup = () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    cleanupNamespaces(created);
    created = [];
  };
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    rmSync(work, { recursive: true, force: true });
    try {
      watchdog.kill('SIGKILL');
    } catch {
      /* gone */
    }
    process.stderr.write(`wirebox real: interrupted (${sig}); namespaces removed\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log(`building ${topo.namespaces.length} namespaces`);
    for (const argv of topo.commands) {
      if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'add') created.push(argv[3]!);
      run(argv);
    }
    // br_netfilter is global: once any program on the machine loaded it (an older dockerd, kubelet), a
    // new namespace starts with bridge-nf-call-iptables=1 and bridged/bridge-bound frames traverse
    // iptables at the bridge layer — e.g. Docker 28's raw PREROUTING DROP then removes a routed frame
    // before the bridge device's tap sees it. Docker 27.3+ loads it only for --icc=false, which no plan
    // uses, and the emulator has no bridge-layer netfilter: switch it off per namespace (Linux ≥ 5.3).
    if (existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
      for (const ns of topo.namespaces) {
        for (const k of ['iptables', 'ip6tables', 'arptables']) run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', `net.bridge.bridge-nf-call-${k}=0`]);
      }
    }

    for (const ns of plan.namespaces) {
      run(['ip', 'netns', 'exec', nsName(ns.name), 'iptables-restore'], formatIptablesSave(ns.iptables));
    }

    for (const s of plan.slirps) {
      const guest = plan.namespaces.find((n) => n.name === s.guest.ns)!;
      const iface = guest.interfaces.find((i) => i.name === s.guest.ifname)!;
      const api = join(work, `slirp-${s.name}.sock`);
      // A new namespace starts with ping_group_range "1 0": libslirp's ICMP datagram socket fails with
      // EACCES and it falls back to a raw socket that sends the guest's echo id unchanged. On a host
      // (systemd's 50-default.conf: "0 2147483647") the ping socket works and the echo leaves with the
      // socket's own id, as fixtures/real-captures/vm-nat and the emulator have it.
      run(['ip', 'netns', 'exec', nsName(s.hostNs), 'sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']);
      const child = spawn('ip', ['netns', 'exec', nsName(s.hostNs), 'slirp4netns', '--netns-type=path', '--disable-host-loopback', '--mtu=' + iface.mtu, '--api-socket', api, `/run/netns/${nsName(s.guest.ns)}`, s.guest.ifname], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      lines(child, 'stderr', (l) => logs.push(`slirp4netns ${s.name}: ${l}`));
      await waitFor(`slirp4netns to create ${s.guest.ifname} in ${s.guest.ns}`, 5000, () =>
        spawnSync('ip', ['-n', nsName(s.guest.ns), 'link', 'show', s.guest.ifname], { stdio: 'ignore' }).status === 0 ? true : undefined,
      );
      for (const argv of slirpTapCommands(guest, iface)) run(argv);
      for (const f of s.forwards) {
        // guest_addr: slirp4netns would otherwise forward to its own default guest, 10.0.2.100.
        const guestAddr = iface.addrs[0]?.split('/')[0];
        await slirpApi(api, { execute: 'add_hostfwd', arguments: { proto: f.proto, host_addr: '0.0.0.0', host_port: f.hostPort, ...(guestAddr ? { guest_addr: guestAddr } : {}), guest_port: f.guestPort } });
      }
      if (iface.capture) topo.captures.push({ ns: nsName(guest.name), ifname: iface.name, captureName: iface.captureName });
    }

    // Captures.
    const files: string[] = [];
    const listening = new Set<ChildProcess>();
    for (const c of topo.captures) {
      const file = join(stage, `${c.captureName}.pcap`);
      files.push(`${c.captureName}.pcap`);
      const td = spawn('ip', ['netns', 'exec', c.ns, 'tcpdump', '-i', c.ifname, '-s', '0', '-U', '--immediate-mode', '-n', '-Z', 'root', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(td);
      lines(td, 'stderr', (l) => {
        if (l.includes('listening on')) listening.add(td);
      });
    }
    const tcpdumps = children.slice(children.length - topo.captures.length);
    await waitFor('tcpdump to start on every interface', 10000, () => (tcpdumps.every((t) => listening.has(t)) ? true : undefined));

    // DHCP: dnsmasq per server in use, then dhclient per client interface; every lease before traffic,
    // as the emulator holds a guest's traffic until its client is bound.
    const dhcp = dhcpPlan(plan);
    if (dhcp.length > 0) await runDhcp(dhcp, work, children, logs, log);

    // Agents: services up everywhere, then traffic from one shared start time.
    const agentFile = join(work, 'agent.py');
    writeFileSync(agentFile, AGENT_PY);
    const agents: { ns: NamespacePlan; child: ChildProcess; ready: boolean; done: boolean; failed: string | null; hasTraffic: boolean }[] = [];
    for (const ns of plan.namespaces) {
      const traffic = plan.traffic.filter((t) => t.ns === ns.name);
      if (ns.services.length === 0 && traffic.length === 0 && ns.announce.length === 0) continue;
      const cfgFile = join(work, `agent-${ns.name}.json`);
      writeFileSync(cfgFile, JSON.stringify({ ns: ns.name, services: ns.services, traffic, announce: ns.announce }));
      const child = spawn('ip', ['netns', 'exec', nsName(ns.name), 'python3', agentFile, cfgFile], { stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(child);
      const a = { ns, child, ready: false, done: false, failed: null as string | null, hasTraffic: traffic.length > 0 || ns.announce.length > 0 };
      agents.push(a);
      lines(child, 'stdout', (l) => {
        if (l === 'ready') a.ready = true;
        else if (l === 'done') a.done = true;
        else if (l.startsWith('log ')) logs.push(`${ns.name}: ${l.slice(4)}`);
        else if (l.startsWith('error ')) a.failed = l.slice(6);
      });
      lines(child, 'stderr', (l) => logs.push(`${ns.name} agent: ${l}`));
      child.on('exit', (code) => {
        if (!a.done && code !== 0 && a.failed === null) a.failed = `agent exited with ${code}`;
      });
    }
    await waitFor('services to start', 10000, () => {
      const bad = agents.find((a) => a.failed !== null);
      if (bad) throw new RealRunError(`${bad.ns.name}: ${bad.failed}`);
      return agents.every((a) => a.ready) ? true : undefined;
    });

    const t0 = Date.now() / 1000 + 0.3;
    for (const a of agents) a.child.stdin?.write(`go ${t0.toFixed(6)}\n`);
    const lastNs = trafficEndNs(plan);
    const announceNs = plan.namespaces.flatMap((n) => n.announce).reduce((m, a) => Math.max(m, a.atNs + a.count * a.intervalNs), 0);
    log(`running traffic (${plan.traffic.length} entries)`);
    await waitFor('traffic to finish', Math.max(lastNs, announceNs) / 1e6 + 15000, () => {
      const bad = agents.find((a) => a.failed !== null);
      if (bad) throw new RealRunError(`${bad.ns.name}: ${bad.failed}`);
      return agents.every((a) => a.done || !a.hasTraffic) ? true : undefined;
    });
    await sleep(opts.settleMs ?? 1000);

    // Stop tcpdump gracefully so every packet is written, then everything else.
    for (const td of tcpdumps) td.kill('SIGINT');
    await waitFor('tcpdump to finish writing', 5000, () => (tcpdumps.every((t) => t.exitCode !== null || t.signalCode !== null) ? true : undefined));
    cleanup();
    // Loopback captures (capture: { lo: true }) are kept only where lo carried traffic, as `run` does.
    for (const c of topo.captures) {
      const f = join(stage, `${c.captureName}.pcap`);
      if (c.ifUsed && existsSync(f) && readCaptureFile(f).records.length === 0) {
        rmSync(f);
        files.splice(files.indexOf(`${c.captureName}.pcap`), 1);
      }
    }

    // Only now does the output folder get the files: a failed run leaves none half-written.
    if (opts.pcapng) {
      const name = `${plan.name}.pcapng`;
      mergeToPcapng(stage, files, join(stage, name));
      for (const f of files) rmSync(join(stage, f));
      files.splice(0, files.length, name);
    }
    mkdirSync(opts.outDir, { recursive: true });
    for (const f of readdirSync(stage)) renameSync(join(stage, f), join(opts.outDir, f));
    return { files, logs };
  } finally {
    cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    try {
      watchdog.kill('SIGKILL');
    } catch {
      /* gone */
    }
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

/** Starts dnsmasq for every server in use and dhclient on every client interface; resolves once each
 *  client is bound (or has given up, as dhclient -1 does after 60 s: its programs then run anyway). */
async function runDhcp(runs: DhcpClientRun[], work: string, children: ChildProcess[], logs: string[], log: (l: string) => void): Promise<void> {
  for (const [i, s] of dhcpServersInUse(runs).entries()) {
    const conf = join(work, `dnsmasq-${i}.conf`);
    writeFileSync(conf, dnsmasqConf(s.ns, s.plan, { pid: join(work, `dnsmasq-${i}.pid`), leases: join(work, `dnsmasq-${i}.leases`) }));
    log(`dnsmasq on ${s.ns.name}.${s.plan.ifname}`);
    const child = spawn('ip', ['netns', 'exec', nsName(s.ns.name), 'dnsmasq', `--conf-file=${conf}`, '--keep-in-foreground', '--log-facility=-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let ready = false;
    let exited: string | null = null;
    const onLine = (l: string) => {
      logs.push(`dnsmasq ${s.ns.name}.${s.plan.ifname}: ${l}`);
      if (/DHCP, IP range/.test(l)) ready = true;
    };
    lines(child, 'stdout', onLine);
    lines(child, 'stderr', onLine);
    child.on('exit', (code, sig) => (exited = `exited with ${code ?? sig}`));
    await waitFor(`dnsmasq to start on ${s.ns.name}.${s.plan.ifname}`, 5000, () => {
      if (exited !== null) throw new RealRunError(`dnsmasq on ${s.ns.name}.${s.plan.ifname} ${exited}: ${logs.filter((l) => l.startsWith('dnsmasq')).slice(-3).join('; ')}`);
      return ready ? true : undefined;
    });
  }
  const script = join(work, 'dhclient-script');
  writeFileSync(script, DHCLIENT_SCRIPT);
  chmodSync(script, 0o755);
  const waiting: { r: DhcpClientRun; bound: boolean; over: boolean }[] = [];
  for (const r of runs) {
    const base = join(work, `dhclient-${r.ns.name}-${r.ifname}`);
    writeFileSync(`${base}.conf`, dhclientConf(r.ns.name));
    log(`dhclient on ${r.ns.name}.${r.ifname}`);
    const child = spawn(
      'ip',
      ['netns', 'exec', nsName(r.ns.name), 'dhclient', '-4', '-v', '-1', '-d', '-cf', `${base}.conf`, '-lf', `${base}.leases`, '-pf', `${base}.pid`, '-sf', script, r.ifname],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    const w = { r, bound: false, over: false };
    waiting.push(w);
    const onLine = (l: string) => {
      logs.push(`dhclient ${r.ns.name}.${r.ifname}: ${l}`);
      if (/^bound to /.test(l)) w.bound = true;
    };
    lines(child, 'stdout', onLine);
    lines(child, 'stderr', onLine);
    child.on('exit', () => (w.over = true));
  }
  await waitFor('DHCP leases', 75000, () => (waiting.every((w) => w.bound || w.over) ? true : undefined));
  for (const w of waiting) if (!w.bound) log(`dhclient on ${w.r.ns.name}.${w.r.ifname} got no lease`);
}

/** tcpdump's per-interface pcaps merged into one pcapng in time order, each interface named after its
 *  file (`<node>.<interface>`), nanosecond resolution — the layout of `wirebox run --pcapng`. */
export function mergeToPcapng(dir: string, files: string[], out: string): void {
  const caps = files.map((f) => ({ name: f.replace(/\.pcap$/, ''), cap: readCaptureFile(join(dir, f)) }));
  const all: { t: bigint; ifIndex: number; data: Uint8Array }[] = [];
  caps.forEach(({ cap }, ifIndex) => {
    for (const r of cap.records) all.push({ t: r.timeNs, ifIndex, data: r.data });
  });
  all.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  // The writer counts nanoseconds from a whole second: start at the first packet's second, so the
  // file keeps tcpdump's wall-clock times.
  const startSec = all.length > 0 ? all[0]!.t / 1_000_000_000n : 0n;
  const base = startSec * 1_000_000_000n;
  const w = PcapngWriter.create(out, { startTimeSec: Number(startSec) });
  for (const { name } of caps) w.addInterface({ name, precision: 'ns' });
  for (const r of all) w.packet(r.ifIndex, Number(r.t - base), r.data, 0, r.data.length);
  w.close();
}

/** One request to slirp4netns's API socket (JSON in, JSON out). */
async function slirpApi(path: string, req: unknown): Promise<void> {
  const { createConnection } = await import('node:net');
  await waitFor(`slirp4netns API socket ${path}`, 5000, () => (existsSync(path) ? true : undefined));
  await new Promise<void>((resolve, reject) => {
    const sock = createConnection(path);
    let reply = '';
    sock.on('connect', () => sock.end(JSON.stringify(req)));
    sock.on('data', (d) => (reply += d.toString()));
    sock.on('error', reject);
    sock.on('close', () => {
      if (reply.includes('"error"')) reject(new RealRunError(`slirp4netns refused ${JSON.stringify(req)}: ${reply.trim()}`));
      else resolve();
    });
  });
}
