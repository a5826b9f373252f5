// Running a command to completion with its output collected: shared by a simulated node (commands entered into its
// namespaces) and the machine a node runtime runs on directly (a QEMU guest, a real host).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface ExecOutcome {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Spawns argv with `spawnFn`, feeds `input`, collects stdout/stderr; SIGKILL after timeoutMs. Never rejects. */
export function execWith(spawnFn: (argv: string[], opts: SpawnOptions) => ChildProcess, argv: string[], o: ExecOptions = {}): Promise<ExecOutcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let c: ChildProcess;
    try {
      c = spawnFn(argv, { stdio: ['pipe', 'pipe', 'pipe'], env: o.env });
    } catch (e) {
      resolve({ exitCode: 127, stdout: '', stderr: `${argv[0]}: ${(e as Error).message}\n`, durationMs: Date.now() - t0 });
      return;
    }
    let stdout = '';
    let stderr = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = o.timeoutMs ? setTimeout(() => c.kill('SIGKILL'), o.timeoutMs) : null;
    c.on('error', (e) => {
      // ENOENT of the executable: reported like a shell does
      stderr += `${argv[0]}: ${e.message}\n`;
    });
    c.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ exitCode: code, stdout, stderr, durationMs: Date.now() - t0 });
    });
    c.stdin!.on('error', () => undefined); // a command that exits without reading its input
    c.stdin!.end(o.input ?? '');
  });
}

/** spawn() of argv on this machine, in "/" (the node runtime of a real machine or a guest). */
export function spawnLocal(argv: string[], opts: SpawnOptions = {}): ChildProcess {
  const [cmd, ...rest] = argv;
  return spawn(cmd, rest, { cwd: '/', ...opts });
}
