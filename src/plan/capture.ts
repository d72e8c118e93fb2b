// Choosing what to capture: the top-level `capture: { interfaces: [GLOB, …] }` key and `--capture GLOB`
// narrow the interfaces that get a capture file to those whose capture name `<node>.<interface>` matches
// one of the globs (../scenario/glob.ts). Both back ends read the same `capture` flag from the plan, so
// `wirebox run`, `wirebox real` (one tcpdump per captured interface) and `wirebox verify` capture exactly
// the same set, and an interface left out has no tap at all — it costs nothing for capture.

import type { WorldPlan } from './plan.js';
import { globRegExp } from '../scenario/glob.js';

/**
 * Keeps `capture` only on interfaces that would be captured anyway (every interface but `lo`, unless a
 * later key says otherwise) and match one of `globs`. Returns the globs that matched no such interface
 * (a typo, most likely) with a message naming what there is, for the caller to report at its own place.
 */
export function selectCaptures(plan: WorldPlan, globs: string[]): { glob: string; problem: string }[] {
  const res = globs.map(globRegExp);
  const used = new Array<boolean>(globs.length).fill(false);
  const eligible: string[] = [];
  for (const ns of plan.namespaces) {
    for (const i of ns.interfaces) {
      if (!i.capture) continue;
      eligible.push(i.captureName);
      let hit = false;
      for (let k = 0; k < res.length; k++) {
        if (res[k]!.test(i.captureName)) {
          used[k] = true;
          hit = true;
        }
      }
      i.capture = hit;
    }
  }
  const there = eligible.length > 12 ? `${eligible.slice(0, 12).join(', ')} … (${eligible.length} in all)` : eligible.join(', ') || 'none';
  return globs.flatMap((glob, k) => (used[k] ? [] : [{ glob, problem: `${glob} matches no interface; the interfaces are ${there}` }]));
}
