// The containers of a node's pods, as a container runtime runs them: each container's command/args is a process in
// the pod's network namespace (the node's own with hostNetwork), inside the node, with its stdout/stderr kept in a
// bounded ring per instance (and the previous instance's, for `logs --previous`). Exit sets the container's state and
// the pod's restartPolicy applies, with the kubelet's back-off. A container without a command has no entrypoint we
// could know of (no image is pulled): it is a placeholder that keeps running with no process. Every change of a
// pod's containers is reported whole (`PodContainersReport`), so the control plane can apply the newest one.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** One container's state as the kubelet reports it in a pod's containerStatuses. */
export interface ContainerStateLite {
  running?: { startedAt: string };
  waiting?: { reason: string; message?: string };
  terminated?: { exitCode: number; signal?: number; reason: string; startedAt: string; finishedAt: string; containerID: string };
}

export interface ContainerReport {
  name: string;
  image: string;
  containerID: string;
  restartCount: number;
  state: ContainerStateLite;
  lastState: ContainerStateLite;
  /** the instance started (a process, or the placeholder) */
  started: boolean;
}

/** All containers of one pod, after a change; `seq` grows with every report of the node. */
export interface PodContainersReport {
  uid: string;
  namespace: string;
  name: string;
  seq: number;
  containers: ContainerReport[];
}

/** A read of a container's log from `offset` (bytes since the instance started). */
export interface LogRead {
  /** base64 of the bytes */
  data: string;
  /** where the next read goes on */
  offset: number;
  /** the instance ended: nothing will follow */
  ended: boolean;
}

export interface ContainerRuntimeOptions {
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
  report(r: PodContainersReport): void;
  /** the kubelet's first restart back-off (10 s); doubled per restart up to maxBackoffMs (300 s) */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** bytes of output kept per container instance */
  logBytes?: number;
  /** stopped pods whose logs are kept (a Completed pod's logs are still read) */
  keepStoppedPods?: number;
  /** a container's process has started (each instance) */
  spawned?(pod: { uid: string; namespace: string; name: string }, container: V1Container, proc: ChildProcess): void;
}

const DEFAULT_LOG_BYTES = 1024 * 1024;

/** The bytes a container instance wrote, the oldest dropped past the limit. */
class LogRing {
  private chunks: Buffer[] = [];
  private size = 0;
  /** bytes written in all */
  total = 0;
  ended = false;
  private readonly waiters = new Set<() => void>();
  constructor(private readonly limit: number) {}

  write(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    this.total += b.length;
    while (this.size - this.chunks[0].length >= this.limit) this.size -= this.chunks.shift()!.length;
    this.wake();
  }
  end(): void {
    this.ended = true;
    this.wake();
  }
  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
  /** the kept bytes from `offset` on (from the oldest kept when it is gone already) */
  from(offset: number): Buffer {
    const all = Buffer.concat(this.chunks);
    const first = this.total - all.length;
    return all.subarray(Math.max(0, offset - first));
  }
  /** the offset where the last `lines` lines begin */
  tailOffset(lines: number): number {
    const all = Buffer.concat(this.chunks);
    const first = this.total - all.length;
    let i = all.length;
    if (i > 0 && all[i - 1] === 0x0a) i--;
    for (let n = 0; n < lines && i > 0; ) {
      i--;
      if (all[i] === 0x0a && ++n === lines) {
        i++;
        break;
      }
    }
    return first + (lines <= 0 ? all.length : i);
  }
  /** resolves when there is output past `offset`, the instance ended, or after waitMs */
  wait(offset: number, waitMs: number): Promise<void> {
    if (this.total > offset || this.ended || waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.waiters.add(done);
    });
  }
}

interface Instance {
  containerID: string;
  log: LogRing;
  proc?: ChildProcess;
  exited?: Promise<void>;
  startedAt: string;
}

interface ContainerRun {
  spec: V1Container;
  report: ContainerReport;
  current?: Instance;
  previous?: Instance;
  restartTimer?: NodeJS.Timeout;
}

interface PodRun {
  uid: string;
  namespace: string;
  name: string;
  restartPolicy: string;
  containers: Map<string, ContainerRun>;
  stopping: boolean;
  /** what a container runs: its image's program, or its command and args; empty for the placeholder */
  programOf: (c: V1Container) => string[];
  argvOf: (c: V1Container) => { argv: string[]; env: NodeJS.ProcessEnv };
}

/** The argv a container runs: its command then its args; none at all is the placeholder. */
export function containerArgv(c: V1Container): string[] {
  return [...(c.command ?? []), ...(c.args ?? [])];
}

/** The exit of a process as a container's terminated state: 128+n for a signal, like a container runtime. */
function exitState(code: number | null, signal: NodeJS.Signals | null): { exitCode: number; signal?: number; reason: string } {
  if (signal) {
    const n = SIGNALS[signal] ?? 9;
    return { exitCode: 128 + n, signal: n, reason: 'Error' };
  }
  const exitCode = code ?? 1;
  return { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' };
}
const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

export class ContainerRuntime {
  private readonly pods = new Map<string, PodRun>();
  /** stopped pods' logs, oldest first */
  private readonly stopped = new Map<string, PodRun>();
  private seq = 0;
  constructor(private readonly opts: ContainerRuntimeOptions) {}

  private emit(p: PodRun): void {
    this.opts.report({ uid: p.uid, namespace: p.namespace, name: p.name, seq: ++this.seq, containers: [...p.containers.values()].map((c) => structuredClone(c.report)) });
  }

  /**
   * Starts a pod's containers. `enter` is the argv prefix that puts a container's process in the pod's network
   * namespace (empty for hostNetwork) with its volumes mounted; `env` gives a container's environment (the device plugin's envs included).
   */
  startPod(pod: V1Pod, enter: (c: V1Container) => string[], env: (c: V1Container) => NodeJS.ProcessEnv, program?: (c: V1Container) => string[] | undefined): PodContainersReport {
    const uid = pod.metadata!.uid!;
    const programOf = (c: V1Container) => program?.(c) ?? containerArgv(c);
    const p: PodRun = {
      uid,
      namespace: pod.metadata!.namespace ?? 'default',
      name: pod.metadata!.name!,
      restartPolicy: pod.spec?.restartPolicy ?? 'Always',
      containers: new Map(),
      stopping: false,
      programOf,
      argvOf: (c) => ({ argv: [...enter(c), ...programOf(c)], env: env(c) }),
    };
    this.pods.set(uid, p);
    for (const spec of pod.spec?.containers ?? []) {
      const c: ContainerRun = {
        spec,
        report: { name: spec.name, image: spec.image ?? '', containerID: '', restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } }, lastState: {}, started: false },
      };
      p.containers.set(spec.name, c);
      this.startInstance(p, c);
    }
    this.emit(p);
    return { uid, namespace: p.namespace, name: p.name, seq: this.seq, containers: [...p.containers.values()].map((c) => structuredClone(c.report)) };
  }

  private startInstance(p: PodRun, c: ContainerRun): void {
    const startedAt = new Date().toISOString();
    const containerID = `sim://${createHash('sha256').update(`${p.uid}/${c.spec.name}/${c.report.restartCount}/${startedAt}`).digest('hex')}`;
    const inst: Instance = { containerID, log: new LogRing(this.opts.logBytes ?? DEFAULT_LOG_BYTES), startedAt };
    if (c.current) c.previous = c.current;
    c.current = inst;
    c.report = { ...c.report, containerID, state: { running: { startedAt } }, started: true };
    const argv = p.programOf(c.spec);
    if (argv.length === 0) return; // the placeholder: running, with nothing to run
    const { argv: full, env } = p.argvOf(c.spec);
    let proc: ChildProcess;
    try {
      // its own process group, so that a shell's children go with it
      proc = this.opts.spawn(full, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    } catch (e) {
      inst.log.write(Buffer.from(`${(e as Error).message}\n`));
      this.exited(p, c, inst, 128, null);
      return;
    }
    inst.proc = proc;
    this.opts.spawned?.(p, c.spec, proc);
    proc.stdout!.on('data', (d: Buffer) => inst.log.write(d));
    proc.stderr!.on('data', (d: Buffer) => inst.log.write(d));
    proc.on('error', (e) => inst.log.write(Buffer.from(`${argv[0]}: ${e.message}\n`)));
    inst.exited = new Promise((resolve) => {
      proc.once('close', (code, signal) => {
        this.exited(p, c, inst, code, signal);
        resolve();
      });
    });
  }

  private exited(p: PodRun, c: ContainerRun, inst: Instance, code: number | null, signal: NodeJS.Signals | null): void {
    inst.log.end();
    if (c.current !== inst) return;
    const finishedAt = new Date().toISOString();
    const terminated = { ...exitState(code, signal), startedAt: inst.startedAt, finishedAt, containerID: inst.containerID };
    c.report = { ...c.report, state: { terminated }, started: false };
    const restart = !p.stopping && (p.restartPolicy === 'Always' || (p.restartPolicy === 'OnFailure' && terminated.exitCode !== 0));
    if (restart) {
      const backoff = Math.min((this.opts.backoffMs ?? 10_000) * 2 ** c.report.restartCount, this.opts.maxBackoffMs ?? 300_000);
      c.report = {
        ...c.report,
        lastState: { terminated },
        state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${c.spec.name} pod=${p.name}_${p.namespace}(${p.uid})` } },
      };
      c.restartTimer = setTimeout(() => {
        c.restartTimer = undefined;
        if (p.stopping) return;
        c.report = { ...c.report, restartCount: c.report.restartCount + 1 };
        this.startInstance(p, c);
        this.emit(p);
      }, backoff);
    }
    this.emit(p);
  }

  /** Ends a pod's containers: SIGTERM to each process group, SIGKILL after the grace period; keeps their logs. */
  async stopPod(uid: string, gracePeriodMs: number): Promise<void> {
    const p = this.pods.get(uid);
    if (!p) return;
    p.stopping = true;
    this.pods.delete(uid);
    const waits: Array<Promise<void>> = [];
    for (const c of p.containers.values()) {
      if (c.restartTimer) clearTimeout(c.restartTimer);
      const inst = c.current;
      if (!inst) continue;
      if (!inst.proc || !inst.exited) {
        inst.log.end();
        continue;
      }
      if (inst.proc.exitCode !== null || inst.proc.signalCode !== null) {
        waits.push(inst.exited);
        continue;
      }
      const pid = inst.proc.pid!;
      signalGroup(pid, 'SIGTERM');
      const kill = setTimeout(() => signalGroup(pid, 'SIGKILL'), gracePeriodMs);
      waits.push(inst.exited.finally(() => clearTimeout(kill)));
    }
    await Promise.all(waits);
    // the group may outlive its leader (a shell's background children)
    for (const c of p.containers.values()) if (c.current?.proc?.pid) signalGroup(c.current.proc.pid, 'SIGKILL');
    this.stopped.set(uid, p);
    while (this.stopped.size > (this.opts.keepStoppedPods ?? 64)) this.stopped.delete(this.stopped.keys().next().value!);
  }

  /** processes of stopped pods' containers whose process group is still alive: none once a pod's stop finished */
  strayProcesses(): Array<{ pod: string; container: string; pid: number }> {
    const out: Array<{ pod: string; container: string; pid: number }> = [];
    for (const p of this.stopped.values()) {
      for (const [name, c] of p.containers) {
        const pid = c.current?.proc?.pid;
        if (pid !== undefined && groupAlive(pid)) out.push({ pod: `${p.namespace}/${p.name}`, container: name, pid });
      }
    }
    return out;
  }

  /** Stops every pod's containers (the node stops). */
  async stopAll(gracePeriodMs: number): Promise<void> {
    await Promise.all([...this.pods.keys()].map((uid) => this.stopPod(uid, gracePeriodMs)));
  }

  private container(uid: string, name: string): ContainerRun {
    const p = this.pods.get(uid) ?? this.stopped.get(uid);
    if (!p) throw new Error(`no pod with uid ${uid} on this node`);
    const c = p.containers.get(name);
    if (!c) throw new Error(`container ${name} is not valid for pod ${p.name}`);
    return c;
  }

  /** Reads a container's log from `offset` (or its last tailLines lines), waiting up to waitMs for more. */
  async readLog(uid: string, name: string, o: { previous?: boolean; offset?: number; tailLines?: number; waitMs?: number }): Promise<LogRead> {
    const c = this.container(uid, name);
    const inst = o.previous ? c.previous : c.current;
    if (!inst) throw new Error(o.previous ? `previous terminated container "${name}" not found` : `container "${name}" has not started`);
    const start = o.offset ?? (o.tailLines !== undefined ? inst.log.tailOffset(o.tailLines) : 0);
    await inst.log.wait(start, o.waitMs ?? 0);
    const data = inst.log.from(start);
    return { data: data.toString('base64'), offset: inst.log.total, ended: inst.log.ended };
  }

}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* gone already */
  }
}
