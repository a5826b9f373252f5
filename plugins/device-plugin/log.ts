// Structured logs: one JSON object per line on stderr, like the kubelet-side components users already parse.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function isLogLevel(s: string): s is LogLevel {
  return s in ORDER;
}

/** A logger writing JSON lines to `write` (stderr by default), dropping entries below `level`. */
export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    const entry: LogFields = { time: new Date().toISOString(), level: lvl, msg, ...fields };
    let line: string;
    try {
      line = JSON.stringify(entry, (_k, v: unknown) => (v instanceof Error ? v.message : v));
    } catch {
      line = JSON.stringify({ time: entry.time, level: lvl, msg });
    }
    write(`${line}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** Collects entries in memory (for tests and embedding). */
export function memoryLogger(): Logger & { entries: Array<LogFields & { level: LogLevel; msg: string }> } {
  const entries: Array<LogFields & { level: LogLevel; msg: string }> = [];
  const push = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    entries.push({ ...fields, level, msg });
  };
  return { entries, debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}
