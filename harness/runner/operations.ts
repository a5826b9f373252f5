// One function per operation of the scenario language, each against a ClusterHandle. An operation either returns
// (with the attachments it collected) or throws one of errors.ts's errors.
import { spawn } from 'node:child_process';
import { stringify } from 'yaml';
import type { ClusterHandle, ExecResult, KubeObject } from '../backend.ts';
import type { Attachment, JsonValue } from '../../reports/types.ts';
import { matchScalar, partialMatch } from '../scenario/match.ts';
import type { MatchResult } from '../scenario/match.ts';
import type { ExecExpect, ExpectedObject, Operation, Scenario, TextExpect } from '../scenario/types.ts';
import type { Clock } from './clock.ts';
import { ExecError, ExpectationError, InterruptedError, SysfsError, WaitTimeoutError } from './errors.ts';

export interface OpContext {
  cluster: ClusterHandle;
  scenario: Scenario;
  step: string;
  phase: 'try' | 'catch' | 'finally';
  clock: Clock;
  signal: AbortSignal;
  /** environment for script operations (SRIOV_LAB_*) */
  env: Record<string, string>;
}

export interface OpOutcome {
  attachments: Attachment[];
}

export async function runOperation(ctx: OpContext, op: Operation): Promise<OpOutcome> {
  const none: OpOutcome = { attachments: [] };
  const c = ctx.cluster;
  switch (op.kind) {
    case 'apply':
      await c.apply(op.objects);
      return none;
    case 'delete':
      for (const ref of op.refs) await c.delete(ref, { wait: op.wait, ...(op.waitMs !== undefined ? { waitMs: op.waitMs } : {}) });
      return none;
    case 'assert':
      for (const e of op.expected) await assertOne(ctx, op.title, e, op.timeoutMs, op.intervalMs);
      return none;
    case 'error':
      for (const e of op.expected) await errorOne(ctx, op.title, e, op.timeoutMs, op.intervalMs);
      return none;
    case 'exec': {
      const r = await c.exec(op.target, op.argv, { input: op.stdin, timeoutMs: op.timeoutMs });
      checkExec(op.argv, r, op.expect);
      return outputAttachment(ctx, op.title, r);
    }
    case 'ip': {
      const r = await c.exec({ node: op.node }, op.argv, { timeoutMs: op.timeoutMs });
      checkExec(op.argv, r, op.expect);
      return outputAttachment(ctx, op.title, r);
    }
    case 'script': {
      const r = await runScript(op.command, { ...ctx.env, ...op.env }, ctx.scenario.dir, op.timeoutMs, ctx.signal);
      checkExec(['sh', '-c', op.command], r, op.expect);
      return outputAttachment(ctx, op.title, r);
    }
    case 'sysfs':
      await sysfsOp(ctx, op);
      return none;
    case 'kubelet':
      for (const n of op.nodes) await c.kubelet(n, op.action);
      return none;
    case 'devicePlugin':
      for (const n of op.nodes) await c.devicePlugin(n, op.action);
      return none;
    case 'nodeReboot':
      for (const n of op.nodes) await c.nodeReboot(n);
      return none;
    case 'fault':
      await c.fault(op.node, op.fault);
      return none;
    case 'advanceClock':
      await c.advanceClock(op.ms);
      return none;
    case 'sleep':
      await ctx.clock.sleep(op.ms, ctx.signal);
      if (ctx.signal.aborted) throw new InterruptedError(op.title);
      return none;
    case 'collect': {
      const attachments: Attachment[] = [];
      for (const n of op.nodes) {
        for (const a of await c.collect(n, op.what)) attachments.push({ ...a, step: ctx.step });
      }
      return { attachments };
    }
    case 'events': {
      const ref = op.ref?.kind && op.ref.name ? { kind: op.ref.kind, name: op.ref.name, namespace: op.ref.namespace } : undefined;
      let events = c.events(ref);
      if (op.ref && !ref) events = events.filter((e) => involves(e, op.ref!));
      const name = ref ? `events-${ref.kind.toLowerCase()}-${ref.name}.yaml` : 'events.yaml';
      return { attachments: [yamlAttachment(name, events, ctx.step)] };
    }
    case 'get': {
      const { kind, name, namespace } = op.ref;
      const objs = name ? [c.get({ kind, name, namespace })].filter((o): o is KubeObject => !!o) : c.list(kind, namespace);
      return { attachments: [yamlAttachment(`${kind.toLowerCase()}${name ? `-${name}` : 's'}.yaml`, name ? (objs[0] ?? null) : objs, ctx.step)] };
    }
  }
}

function involves(e: KubeObject, ref: { kind?: string; name?: string; namespace?: string }): boolean {
  const io = (e as { involvedObject?: { kind?: string; name?: string; namespace?: string } }).involvedObject ?? {};
  return (!ref.kind || io.kind === ref.kind) && (!ref.name || io.name === ref.name) && (!ref.namespace || io.namespace === ref.namespace);
}

function yamlAttachment(name: string, value: unknown, step: string): Attachment {
  return { name, contentType: 'application/yaml', encoding: 'text', body: stringify(value ?? null, { lineWidth: 0 }), step };
}

/** command output is kept only where it helps: in catch (a collector) */
function outputAttachment(ctx: OpContext, title: string, r: ExecResult): OpOutcome {
  if (ctx.phase !== 'catch') return { attachments: [] };
  const body = `$ ${title}\nexit code: ${r.exitCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n`;
  return { attachments: [{ name: `${title.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 60)}.txt`, contentType: 'text/plain', encoding: 'text', body, step: ctx.step }] };
}

// ---- assert / error ----

interface Observation {
  candidates: number;
  best?: MatchResult;
  matched?: MatchResult & { object: KubeObject };
}

function observe(ctx: OpContext, e: ExpectedObject): Observation {
  const o = e.object;
  const kind = String(o.kind);
  const meta = (o.metadata ?? {}) as { name?: JsonValue; namespace?: JsonValue };
  const name = typeof meta.name === 'string' && !meta.name.startsWith('(') && !meta.name.startsWith('~/') ? meta.name : undefined;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const objects = name !== undefined
    ? [ctx.cluster.get({ kind, name, ...(namespace ? { namespace } : {}) })].filter((x): x is KubeObject => !!x)
    : ctx.cluster.list(kind, namespace);
  const obs: Observation = { candidates: objects.length };
  for (const obj of objects) {
    const r = partialMatch(o, obj as unknown as JsonValue);
    if (r.ok) {
      obs.matched = { ...r, object: obj };
      return obs;
    }
    if (!obs.best || r.mismatches.length < obs.best.mismatches.length) obs.best = r;
  }
  return obs;
}

function describeMissing(e: ExpectedObject): string {
  const meta = (e.object.metadata ?? {}) as { name?: JsonValue };
  return typeof meta.name === 'string' ? `${String(e.object.kind)} ${meta.name} does not exist` : `no ${String(e.object.kind)} exists`;
}

/** the longest an assert waits between checks while the cluster reports no change (a backstop, not the mechanism) */
export const CHANGE_BACKSTOP_MS = 1000;

/**
 * Until the cluster next changes (when its handle can say so) or `intervalMs` (when it cannot), at most until the
 * deadline. `next` is taken before the state was sampled, so no change between sampling and waiting is missed.
 */
async function waitForChange(ctx: OpContext, next: Promise<void> | undefined, intervalMs: number, deadline: number): Promise<void> {
  const left = Math.max(0, deadline - ctx.clock.now());
  if (!next) return ctx.clock.sleep(Math.min(intervalMs, left), ctx.signal);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.race([next, ctx.clock.sleep(Math.min(CHANGE_BACKSTOP_MS, left), stop.signal)]);
  } finally {
    stop.abort();
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

async function assertOne(ctx: OpContext, title: string, e: ExpectedObject, timeoutMs: number, intervalMs: number): Promise<void> {
  const start = ctx.clock.now();
  for (;;) {
    await ctx.cluster.settle();
    // after settle (its own work is sampled below), before sampling: a change from here on ends the wait
    const next = ctx.cluster.nextChange?.();
    const obs = observe(ctx, e);
    if (obs.matched) return;
    if (ctx.signal.aborted) throw new InterruptedError(title);
    if (ctx.clock.now() - start >= timeoutMs) {
      const mismatches = obs.best ? obs.best.mismatches.map((m) => (m.path ? `${m.path}: ${m.message}` : m.message)) : [describeMissing(e)];
      throw new WaitTimeoutError({
        waitingFor: title,
        timeoutMs,
        expected: e.text,
        lastObserved: obs.best?.actualText ?? '',
        diff: obs.best?.diff ?? partialMatch(e.object, undefined).diff,
        mismatches,
      });
    }
    await waitForChange(ctx, next, intervalMs, start + timeoutMs);
  }
}

async function errorOne(ctx: OpContext, title: string, e: ExpectedObject, timeoutMs: number, intervalMs: number): Promise<void> {
  const start = ctx.clock.now();
  for (;;) {
    await ctx.cluster.settle();
    // after settle (its own work is sampled below), before sampling: a change from here on ends the wait
    const next = ctx.cluster.nextChange?.();
    const obs = observe(ctx, e);
    if (!obs.matched) return;
    if (ctx.signal.aborted) throw new InterruptedError(title);
    if (ctx.clock.now() - start >= timeoutMs) {
      const o = obs.matched.object;
      throw new ExpectationError(`${o.kind} ${o.metadata.name} still matches what must not match after ${timeoutMs}ms`, {
        expected: `not:\n${e.text.replace(/^/gm, '  ')}`,
        actual: stringify(o, { lineWidth: 0 }),
        details: { timeoutMs, kind: o.kind, name: o.metadata.name },
      });
    }
    await waitForChange(ctx, next, intervalMs, start + timeoutMs);
  }
}

// ---- exec ----

function textProblems(label: string, want: TextExpect | undefined, got: string): string[] {
  if (!want) return [];
  const out: string[] = [];
  if (want.equals !== undefined && got.replace(/\n+$/, '') !== want.equals.replace(/\n+$/, '')) out.push(`${label} is not ${JSON.stringify(want.equals)}`);
  for (const s of want.contains) if (!got.includes(s)) out.push(`${label} does not contain ${JSON.stringify(s)}`);
  for (const s of want.notContains) if (got.includes(s)) out.push(`${label} contains ${JSON.stringify(s)}`);
  if (want.matches !== undefined && !new RegExp(want.matches, 'm').test(got)) out.push(`${label} does not match /${want.matches}/`);
  return out;
}

export function checkExec(argv: string[], r: ExecResult, expect: ExecExpect): void {
  const problems: string[] = [];
  if (expect.exitCode !== null && r.exitCode !== expect.exitCode) {
    problems.push(r.exitCode === null ? `killed or timed out (expected exit code ${expect.exitCode})` : `exit code ${r.exitCode}, expected ${expect.exitCode}`);
  }
  problems.push(...textProblems('stdout', expect.stdout, r.stdout), ...textProblems('stderr', expect.stderr, r.stderr));
  if (problems.length === 0) return;
  const expected: Record<string, unknown> = {};
  if (expect.exitCode !== null) expected.exitCode = expect.exitCode;
  for (const k of ['stdout', 'stderr'] as const) {
    const t = expect[k];
    if (!t) continue;
    const o: Record<string, unknown> = {};
    if (t.equals !== undefined) o.equals = t.equals;
    if (t.contains.length) o.contains = t.contains;
    if (t.notContains.length) o.notContains = t.notContains;
    if (t.matches !== undefined) o.matches = t.matches;
    expected[k] = o;
  }
  throw new ExecError({
    command: argv,
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    durationMs: r.durationMs,
    problem: problems.join('; '),
    expected: stringify(expected, { lineWidth: 0 }),
    actual: stringify({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }, { lineWidth: 0 }),
  });
}

/** a shell command on the host (the `script` operation) */
export function runScript(command: string, env: Record<string, string>, cwd: string, timeoutMs: number, signal: AbortSignal): Promise<ExecResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // the whole process group: a script's own children must not outlive it
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(kill, timeoutMs);
    signal.addEventListener('abort', kill, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', kill);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', kill);
      resolve({ exitCode: code, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}

// ---- sysfs ----

async function sysfsOp(ctx: OpContext, op: Extract<Operation, { kind: 'sysfs' }>): Promise<void> {
  const c = ctx.cluster;
  if (op.write !== undefined) {
    const r = await c.sysfsWrite(op.node, op.path, op.write);
    if (op.errno !== undefined) {
      if (r.ok) throw new SysfsError({ node: op.node, path: op.path, op: 'write', errno: '', message: `writing ${JSON.stringify(op.write)} to ${op.path} succeeded; expected it to fail with ${op.errno}` });
      if (r.errno !== op.errno) throw new SysfsError({ node: op.node, path: op.path, op: 'write', errno: r.errno, message: `writing ${JSON.stringify(op.write)} to ${op.path} failed with ${r.errno}, expected ${op.errno} (${r.message})` });
      return;
    }
    if (!r.ok) throw new SysfsError({ node: op.node, path: op.path, op: 'write', errno: r.errno, message: `writing ${JSON.stringify(op.write)} to ${op.path} failed: ${r.errno} (${r.message})` });
    if (op.value === undefined) return;
  }
  const start = ctx.clock.now();
  for (;;) {
    const r = await c.sysfsRead(op.node, op.path);
    if (op.errno !== undefined && op.write === undefined) {
      if (r.ok) throw new SysfsError({ node: op.node, path: op.path, op: 'read', errno: '', message: `reading ${op.path} succeeded; expected it to fail with ${op.errno}` });
      if (r.errno !== op.errno) throw new SysfsError({ node: op.node, path: op.path, op: 'read', errno: r.errno, message: `reading ${op.path} failed with ${r.errno}, expected ${op.errno}` });
      return;
    }
    if (!r.ok) throw new SysfsError({ node: op.node, path: op.path, op: 'read', errno: r.errno, message: `reading ${op.path} failed: ${r.errno} (${r.message})` });
    const got = r.value ?? '';
    if (op.value === undefined || matchScalar(op.value, got)) return;
    if (ctx.signal.aborted) throw new InterruptedError(op.title);
    if (ctx.clock.now() - start >= op.timeoutMs) {
      const message = `${op.path} is ${JSON.stringify(got.trim())}, expected ${JSON.stringify(op.value)}`;
      if (op.timeoutMs === 0) throw new ExpectationError(message, { expected: `${op.value}\n`, actual: `${got.trim()}\n`, details: { node: op.node, path: op.path } });
      throw new WaitTimeoutError({ waitingFor: op.title, timeoutMs: op.timeoutMs, expected: `${op.value}\n`, lastObserved: `${got.trim()}\n`, mismatches: [message] });
    }
    await c.settle();
    await ctx.clock.sleep(100, ctx.signal);
  }
}
