// Every file in fixtures/scenarios/bad is refused with the error its header names, at the place it names:
//   # expect: <substring of the error message>
//   # at: <line>:<col>        (of the first error)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, ScenarioError } from '../../src/scenario/load.js';

const dir = join(import.meta.dirname, '../../fixtures/scenarios/bad');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('bad scenarios', () => {
  it('has a fixture for each kind of error', () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
  });

  for (const f of files) {
    it(f, () => {
      const path = join(dir, f);
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n');
      const want = /^# expect: (.+)$/.exec(lines[0]!)?.[1];
      const at = /^# at: (\d+):(\d+)$/.exec(lines[1]!);
      expect(want, 'first line is # expect: …').toBeDefined();
      expect(at, 'second line is # at: L:C').not.toBeNull();
      let err: unknown;
      try {
        loadScenarioFile(path);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ScenarioError);
      const se = err as ScenarioError;
      expect(se.message).toContain(want);
      expect(se.file).toBe(path);
      expect([se.line, se.col]).toEqual([Number(at![1]), Number(at![2])]);
      // The first line of the message is file:line:col: …
      expect(se.message.split('\n')[0]!.startsWith(`${path}:${at![1]}:${at![2]}: `)).toBe(true);
    });
  }
});
