// The output folder of a run (`-o DIR`), so that it never holds half a run or a mix of two:
//   - checked before any work: refused when it is a file, under a file, on a kernel pseudo-filesystem
//     (/proc, /sys, /dev, cgroupfs…), or not creatable — with plain, non-recursive fs calls only
//     (Node's `mkdir -p` spins for ever on /proc, where mkdir answers ENOENT for any new name);
//   - the run writes into a fresh staging folder: beside DIR when DIR does not exist yet (renamed into
//     place at the end, intermediate folders created only then), inside DIR as a hidden folder when it
//     does (the files renamed into DIR at the end);
//   - a manifest (`.wirebox-manifest`) lists the files a run wrote; the next run into the same folder
//     removes exactly those, so a rerun with another seed (other veth names) leaves no stale capture;
//     capture files wirebox did not write make the run refuse the folder instead of mixing with them;
//   - on an error or a signal the staging folder is removed and DIR is as it was.

import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statfsSync, statSync, unlinkSync, writeSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UsageError } from './common.js';

export const MANIFEST = '.wirebox-manifest';
const STAGING_PREFIX = '.wirebox-staging-';

/** Capture files a folder may hold from some run: these must come from a listed wirebox run. */
const CAPTURE_NAME = /\.(pcap|pcapng|cap)(\.partial)?$/i;

/** Kernel pseudo-filesystems (statfs f_type, include/uapi/linux/magic.h): nothing can be written there. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x6165676c: 'pstore',
  0xcafe4a11: 'bpf',
  0x62656570: 'configfs',
  0xde5e81e4: 'efivarfs',
  0x1cd1: 'devpts',
};

/** Trees that are pseudo-filesystems by their place (devtmpfs reports tmpfs's magic). /dev/shm is
 *  an ordinary tmpfs and stays allowed. */
function pseudoByPath(abs: string): string | null {
  for (const root of ['/proc', '/sys', '/dev']) {
    if (abs === root || abs.startsWith(root + sep)) {
      if (root === '/dev' && (abs === '/dev/shm' || abs.startsWith('/dev/shm/'))) return null;
      return root;
    }
  }
  return null;
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'ENAMETOOLONG':
      return 'name too long';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return code ?? (e as Error).message;
  }
}

function statOrNull(p: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/** Whether process `pid` is alive (a staging folder of a killed run is stale). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging folders whose run was killed (SIGKILL leaves no chance to clean up). */
function removeStale(dir: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(n.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) rmSync(join(dir, n), { recursive: true, force: true });
  }
}

function readManifest(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST), 'utf8');
  } catch {
    return [];
  }
  // Plain names only: a manifest cannot make a run delete anything outside its folder.
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.includes('/') && !l.includes('\\') && l !== '.' && l !== '..' && l !== MANIFEST);
}

/** Writes `names` as `dir`'s manifest (atomically: a temporary name, then rename). */
function writeManifest(dir: string, names: string[]): void {
  const tmp = join(dir, `${MANIFEST}.new`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `# written by wirebox: the files of the last run into this folder (the next run removes them)\n${names.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, MANIFEST));
}

/** Staging folders of runs still going: removed on any exit (a second Ctrl-C, process.exit in an
 *  error path), so even then nothing partial is left. */
const live = new Set<string>();
let exitHook = false;

export class OutputFolder {
  private done = false;

  private constructor(
    /** `-o` as the user gave it (for messages and the printed paths). */
    readonly out: string,
    /** `-o`, absolute. */
    readonly abs: string,
    /** Where the run writes: a fresh folder, removed or renamed into place at the end. */
    readonly staging: string,
    /** Whether `abs` existed when the run started (staging inside it) or not (staging beside it). */
    private readonly existed: boolean,
  ) {}

  /**
   * Checks `-o out` and creates the staging folder, before any work: a UsageError names the path and
   * the problem. Creates nothing else; removes nothing.
   */
  static prepare(out: string, flag = '--out'): OutputFolder {
    const abs = resolve(out);
    const say = (problem: string): never => {
      throw new UsageError(`${flag} ${out}: ${problem}`);
    };
    const pseudo = pseudoByPath(abs);
    if (pseudo !== null) say(`${pseudo} is a pseudo-filesystem of the kernel: captures cannot be written there`);
    // The nearest existing folder at or above `abs`; every component on the way must be a folder.
    let anc = abs;
    let st: ReturnType<typeof statSync> | null = null;
    for (;;) {
      try {
        st = statOrNull(anc);
      } catch (e) {
        return say(`cannot look at ${anc}: ${errnoText(e)}`);
      }
      if (st !== null) break;
      const up = dirname(anc);
      if (up === anc) return say('no existing folder above it');
      anc = up;
    }
    if (!st!.isDirectory()) {
      if (anc === abs) return say('exists and is not a folder');
      return say(`${anc} is a file, not a folder, so nothing can be created under it`);
    }
    // The real place, for pseudo-filesystems reached through a symbolic link or mounted elsewhere.
    let real = anc;
    try {
      real = realpathSync(anc);
    } catch {
      /* keep anc */
    }
    const viaLink = pseudoByPath(real);
    if (viaLink !== null) say(`${viaLink} is a pseudo-filesystem of the kernel: captures cannot be written there`);
    try {
      const fs = PSEUDO_FS[statfsSync(real).type];
      if (fs !== undefined) say(`on ${fs}, a pseudo-filesystem of the kernel: captures cannot be written there`);
    } catch (e) {
      if (e instanceof UsageError) throw e;
    }
    const existed = anc === abs;
    const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    let staging: string;
    if (existed) {
      removeStale(abs, STAGING_PREFIX);
      const foreign = readdirSync(abs).filter((n) => CAPTURE_NAME.test(n) && !readManifest(abs).includes(n));
      if (foreign.length > 0) {
        const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, … (${foreign.length} in all)` : '');
        say(`holds capture files no wirebox run listed in ${MANIFEST} (${shown}): remove them or choose another folder, so that two runs never mix`);
      }
      staging = join(abs, `${STAGING_PREFIX}${tag}`);
    } else {
      const prefix = `.wirebox-${basename(abs)}-`;
      removeStale(anc, prefix);
      staging = join(anc, `${prefix}${tag}`);
    }
    try {
      mkdirSync(staging); // not recursive: `anc` exists
    } catch (e) {
      return say(`cannot ${existed ? 'write into it' : `create it in ${anc}`}: ${errnoText(e)}`);
    }
    live.add(staging);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const d of live) rmSync(d, { recursive: true, force: true });
      });
    }
    return new OutputFolder(out, abs, staging, existed);
  }

  /**
   * Puts the staged files in place: removes the files of the previous run listed in the manifest, moves
   * the new ones in, writes the manifest. Returns the final paths (spelled from `-o` as given).
   */
  commit(staged: string[]): string[] {
    const names = staged.map((p) => basename(p));
    try {
      if (!this.existed) {
        // Create the missing folders above only now, then the one rename that makes the run appear.
        const missing: string[] = [];
        for (let d = dirname(this.abs); statOrNull(d) === null; d = dirname(d)) missing.unshift(d);
        for (const d of missing) mkdirSync(d);
        writeManifest(this.staging, names);
        renameSync(this.staging, this.abs);
      } else {
        for (const old of readManifest(this.abs)) {
          try {
            unlinkSync(join(this.abs, old));
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
        }
        for (const n of names) renameSync(join(this.staging, n), join(this.abs, n));
        writeManifest(this.abs, names);
        rmdirSync(this.staging);
      }
    } catch (e) {
      this.discard();
      throw new UsageError(`${this.out}: cannot put the captures in place: ${errnoText(e)}`);
    }
    this.done = true;
    live.delete(this.staging);
    return names.map((n) => join(this.out, n));
  }

  /** Removes the staging folder and everything in it (an error or a signal); `-o` is left as it was. */
  discard(): void {
    if (this.done) return;
    this.done = true;
    live.delete(this.staging);
    rmSync(this.staging, { recursive: true, force: true });
  }
}
