// A config error that carries every problem found, each with its path, so the
// CLI can print them all at once (one per line) and tests can assert each.

import type { ErrorCode } from '../errors/codes.ts';
import { PodflowError } from '../errors/podflow-error.ts';
import { formatProblem, type Problem } from './schema.ts';

export class ConfigError extends PodflowError {
  readonly problems: readonly Problem[];
  constructor(code: ErrorCode, problems: readonly Problem[]) {
    super(code, problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
