// `wirebox inspect FILE...`: one line per frame of pcap/pcapng files, as `tcpdump -nn` prints them
// (times in UTC; `-e` adds MACs; a pcapng's interface name follows the time; with several files each
// line starts with its file's name). A file that cannot be read gives one line on stderr naming the file
// and the byte offset, after the lines of the whole records before the damage, and exit code 2.

import type { Command } from 'commander';
import { CaptureError } from '../capture/error.js';
import { FramePrinter, formatTime } from '../capture/print.js';
import { LINKTYPE_ETHERNET, readCaptureFile, type Capture } from '../capture/reader.js';

export interface InspectOptions {
  /** -e: print the link-level header (MACs, ethertype, frame length). */
  ether?: boolean;
  /** -S: absolute TCP sequence numbers. */
  absoluteSeq?: boolean;
  /** -t: no timestamps. */
  noTime?: boolean;
}

/** The lines for every record of a capture (the TCP state is per capture, like one tcpdump run). */
export function captureLines(capture: Capture, opts: InspectOptions = {}): string[] {
  const printer = new FramePrinter({ ether: opts.ether ?? false, absoluteSeq: opts.absoluteSeq ?? false });
  const multiIf = capture.format === 'pcapng';
  const lines: string[] = [];
  for (const r of capture.records) {
    let line = opts.noTime ? '' : formatTime(r.timeNs, capture.tsPrecision) + ' ';
    const iface = capture.interfaces[r.ifIndex];
    if (multiIf) line += `${iface?.name ?? `if${r.ifIndex}`} `;
    const linkType = iface?.linkType ?? capture.linkType;
    if (linkType !== LINKTYPE_ETHERNET) {
      lines.push(`${line}[link-type ${linkType} not decoded] length ${r.origLen}`);
      continue;
    }
    lines.push(line + printer.record(r.data, r.origLen));
  }
  return lines;
}

/** Print every file's lines through `out`, problems through `err`; returns the exit code (0 or 2). */
export function inspectFiles(files: string[], opts: InspectOptions, out: (text: string) => void, err: (text: string) => void): number {
  let code = 0;
  const prefixed = files.length > 1;
  for (const file of files) {
    let capture: Capture;
    let problem: CaptureError | null = null;
    try {
      capture = readCaptureFile(file);
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e;
      problem = e;
      if (e.partial === null) {
        err(`wirebox inspect: ${e.message}\n`);
        code = 2;
        continue;
      }
      capture = e.partial;
    }
    const lines = captureLines(capture, opts);
    if (lines.length > 0) out((prefixed ? lines.map((l) => `${file}: ${l}`) : lines).join('\n') + '\n');
    if (problem !== null) {
      err(`wirebox inspect: ${problem.message}\n`);
      code = 2;
    }
  }
  return code;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('print one line per frame of pcap/pcapng files, as tcpdump -nn does')
    .argument('<file...>', 'capture files (pcap, microseconds or nanoseconds; pcapng)')
    .option('-e, --ether', 'print the link-level header: MAC addresses, ethertype, frame length')
    .option('-S, --absolute-seq', 'print absolute TCP sequence numbers, not relative ones')
    .option('-t, --no-time', 'do not print timestamps')
    .action((files: string[], o: { ether?: boolean; absoluteSeq?: boolean; time: boolean }) => {
      // `wirebox inspect f | head` closes the pipe early: that is not an error
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(0);
        throw e;
      });
      const code = inspectFiles(
        files,
        { ether: o.ether ?? false, absoluteSeq: o.absoluteSeq ?? false, noTime: !o.time },
        (t) => process.stdout.write(t),
        (t) => process.stderr.write(t),
      );
      if (code !== 0) process.exitCode = code;
    });
}
