import type { Where } from './types.js';

/** One problem in a scenario file, at a place. */
export interface ScenarioIssue {
  file: string;
  /** 1-based; 0 when the file could not be read at all. */
  line: number;
  col: number;
  /** Key path, e.g. "hosts.dh.interfaces.eth0.ip"; "" for the document itself. */
  path: string;
  message: string;
}

/** `file:line:col: path: message` (the path is left out when empty). */
export function formatIssue(i: ScenarioIssue): string {
  const place = i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file;
  return i.path ? `${place}: ${i.path}: ${i.message}` : `${place}: ${i.message}`;
}

/**
 * A scenario that cannot be run. Carries every problem found (up to MAX_ISSUES); `file`, `line`, `col`,
 * `path` are those of the first. `message` is all of them, one per line.
 */
export class ScenarioError extends Error {
  static readonly MAX_ISSUES = 20;
  readonly issues: ScenarioIssue[];
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;

  constructor(issues: ScenarioIssue[]) {
    if (issues.length === 0) throw new Error('ScenarioError needs at least one issue');
    const shown = issues.slice(0, ScenarioError.MAX_ISSUES);
    const extra = issues.length - shown.length;
    super(shown.map(formatIssue).join('\n') + (extra > 0 ? `\n(${extra} more errors not shown)` : ''));
    this.name = 'ScenarioError';
    this.issues = shown;
    const first = shown[0]!;
    this.file = first.file;
    this.line = first.line;
    this.col = first.col;
    this.path = first.path;
  }

  /** For later stages (the planner): an error about something the scenario wrote at `where`. */
  static at(where: Where, message: string): ScenarioError {
    return new ScenarioError([{ file: where.file, line: where.line, col: where.col, path: where.path, message }]);
  }
}
