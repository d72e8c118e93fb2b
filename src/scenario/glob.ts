// Interface globs for the top-level `capture: { interfaces: [GLOB, …] }` key and `--capture GLOB`: shell
// wildcards over capture names `<node>.<interface>` — `*` any run of characters (dots included, so
// `*.eth0` is every node's eth0 and `dh.*` every interface of dh), `?` exactly one, anything else itself.
// Only the characters node and interface names can hold are accepted, so a glob is never a path.

/** Letters, digits, ".", "-", "_", and the wildcards "*" and "?"; at most 200 characters. */
export function isCaptureGlob(s: string): boolean {
  return s.length > 0 && s.length <= 200 && /^[A-Za-z0-9._*?-]+$/.test(s);
}

/** The glob as an anchored regular expression. */
export function globRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.\\^$+()[\]{}|-]/g, '\\$&');
  }
  return new RegExp(re + '$');
}
