// `wirebox compare A B` / `wirebox compare A=B [C=D …]`: structural comparison of captures (src/compare).
//   - two files: compared with each other (a pcapng with several interfaces: interfaces by name);
//   - two folders: files paired by name (`<node>.<if>.pcap`), a file on one side only is reported;
//   - explicit pairs `emu/vg.eth0.pcap=real/vg.tap0.pcap`, several allowed;
//   - two folders then captures to pair under other names: `emu real vg.eth0=vg.tap0`.
// Exit 0 on a match, 1 on a difference, 2 on bad input (unreadable, foreign or truncated file).

import type { Command } from 'commander';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { ROLES_FILE } from '../plan/roles.js';
import { basename, join } from 'node:path';
import { readCaptureFile } from '../capture/reader.js';
import { compareCaptures } from '../compare/compare.js';
import { formatReport } from '../compare/format.js';
import { captureKey as captureKeyOf, captureStreams, NotEthernetError } from '../compare/streams.js';
import type { CaptureSide, CaptureStream, CompareOptions, CompareReport } from '../compare/types.js';
import { guard, UsageError } from './common.js';

export interface CompareCliOptions extends Omit<CompareOptions, 'pairs'> {
  json?: boolean;
  /** Show every difference (default: the first `max` per file). */
  all?: boolean;
  max?: number;
}

function streamsOf(path: string, label: string): CaptureStream[] {
  const capture = readCaptureFile(path);
  try {
    return captureStreams(label, capture);
  } catch (e) {
    if (e instanceof NotEthernetError) throw new UsageError(e.message);
    throw e;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

const CAPTURE_FILE = /\.(pcap|pcapng|cap)$/i;

function checkUnique(streams: CaptureStream[], where: string): void {
  const seen = new Map<string, string>();
  for (const s of streams) {
    const other = seen.get(s.key);
    if (other !== undefined) throw new UsageError(`${where}: ${other} and ${s.label} are both the capture of ${s.key}`);
    seen.set(s.key, s.label);
  }
}

/** capture name → role from a folder's interfaces.json (written by `wirebox run`), or null. */
function folderRoles(dir: string): Map<string, string> | null {
  const file = join(dir, ROLES_FILE);
  if (!existsSync(file)) return null;
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
  }
  const ifs = (o as { interfaces?: unknown }).interfaces;
  if (typeof ifs !== 'object' || ifs === null) throw new UsageError(`${file}: expected { "interfaces": { NAME: { "role": … } } }`);
  const m = new Map<string, string>();
  for (const [name, v] of Object.entries(ifs as Record<string, unknown>)) {
    const role = (v as { role?: unknown } | null)?.role;
    if (typeof role !== 'string') throw new UsageError(`${file}: interfaces.${name}.role: expected a string`);
    m.set(name, role);
  }
  return m;
}

/** Two folders' captures paired: by name, then — where names differ but both folders say what each
 *  capture is (interfaces.json) — by role: a veth to the same peer, a bridge with the same addresses and
 *  port peers. A Docker veth or user-network bridge is named from the seed; its role is not. */
export function folderPairs(dirA: string, a: CaptureSide, dirB: string, b: CaptureSide): { pairs: [string, string][]; byRole: Map<string, string> } {
  const keysA = a.streams.map((s) => s.key);
  const keysB = new Set(b.streams.map((s) => s.key));
  const pairs: [string, string][] = keysA.filter((k) => keysB.has(k)).map((k) => [k, k]);
  const byRole = new Map<string, string>();
  const ra = folderRoles(dirA);
  const rb = folderRoles(dirB);
  if (ra !== null && rb !== null) {
    const leftB = new Map<string, string>(); // role → key, of B's unpaired captures with a unique role
    const dup = new Set<string>();
    for (const k of keysB) {
      if (keysA.includes(k)) continue;
      const r = rb.get(k);
      if (r === undefined) continue;
      if (leftB.has(r)) dup.add(r);
      leftB.set(r, k);
    }
    for (const k of keysA) {
      if (keysB.has(k)) continue;
      const r = ra.get(k);
      if (r === undefined || dup.has(r)) continue;
      const kb = leftB.get(r);
      if (kb === undefined) continue;
      pairs.push([k, kb]);
      byRole.set(k, r);
      leftB.delete(r);
    }
  }
  return { pairs, byRole };
}

/** The two sides and the pairs to compare, from the command's arguments. */
export function sidesFromArgs(args: string[]): { a: CaptureSide; b: CaptureSide; pairs?: [string, string][]; byRole?: Map<string, string> } {
  const isPair = (s: string): boolean => s.includes('=') && !existsSync(s);
  if (args.length > 2 && isDir(args[0]!) && isDir(args[1]!)) {
    // two folders, then captures paired under other names: `emu real vg.eth0=vg.tap0`
    const { a, b, pairs: base } = sidesFromArgs(args.slice(0, 2));
    const keysA = new Set(a.streams.map((s) => s.key));
    const keysB = new Set(b.streams.map((s) => s.key));
    const renamed: [string, string][] = [];
    for (const arg of args.slice(2)) {
      const eq = arg.indexOf('=');
      if (eq <= 0) throw new UsageError(`${arg}: after two folders, give captures to pair as NAME_IN_A=NAME_IN_B (e.g. vg.eth0=vg.tap0)`);
      const ka = captureKeyOf(arg.slice(0, eq));
      const kb = captureKeyOf(arg.slice(eq + 1));
      if (!keysA.has(ka)) throw new UsageError(`${arg}: no capture ${ka} in ${args[0]}`);
      if (!keysB.has(kb)) throw new UsageError(`${arg}: no capture ${kb} in ${args[1]}`);
      renamed.push([ka, kb]);
    }
    const takenA = new Set(renamed.map(([x]) => x));
    const takenB = new Set(renamed.map(([, y]) => y));
    const byName: [string, string][] = [...keysA].filter((k) => keysB.has(k)).sort().map((k) => [k, k]);
    const pairs = (base ?? byName).filter(([x, y]) => !takenA.has(x) && !takenB.has(y));
    return { a, b, pairs: [...pairs, ...renamed] };
  }
  if (args.some(isPair)) {
    const a: CaptureStream[] = [];
    const b: CaptureStream[] = [];
    const pairs: [string, string][] = [];
    const used = new Set<string>();
    const unique = (k: string): string => {
      let u = k;
      for (let n = 2; used.has(u); n++) u = `${k}~${n}`;
      used.add(u);
      return u;
    };
    for (const arg of args) {
      const eq = arg.indexOf('=');
      if (!isPair(arg) || eq === 0 || eq === arg.length - 1) throw new UsageError(`${arg}: give explicit pairs as A=B, every argument a pair`);
      const pa = arg.slice(0, eq);
      const pb = arg.slice(eq + 1);
      const sa = streamsOf(pa, pa);
      const sb = streamsOf(pb, pb);
      if (sa.length === 1 && sb.length === 1) {
        const key = unique(sa[0]!.key);
        a.push({ ...sa[0]!, key });
        b.push({ ...sb[0]!, key });
        pairs.push([key, key]);
      } else {
        // several interfaces: matched by name inside the pair
        for (const s of sa) {
          const key = unique(s.key);
          a.push({ ...s, key });
          const o = sb.find((x) => x.key === s.key);
          if (o !== undefined) {
            b.push({ ...o, key });
            pairs.push([key, key]);
          }
        }
        for (const o of sb) if (!sa.some((s) => s.key === o.key)) b.push({ ...o, key: unique(o.key) });
      }
    }
    return { a: { name: 'A', streams: a }, b: { name: 'B', streams: b }, pairs };
  }
  if (args.length !== 2) throw new UsageError(`compare takes two captures or two folders, or pairs A=B (got ${args.length} argument(s))`);
  const [pa, pb] = args as [string, string];
  const da = isDir(pa);
  const db = isDir(pb);
  if (da !== db) throw new UsageError(`${da ? pa : pb} is a folder but ${da ? pb : pa} is not: compare two files or two folders`);
  if (da) {
    const side = (dir: string): CaptureSide => {
      const files = readdirSync(dir)
        .filter((f) => CAPTURE_FILE.test(f) && !isDir(join(dir, f)))
        .sort();
      if (files.length === 0) throw new UsageError(`${dir}: no capture files (.pcap, .pcapng, .cap) in this folder`);
      const streams = files.flatMap((f) => streamsOf(join(dir, f), f));
      checkUnique(streams, dir);
      return { name: dir, streams };
    };
    const a = side(pa);
    const b = side(pb);
    const { pairs, byRole } = folderPairs(pa, a, pb, b);
    return { a, b, ...(byRole.size > 0 ? { pairs, byRole } : {}) };
  }
  const sa = streamsOf(pa, basename(pa));
  const sb = streamsOf(pb, basename(pb));
  checkUnique(sa, pa);
  checkUnique(sb, pb);
  if (sa.length === 1 && sb.length === 1) return { a: { name: pa, streams: sa }, b: { name: pb, streams: [{ ...sb[0]!, key: sa[0]!.key }] } };
  return { a: { name: pa, streams: sa }, b: { name: pb, streams: sb } };
}

/** Run a comparison as the command does: the report (text or JSON) and the exit code (0 match, 1
 *  differ). Bad input throws CaptureError / UsageError (the command turns them into exit 2). */
export function runCompare(args: string[], o: CompareCliOptions = {}): { code: number; text: string; report: CompareReport } {
  const { a, b, pairs, byRole } = sidesFromArgs(args);
  const opts: CompareOptions = {
    fixedMacs: o.fixedMacs ?? false,
    strict: o.strict ?? false,
    checksums: o.checksums ?? false,
    keepIgmp: o.keepIgmp ?? false,
    keepIpv6: o.keepIpv6 ?? false,
    keepArpRefresh: o.keepArpRefresh ?? false,
  };
  if (pairs !== undefined) opts.pairs = pairs;
  const report = compareCaptures(a, b, opts);
  for (const f of report.files) {
    const role = byRole?.get(f.key);
    if (role !== undefined) f.notes.push(`paired by role (${role}): the names differ`);
  }
  const text = o.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, { maxPerFile: o.all ? Infinity : (o.max ?? 10) });
  return { code: report.verdict === 'match' ? 0 : 1, text, report };
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('compare captures structurally (two files, two folders by file name, or pairs A=B); exit 0 match, 1 differ, 2 bad input')
    .argument('<captures...>', 'A B (files or folders; after two folders, NAME_A=NAME_B pairs captures named differently), or A=B file pairs')
    .option('--fixed-macs', 'compare MAC addresses literally (default: as tokens that must correspond one to one)')
    .option('--strict', 'also compare IP id patterns, TCP windows after the handshake and Ethernet padding')
    .option('--checksums', 'validate checksums on each side (partial offload checksums are noted, not errors)')
    .option('--keep-igmp', 'compare IGMP frames (ignored by default)')
    .option('--keep-ipv6', 'compare IPv6 frames (ignored by default)')
    .option('--keep-arp-refresh', 'compare trailing ARP refreshes (ignored by default)')
    .option('--json', 'print a machine-readable report')
    .option('--all', 'print every difference (default: the first 10 per file)')
    .option('--max <n>', 'differences printed per file (default 10)')
    .action(async (captures: string[], o: Omit<CompareCliOptions, 'max'> & { max?: string }) => {
      await guard(() => {
        let max: number | undefined;
        if (o.max !== undefined) {
          max = Number(o.max);
          if (!/^\d+$/.test(o.max)) throw new UsageError(`--max ${o.max}: not a count`);
        }
        const r = runCompare(captures, { ...o, max });
        process.stdout.write(r.text);
        process.exitCode = r.code;
      });
    });
}
