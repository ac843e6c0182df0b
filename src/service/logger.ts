// Structured logging: one JSON object per line on stderr (the Collector's "json"
// encoding), or a compact human line ("console" encoding).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  encoding?: 'json' | 'console';
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const encoding = opts.encoding ?? 'json';
  const log = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    const all = { ...bound, ...fields };
    if (encoding === 'json') {
      write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...all }, errorReplacer));
    } else {
      const extra = Object.entries(all).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, errorReplacer)}`);
      write(`${new Date().toISOString()}\t${level}\t${msg}${extra.length ? '\t' + extra.join(' ') : ''}`);
    }
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger(opts, { ...bound, ...fields }),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { message: value.message, ...('code' in value ? { code: value.code } : {}) };
  return value;
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = createLogger({ write: () => undefined, level: 'error' });
