// Whatever the input, the loader returns a Scenario or throws a ScenarioError with a place — never
// another exception (the CLI prints ScenarioErrors in one line; anything else would be a stack trace).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseScenario, ScenarioError } from '../../src/scenario/load.js';

const root = join(import.meta.dirname, '../..');
const fixtures = ['bridge-learning', 'nat-basic', 'publish', 'vm-nat'].map((n) =>
  readFileSync(join(root, 'fixtures/real-captures', n, 'scenario.yaml'), 'utf8'),
);

function outcome(text: string, file: string): 'ok' | 'error' {
  try {
    parseScenario(text, file);
    return 'ok';
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    const lines = text.split('\n').length;
    for (const i of e.issues) {
      expect(i.file).toBe(file);
      expect(i.line).toBeGreaterThanOrEqual(1);
      expect(i.line).toBeLessThanOrEqual(lines + 1);
      expect(i.col).toBeGreaterThanOrEqual(1);
      expect(i.message.length).toBeGreaterThan(0);
    }
    return 'error';
  }
}

describe('loader robustness', () => {
  it('random JSON documents (as JSON and as YAML) load or fail with a ScenarioError', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        outcome(JSON.stringify(v), 'r.json');
        outcome(stringify(v), 'r.yaml');
      }),
      { numRuns: 150 },
    );
  });

  it('fixtures with a line cut or a character changed load or fail with a ScenarioError', () => {
    fc.assert(
      fc.property(fc.nat(3), fc.nat(), fc.nat(), fc.constantFrom(' ', ':', '{', '}', '[', '-', '"', '0', 'x', '\n', '#', '.'), (f, a, b, ch) => {
        const text = fixtures[f]!;
        const i = a % text.length;
        outcome(text.slice(0, i) + ch + text.slice(i + 1), 'm.yaml');
        const lines = text.split('\n');
        lines.splice(b % lines.length, 1);
        outcome(lines.join('\n'), 'm.yaml');
      }),
      { numRuns: 150 },
    );
  });

  it('scenario-shaped random documents load or fail with a ScenarioError', () => {
    const name = fc.constantFrom('a', 'b', 'web', 'eth0', 'wan', '..', 'x/y', '1');
    const scalar = fc.oneof(
      fc.constantFrom('192.0.2.1/24', '192.0.2.1', '10.0.0.0/8', 'default', 'bridge', 'host', 'none', 'container:a', '8080:80', '2222:22/udp'),
      fc.constantFrom('200ms', '1s', 0, 80, 70000, true, null, 'user', 'nat', 'bridged', 'macvlan', '02:00:00:00:00:01', 'a:80', 'web:80'),
    );
    const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.oneof(name, fc.constantFrom('wire', 'ip', 'tcp', 'udp', 'ping', 'from', 'echo', 'reply', 'network', 'mode', 'interfaces', 'docker', 'containers', 'vms', 'services', 'routes', 'to', 'via')), tie('v'), { maxKeys: 4 })),
    })).v;
    const doc = fc.record({
      version: fc.constantFrom(1, 1, 2),
      wires: fc.dictionary(name, fc.constant({}), { maxKeys: 2 }),
      hosts: fc.dictionary(name, value, { maxKeys: 3 }),
      traffic: fc.array(value, { maxLength: 3 }),
    });
    const seen = { ok: 0, error: 0 };
    fc.assert(
      fc.property(doc, (d) => {
        seen[outcome(stringify(d), 's.yaml')]++;
      }),
      { numRuns: 250 },
    );
    expect(seen.error).toBeGreaterThan(0);
  });
});
