// The plugin's log: appended to `logFile` when the config names one, warnings and errors to stderr otherwise.
// stdout belongs to the CNI result.
import { appendFileSync } from 'node:fs';
import type { LogLevel } from './config.ts';

const ORDER: Record<LogLevel, number> = { panic: 0, error: 1, warning: 2, info: 3, debug: 4 };

export class Logger {
  private level: LogLevel = 'warning';
  private file: string | undefined;
  prefix = '';

  configure(level: LogLevel, file?: string): void {
    this.level = level;
    this.file = file;
  }

  private write(level: LogLevel, msg: string): void {
    if (ORDER[level] > ORDER[this.level]) return;
    const line = `${new Date().toISOString()} [${level}] sriov-lab-cni${this.prefix ? ` ${this.prefix}` : ''}: ${msg}\n`;
    if (this.file) {
      try {
        appendFileSync(this.file, line);
        return;
      } catch {
        // fall back to stderr: a bad logFile must not fail the call
      }
    }
    if (ORDER[level] <= ORDER.warning) process.stderr.write(line);
  }

  error(msg: string): void {
    this.write('error', msg);
  }
  warn(msg: string): void {
    this.write('warning', msg);
  }
  info(msg: string): void {
    this.write('info', msg);
  }
  debug(msg: string): void {
    this.write('debug', msg);
  }
}
