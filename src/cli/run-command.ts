// podflow run: load the config (or the embedded default), start the service,
// and stop it cleanly on SIGINT/SIGTERM with a final export.

import { defaultRegistry } from '../components.ts';
import { loadConfig } from '../config/resolve.ts';
import { PodflowError } from '../errors/podflow-error.ts';
import { createLogger, type LogLevel } from '../service/logger.ts';
import { Service } from '../service/service.ts';
import { probeEbpf } from '../receiver/ebpf/probe.ts';
import { chooseDefaultConfig } from './default-config.ts';

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface RunOptions {
  configs: string[];
  logLevel: string | undefined;
}

export async function runCommand(opts: RunOptions): Promise<number> {
  if (opts.logLevel !== undefined && !LOG_LEVELS.includes(opts.logLevel as LogLevel)) {
    throw new PodflowError('PODFLOW_USAGE', `--log-level: invalid value "${opts.logLevel}" (valid values: [${LOG_LEVELS.join(' ')}])`);
  }
  const sources = opts.configs.length ? opts.configs : [await embeddedDefault()];
  const cfg = await loadConfig(sources, defaultRegistry());
  const logs = cfg.service.telemetry.logs;
  const logger = createLogger({ level: (opts.logLevel as LogLevel | undefined) ?? logs.level, encoding: logs.encoding });
  for (const kind of ['receivers', 'processors', 'exporters', 'extensions'] as const) {
    for (const rc of cfg[kind].values()) {
      if (rc.deprecatedAlias) {
        logger.warn(`"${rc.deprecatedAlias}" is a deprecated alias; use "${rc.type}"`, { component: rc.id });
      }
    }
  }
  const service = new Service(cfg, { logger });
  await service.start();
  // Receivers' timers are unref'd so that tests and library users can exit; the
  // CLI keeps the process alive itself until a signal arrives.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn('second signal: exiting without waiting for the final export', { signal });
        process.exit(130);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      service.shutdown().finally(() => clearInterval(keepAlive)).then(() => resolve(0), (e: unknown) => {
        logger.error('shutdown failed', { error: e });
        resolve(1);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function embeddedDefault(): Promise<string> {
  const choice = chooseDefaultConfig(await probeEbpf());
  process.stderr.write(choice.notice + '\n');
  return choice.config;
}
