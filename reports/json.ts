// The JSON reporter: writes the RunResult contract. Keys come out in the contract's order whatever order the producer
// built them in, and undefined fields are dropped, so two runs diff cleanly. parseRunResult reads a saved run back and
// says exactly which field is wrong.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Reporter } from './reporter.ts';
import {
  RUN_RESULT_SCHEMA,
  RUN_RESULT_VERSION,
  TRACE_KINDS,
  type Attachment,
  type JsonValue,
  type OperationResult,
  type ResultError,
  type RunMeta,
  type RunResult,
  type ScenarioResult,
  type SourceLocation,
  type StepResult,
  type TraceEvent,
} from './types.ts';

type Obj = Record<string, unknown>;

/** copies `keys` of `o` in that order, dropping undefined; keys of `o` not listed are dropped */
function pick<T extends object>(o: T, keys: readonly (keyof T & string)[]): T {
  const out: Obj = {};
  for (const k of keys) {
    const v = (o as Obj)[k];
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}

function canonLocation(l: SourceLocation | undefined): SourceLocation | undefined {
  return l && pick(l, ['file', 'line', 'column']);
}

function canonError(e: ResultError | undefined): ResultError | undefined {
  if (!e) return undefined;
  return pick({ ...e, location: canonLocation(e.location) }, [
    'name',
    'message',
    'expected',
    'actual',
    'diff',
    'location',
    'stack',
    'fields',
  ]);
}

function canonOperation(o: OperationResult): OperationResult {
  return pick({ ...o, location: canonLocation(o.location), error: canonError(o.error) }, [
    'kind',
    'title',
    'phase',
    'location',
    'status',
    'startMs',
    'durationMs',
    'error',
  ]);
}

function canonStep(s: StepResult): StepResult {
  return pick(
    { ...s, location: canonLocation(s.location), operations: s.operations.map(canonOperation), error: canonError(s.error) },
    ['name', 'location', 'status', 'startMs', 'durationMs', 'operations', 'error'],
  );
}

type EventOf<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;
/** the members of each kind of event, in the order the canonical JSON has them */
const EVENT_KEYS: { [K in TraceEvent['kind']]: ReadonlyArray<keyof EventOf<K> & string> } = {
  grpc: ['kind', 'atMs', 'node', 'direction', 'method', 'socket', 'request', 'response', 'stream', 'status', 'durationMs'],
  sysfs: ['kind', 'atMs', 'node', 'op', 'path', 'value', 'errno', 'actor'],
  cni: ['kind', 'atMs', 'node', 'command', 'plugin', 'pod', 'env', 'stdin', 'stdout', 'stderr', 'exitCode', 'durationMs'],
  scheduler: ['kind', 'atMs', 'node', 'pod', 'result', 'nodeName', 'message'],
  pod: ['kind', 'atMs', 'node', 'pod', 'from', 'to', 'reason', 'message'],
  fault: ['kind', 'atMs', 'node', 'fault', 'action', 'target', 'detail'],
  resource: ['kind', 'atMs', 'node', 'resource', 'capacity', 'allocatable', 'allocated'],
  log: ['kind', 'atMs', 'node', 'source', 'level', 'message'],
};

function canonEventOf<K extends TraceEvent['kind']>(e: EventOf<K>, kind: K): EventOf<K> {
  return pick(e, EVENT_KEYS[kind]);
}

function canonEvent(e: TraceEvent): TraceEvent {
  switch (e.kind) {
    case 'grpc': {
      const out = canonEventOf(e, 'grpc');
      if (e.status) out.status = pick(e.status, ['code', 'name', 'details']);
      return out;
    }
    case 'sysfs':
      return canonEventOf(e, 'sysfs');
    case 'cni':
      return canonEventOf(e, 'cni');
    case 'scheduler':
      return canonEventOf(e, 'scheduler');
    case 'pod':
      return canonEventOf(e, 'pod');
    case 'fault':
      return canonEventOf(e, 'fault');
    case 'resource':
      return canonEventOf(e, 'resource');
    case 'log':
      return canonEventOf(e, 'log');
    default:
      // an event of a kind this version does not know is kept as it is (readers ignore it)
      return e;
  }
}

function canonAttachment(a: Attachment): Attachment {
  return pick(a, ['name', 'contentType', 'encoding', 'step', 'body']);
}

function canonScenario(s: ScenarioResult): ScenarioResult {
  return pick(
    {
      ...s,
      location: canonLocation(s.location),
      error: canonError(s.error),
      steps: s.steps.map(canonStep),
      trace: s.trace.map(canonEvent),
      attachments: s.attachments.map(canonAttachment),
    },
    [
      'id',
      'file',
      'name',
      'description',
      'location',
      'tags',
      'resources',
      'nodes',
      'lightweightNodes',
      'status',
      'startedAt',
      'durationMs',
      'skipReason',
      'reproduceCommand',
      'error',
      'steps',
      'attachments',
      'trace',
    ],
  );
}

function canonMeta(m: RunMeta): RunMeta {
  return pick(
    {
      ...m,
      tool: pick(m.tool, ['name', 'version']),
      plugins: m.plugins.map((p) => pick(p, ['role', 'name', 'bundled', 'version', 'sha256', 'path'])),
      host: pick(m.host, ['hostname', 'os', 'arch', 'cpus', 'memoryBytes', 'nodeVersion']),
      kernel: pick(m.kernel, ['release', 'version']),
      nics: m.nics.map((n) =>
        pick(n, ['model', 'vendorDevice', 'pciAddr', 'driver', 'totalVfs', 'node', 'simulated']),
      ),
      ci: m.ci && pick(m.ci, ['provider', 'url', 'commit', 'ref']),
    },
    [
      'id',
      'tool',
      'backend',
      'backendDetail',
      'seed',
      'startedAt',
      'durationMs',
      'interrupted',
      'command',
      'reproduceCommand',
      'host',
      'kernel',
      'nics',
      'plugins',
      'ci',
    ],
  );
}

/** the run in the contract's key order, without undefined fields */
export function canonicalRunResult(run: RunResult): RunResult {
  return {
    schema: RUN_RESULT_SCHEMA,
    version: RUN_RESULT_VERSION,
    run: canonMeta(run.run),
    scenarios: run.scenarios.map(canonScenario),
  };
}

export function serializeRunResult(run: RunResult, options: { indent?: number } = {}): string {
  return `${JSON.stringify(canonicalRunResult(run), null, options.indent ?? 2)}\n`;
}

export function jsonReporter(options: { outputFile: string }): Reporter {
  return {
    name: 'json',
    async onRunEnd(run) {
      await mkdir(dirname(options.outputFile), { recursive: true });
      await writeFile(options.outputFile, serializeRunResult(run));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a saved run.

/** a saved run does not match the contract; `path` is a JSON path like `scenarios[2].steps[0].status` */
export class RunResultError extends Error {
  readonly path: string;
  readonly expected: string;
  readonly found: string;
  readonly file?: string;
  constructor(path: string, expected: string, found: unknown, file?: string) {
    const shown = describe(found);
    super(`${file ? `${file}: ` : ''}${path || '(root)'}: expected ${expected}, found ${shown}`);
    this.name = 'RunResultError';
    this.path = path;
    this.expected = expected;
    this.found = shown;
    this.file = file;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

class Checker {
  constructor(private readonly file?: string) {}
  fail(path: string, expected: string, found: unknown): never {
    throw new RunResultError(path, expected, found, this.file);
  }
  obj(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'an object', v);
    return v as Obj;
  }
  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'an array', v);
    return v;
  }
  str(o: Obj, k: string, path: string, optional = false): void {
    const v = o[k];
    if (optional && v === undefined) return;
    if (typeof v !== 'string') this.fail(`${path}.${k}`, 'a string', v);
  }
  num(o: Obj, k: string, path: string, optional = false): void {
    const v = o[k];
    if (optional && v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${path}.${k}`, 'a number', v);
  }
  bool(o: Obj, k: string, path: string, optional = false): void {
    const v = o[k];
    if (optional && v === undefined) return;
    if (typeof v !== 'boolean') this.fail(`${path}.${k}`, 'true or false', v);
  }
  oneOf(o: Obj, k: string, values: readonly string[], path: string, optional = false): void {
    const v = o[k];
    if (optional && v === undefined) return;
    if (typeof v !== 'string' || !values.includes(v)) this.fail(`${path}.${k}`, `one of ${values.join('|')}`, v);
  }
  strings(o: Obj, k: string, path: string, optional = false): void {
    const v = o[k];
    if (optional && v === undefined) return;
    this.arr(v, `${path}.${k}`).forEach((x, i) => {
      if (typeof x !== 'string') this.fail(`${path}.${k}[${i}]`, 'a string', x);
    });
  }
  location(o: Obj, k: string, path: string): void {
    if (o[k] === undefined) return;
    const l = this.obj(o[k], `${path}.${k}`);
    this.str(l, 'file', `${path}.${k}`);
    this.num(l, 'line', `${path}.${k}`);
    this.num(l, 'column', `${path}.${k}`);
  }
  error(o: Obj, k: string, path: string): void {
    if (o[k] === undefined) return;
    const p = `${path}.${k}`;
    const e = this.obj(o[k], p);
    this.str(e, 'name', p);
    this.str(e, 'message', p);
    for (const f of ['expected', 'actual', 'diff', 'stack']) this.str(e, f, p, true);
    this.location(e, 'location', p);
  }
}

const STATUSES = ['passed', 'failed', 'skipped'] as const;

/** validates the shape a reporter relies on; throws RunResultError naming the first wrong field */
export function validateRunResult(value: unknown, file?: string): RunResult {
  const c = new Checker(file);
  const root = c.obj(value, '');
  if (root.schema !== RUN_RESULT_SCHEMA) c.fail('schema', `"${RUN_RESULT_SCHEMA}"`, root.schema);
  if (root.version !== RUN_RESULT_VERSION) {
    c.fail('version', `${RUN_RESULT_VERSION} (this sriov-lab reads version ${RUN_RESULT_VERSION} only)`, root.version);
  }
  const m = c.obj(root.run, 'run');
  for (const k of ['id', 'startedAt', 'command', 'reproduceCommand']) c.str(m, k, 'run');
  c.oneOf(m, 'backend', ['sim', 'qemu', 'host', 'cluster', 'kind'], 'run');
  c.num(m, 'seed', 'run');
  c.num(m, 'durationMs', 'run');
  c.bool(m, 'interrupted', 'run', true);
  const tool = c.obj(m.tool, 'run.tool');
  c.str(tool, 'version', 'run.tool');
  const host = c.obj(m.host, 'run.host');
  for (const k of ['hostname', 'os', 'arch']) c.str(host, k, 'run.host');
  c.str(c.obj(m.kernel, 'run.kernel'), 'release', 'run.kernel');
  c.arr(m.nics, 'run.nics').forEach((n, i) => {
    const p = `run.nics[${i}]`;
    const o = c.obj(n, p);
    c.str(o, 'model', p);
    c.str(o, 'vendorDevice', p);
  });
  c.arr(m.plugins, 'run.plugins').forEach((x, i) => {
    const p = `run.plugins[${i}]`;
    const o = c.obj(x, p);
    c.oneOf(o, 'role', ['device-plugin', 'cni', 'ipam', 'other'], p);
    c.str(o, 'name', p);
    c.bool(o, 'bundled', p);
    c.str(o, 'version', p, true);
    c.str(o, 'sha256', p, true);
  });
  c.arr(root.scenarios, 'scenarios').forEach((x, i) => {
    const p = `scenarios[${i}]`;
    const s = c.obj(x, p);
    for (const k of ['id', 'file', 'name', 'reproduceCommand']) c.str(s, k, p);
    c.strings(s, 'tags', p);
    c.strings(s, 'resources', p);
    c.strings(s, 'nodes', p, true);
    c.strings(s, 'lightweightNodes', p, true);
    c.oneOf(s, 'status', STATUSES, p);
    c.num(s, 'durationMs', p);
    c.str(s, 'skipReason', p, true);
    if (s.status === 'skipped' && typeof s.skipReason !== 'string') c.fail(`${p}.skipReason`, 'a reason for a skipped scenario', s.skipReason);
    c.location(s, 'location', p);
    c.error(s, 'error', p);
    c.arr(s.steps, `${p}.steps`).forEach((y, j) => {
      const sp = `${p}.steps[${j}]`;
      const st = c.obj(y, sp);
      c.str(st, 'name', sp);
      c.oneOf(st, 'status', STATUSES, sp);
      c.num(st, 'startMs', sp);
      c.num(st, 'durationMs', sp);
      c.location(st, 'location', sp);
      c.error(st, 'error', sp);
      c.arr(st.operations, `${sp}.operations`).forEach((z, k) => {
        const op = `${sp}.operations[${k}]`;
        const o = c.obj(z, op);
        c.str(o, 'kind', op);
        c.str(o, 'title', op);
        c.oneOf(o, 'phase', ['try', 'catch', 'finally'], op, true);
        c.oneOf(o, 'status', STATUSES, op);
        c.num(o, 'startMs', op);
        c.num(o, 'durationMs', op);
        c.location(o, 'location', op);
        c.error(o, 'error', op);
      });
    });
    c.arr(s.trace, `${p}.trace`).forEach((y, j) => {
      const tp = `${p}.trace[${j}]`;
      const ev = c.obj(y, tp);
      c.str(ev, 'kind', tp);
      c.num(ev, 'atMs', tp);
      if (!(TRACE_KINDS as readonly string[]).includes(ev.kind as string)) return;
      switch (ev.kind) {
        case 'grpc':
          c.oneOf(ev, 'direction', ['to-plugin', 'to-kubelet'], tp);
          c.str(ev, 'method', tp);
          break;
        case 'sysfs':
          c.str(ev, 'op', tp);
          c.str(ev, 'path', tp);
          break;
        case 'cni':
          c.str(ev, 'command', tp);
          c.str(ev, 'plugin', tp);
          c.obj(ev.env, `${tp}.env`);
          c.str(ev, 'stdin', tp);
          c.str(ev, 'stdout', tp);
          c.num(ev, 'exitCode', tp);
          c.num(ev, 'durationMs', tp);
          break;
        case 'scheduler':
          c.str(ev, 'pod', tp);
          c.oneOf(ev, 'result', ['bound', 'unschedulable'], tp);
          break;
        case 'pod':
          c.str(ev, 'pod', tp);
          c.str(ev, 'to', tp);
          break;
        case 'fault':
          c.str(ev, 'fault', tp);
          c.oneOf(ev, 'action', ['inject', 'clear'], tp);
          break;
        case 'resource':
          c.str(ev, 'node', tp);
          c.str(ev, 'resource', tp);
          for (const k of ['capacity', 'allocatable', 'allocated']) c.num(ev, k, tp);
          break;
        case 'log':
          c.str(ev, 'source', tp);
          c.str(ev, 'message', tp);
          break;
      }
    });
    c.arr(s.attachments, `${p}.attachments`).forEach((y, j) => {
      const ap = `${p}.attachments[${j}]`;
      const a = c.obj(y, ap);
      c.str(a, 'name', ap);
      c.str(a, 'contentType', ap);
      c.oneOf(a, 'encoding', ['text', 'base64'], ap);
      c.str(a, 'body', ap);
    });
  });
  return value as RunResult;
}

export function parseRunResult(text: string, file?: string): RunResult {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw new RunResultError('', 'a JSON document', `${(e as Error).message}`, file);
  }
  return validateRunResult(value, file);
}

/** for callers that hold a value typed loosely (e.g. request/response payloads built from protobuf objects) */
export function toJsonValue(v: unknown): JsonValue {
  return JSON.parse(JSON.stringify(v ?? null)) as JsonValue;
}
