// podflow's command line: run | validate | components | top, --version, --help.
// User errors (PodflowError) print their message and exit 1 without a stack
// trace; anything else is a podflow bug and keeps its stack.

import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.ts';
import { isPodflowError, PodflowError } from '../errors/podflow-error.ts';
import { VERSION } from '../service/version.ts';
import { componentsCommand } from './components-command.ts';
import { HELP } from './help.ts';
import { runCommand } from './run-command.ts';
import { topCommand } from './top-command.ts';
import { validateCommand } from './validate-command.ts';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      'log-level': { type: 'string' },
      json: { type: 'boolean' },
      endpoint: { type: 'string' },
      sort: { type: 'string' },
      namespace: { type: 'string' },
    },
  });
  if (values.version) {
    process.stdout.write(`podflow ${VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return values.help || command === 'help' ? 0 : 2;
  }
  if (rest.length) throw new PodflowError('PODFLOW_USAGE', `unexpected argument "${rest[0]}" after "${command}"; see podflow --help`);
  const configs = values.config ?? [];
  switch (command) {
    case 'run':
      return runCommand({ configs, logLevel: values['log-level'] });
    case 'validate':
      return validateCommand(configs);
    case 'components':
      return componentsCommand(values.json ?? false);
    case 'top':
      return topCommand({ endpoint: values.endpoint, sort: values.sort, namespace: values.namespace });
    default:
      throw new PodflowError('PODFLOW_USAGE', `unknown command "${command}" (valid commands: run, validate, components, top); see podflow --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof ConfigError) {
      const n = e.problems.length;
      process.stderr.write(`Error: invalid configuration: ${n} problem${n === 1 ? '' : 's'}\n  ${e.message.split('\n').join('\n  ')}\n`);
      process.exitCode = 1;
    } else if (isPodflowError(e)) {
      process.stderr.write(`Error: ${e.message}\n`);
      process.exitCode = 1;
    } else if (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`Error: ${e.message}; see podflow --help\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`podflow: internal error (please report): ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 70;
    }
  },
);
