// Loading a scenario file: parse (YAML or JSON: the fast reader in ./fast-yaml.ts for the common subset,
// else the `yaml` package; both keep positions and give the same tree),
// validate against the declarative schema (./spec.ts), then build the typed Scenario with its defaults
// and run the checks that span the file (./build.ts). Any problem throws one ScenarioError carrying all
// problems found (up to ScenarioError.MAX_ISSUES), each as file:line:col: key.path: what was expected.

import { readFileSync } from 'node:fs';
import { buildScenario } from './build.js';
import { ScenarioError, type ScenarioIssue } from './errors.js';
import { validate } from './schema.js';
import { scenarioSchema } from './spec.js';
import { parseTree, type Val } from './tree.js';
import { NO_POS, fastParseTree } from './fast-yaml.js';
import type { Scenario } from './types.js';

export { ScenarioError, formatIssue, type ScenarioIssue } from './errors.js';
export type * from './types.js';

/** Read and load `path`. A file that cannot be read is a ScenarioError too (line 0). */
export function loadScenarioFile(path: string, opts: { positions?: boolean } = {}): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new ScenarioError([{ file: path, line: 0, col: 0, path: '', message: `cannot read the scenario: ${why}` }]);
  }
  return parseScenario(text, path, opts);
}

/**
 * Parse scenario text. `positions: false` reads it without recording where each value was written
 * (less memory and time for big files); a problem found while loading is then placed by reading the
 * file again with positions. A caller that compiles the result re-reads it the same way on a planner
 * error (src/cli/common.ts's loadPlan). `fileName` is used in messages, for the default scenario name, and to decide the
 * syntax: a `.json` name (or text starting with `{`) is read as JSON, which must then be strict JSON.
 */
export function parseScenario(text: string, fileName: string, opts: { positions?: boolean } = {}): Scenario {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const issues: ScenarioIssue[] = [];
  const isJson = /\.json$/i.test(fileName) || /^\s*\{/.test(text);
  if (isJson) {
    const jsonProblem = strictJsonProblem(text, fileName);
    if (jsonProblem) throw new ScenarioError([jsonProblem]);
  }
  // The fast reader first; the `yaml` package for what it does not cover and to word syntax errors.
  let tree = fastParseTree(text, opts.positions ?? true);
  if (tree === null) {
    const full = parseTree(text, fileName);
    if (!full.tree) throw new ScenarioError(full.issues);
    tree = full.tree;
  }
  if (tree.pos === NO_POS && opts.positions === false) {
    // Read without positions: on any problem, read again with them so the message names the place.
    const quick = tryQuick(tree, fileName);
    if (quick) return quick;
    return parseScenario(text, fileName);
  }
  const ok = validate(scenarioSchema, tree, '', (pos, path, message) => {
    issues.push({ file: fileName, line: pos.line, col: pos.col, path, message });
  });
  if (!ok) throw new ScenarioError(issues.length ? issues : [{ file: fileName, line: 1, col: 1, path: '', message: 'invalid scenario' }]);
  const built = buildScenario(tree, fileName);
  if (built.issues.length > 0) throw new ScenarioError(sortIssues(built.issues));
  return built.scenario;
}

/** The scenario from a tree without positions, or null when there is any problem to place. */
function tryQuick(tree: Val, fileName: string): Scenario | null {
  let bad = false;
  if (!validate(scenarioSchema, tree, '', () => (bad = true)) || bad) return null;
  const built = buildScenario(tree, fileName);
  return built.issues.length ? null : built.scenario;
}

function sortIssues(issues: ScenarioIssue[]): ScenarioIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
}

/**
 * JSON files go through the YAML parser (for positions), which accepts more than JSON (comments,
 * unquoted strings). For a `.json` file, check with JSON.parse first and map its error to line:col.
 */
function strictJsonProblem(text: string, file: string): ScenarioIssue | null {
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    const msg = (e as Error).message;
    let offset = text.length;
    const m = /position (\d+)/.exec(msg);
    if (m) offset = Number(m[1]);
    let line = 1;
    let col = 1;
    for (let i = 0; i < offset && i < text.length; i++) {
      if (text[i] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    const short = msg.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    return { file, line, col, path: '', message: `JSON syntax error: ${short}` };
  }
}
