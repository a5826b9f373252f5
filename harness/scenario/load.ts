// Loading scenarios: YAML text → structural check against the shapes (shape.ts, types.ts) → the rules that span
// fields (one operation per item, exactly one manifest source, nodes that exist, a fault's fields for its kind) →
// a resolved `Scenario` with every default filled in, manifests read and the topology loaded.
//
// Everything is checked before anything runs; every problem is reported at once as file:line:column: field: message,
// sorted by position. Problems inside a referenced file (topology, manifest) carry that file's position.
import * as nodeFs from 'node:fs';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Document, LineCounter, parseAllDocuments, stringify } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { Fault, KubeObject, ObjectRef, Requirement } from '../backend.ts';
import type { JsonValue, SourceLocation } from '../../reports/types.ts';
import { TopologyError, defaultTopology, loadTopology, resolveTopology } from '../../sim/topology/topology.ts';
import type { NodeSpecInput, Topology } from '../../sim/topology/topology.ts';
import { Walker, joinPath } from '../../sim/shape/walker.ts';
import { YamlIssuesError, documentValue, parseYamlDocument, quoteShort, sortIssues, syntaxIssues, unparsableIssue } from '../../sim/yaml-issues.ts';
import type { Pos, YamlIssue } from '../../sim/yaml-issues.ts';
import { expectationProblems, placeholderProblem } from './match.ts';
import {
  DEFAULT_INTERVAL_MS, DEFAULT_TIMEOUTS, SCENARIO_API_VERSION, SCENARIO_KIND, collectWhats, faultFields, operationKinds,
  scenarioDefinitions, scenarioShape,
} from './types.ts';
import type {
  CollectInput, DeleteInput, ExecExpect, ExecExpectInput, ExpectedObject, ManifestSourceInput, Operation, OperationInput,
  OperationKind, RequirementInput, Scenario, ScenarioInput, Step, StepInput, TextExpect, TextExpectShorthand,
} from './types.ts';

/** a problem in a scenario file: file:line:column (0:0 without source text), field path, message */
export type Issue = YamlIssue;
export { formatIssue } from '../../sim/yaml-issues.ts';

/** a scenario file (or defineScenario input) is invalid; `issues` lists every problem */
export class ScenarioValidationError extends YamlIssuesError {
  constructor(file: string, issues: Issue[]) {
    super(file, issues, 'scenario');
    this.name = 'ScenarioValidationError';
  }
}

interface Ctx {
  w: Walker;
  file: string;
  dir: string;
  nodes: string[];
  timeouts: { assertMs: number; execMs: number };
}

// ---- public API ----

/** Parse and validate a scenario file's text. `file` is used in messages and to resolve relative paths. */
export interface ScenarioLoadOptions {
  /** the topology of a scenario that names none (neither spec.topology nor spec.nodes); default: defaultTopology() */
  defaultTopology?: Topology;
}

export function parseScenario(text: string, file = '<scenario>', opts: { dir?: string } & ScenarioLoadOptions = {}): Scenario {
  const notText = unparsableIssue(file, text);
  const { doc, lc } = parseYamlDocument(notText ? '' : text);
  const w = new Walker(file, doc, lc, { defs: scenarioDefinitions });
  if (notText) {
    w.issues.push(notText);
    throw finishError(w);
  }
  if (doc.errors.length > 0) {
    w.issues.push(...syntaxIssues(file, doc.errors, lc));
    throw finishError(w);
  }
  return resolveDocument(w, opts.dir ?? dirname(file), opts.defaultTopology);
}

/** Read, parse and validate a scenario file. Throws ScenarioValidationError (also when the file cannot be read). */
export function loadScenario(file: string, opts: ScenarioLoadOptions = {}): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ScenarioValidationError(file, [{ file, line: 0, column: 0, field: '', message: `cannot read the scenario file: ${err.code ?? err.message}` }]);
  }
  return parseScenario(text, file, opts);
}

/**
 * A scenario built in code, checked by the same rules as a file (issues carry no line numbers). Relative paths
 * (topology, manifest files) resolve against `dir` (default: the working directory).
 */
export function defineScenario(input: ScenarioInput, opts: { file?: string; dir?: string } = {}): Scenario {
  const file = opts.file ?? `<defineScenario ${input.metadata?.name ?? '?'}>`;
  const doc = new Document(input);
  const w = new Walker(file, doc, null, { defs: scenarioDefinitions });
  return resolveDocument(w, opts.dir ?? process.cwd());
}

// ---- the walk ----

function resolveDocument(w: Walker, dir: string, fallbackTopology?: Topology): Scenario {
  const root = w.deref(w.doc.contents);
  if (root === null || (root as { value?: unknown }).value === null) {
    w.report('', `empty document; expected apiVersion: ${SCENARIO_API_VERSION}, kind: ${SCENARIO_KIND}, metadata and spec`, { line: 1, column: 1 });
    throw finishError(w);
  }
  const raw = w.walk(root, scenarioShape, '') as ScenarioInput | undefined;
  if (raw === undefined || w.issues.length > 0) throw finishError(w);
  const spec = raw.spec;
  const timeouts = { assertMs: spec.timeouts?.assertMs ?? DEFAULT_TIMEOUTS.assertMs, execMs: spec.timeouts?.execMs ?? DEFAULT_TIMEOUTS.execMs };
  const ctx: Ctx = { w, file: w.file, dir, nodes: [], timeouts };

  // topology first: node names are checked against it
  let topology: Topology | undefined;
  let topologyFile: string | undefined;
  if (spec.topology !== undefined && spec.nodes !== undefined) {
    w.report('spec.nodes', 'give either topology (a file) or nodes (inline), not both');
  } else if (spec.topology !== undefined) {
    topologyFile = spec.topology;
    topology = readTopology(ctx, spec.topology);
  } else if (spec.nodes !== undefined) {
    topology = inlineTopology(ctx, raw.metadata.name, spec.nodes);
  } else {
    topology = fallbackTopology ?? defaultTopology();
  }
  ctx.nodes = topology?.nodes.map((n) => n.name) ?? [];

  const requires = (spec.requires ?? []).map((r, i) => requirement(ctx, r, `spec.requires[${i}]`)).filter((r): r is Requirement => !!r);
  if (topology) requires.push({ kind: 'nodes', count: topology.nodes.length });
  const vfsPerPf = Math.max(0, ...(topology?.nodes.flatMap((n) => n.nics.map((nic) => nic.numVfs ?? 0)) ?? []));
  if (vfsPerPf > 0) requires.push({ kind: 'vfsPerPf', count: vfsPerPf });

  const stepNames = new Map<string, number>();
  const steps: Step[] = spec.steps.map((s, i) => {
    const path = `spec.steps[${i}]`;
    const prev = stepNames.get(s.name);
    if (prev !== undefined) w.report(`${path}.name`, `duplicate step name ${quoteShort(s.name)} (also spec.steps[${prev}]); reports tell steps apart by name`);
    else stepNames.set(s.name, i);
    return step(ctx, s, path);
  });
  const scenarioCatch = ops(ctx, spec.catch ?? [], 'spec.catch');
  // a fault operation needs a backend that can inject it: a scenario is skipped, not failed, where it cannot
  for (const op of [...steps.flatMap((st) => [...st.try, ...st.catch, ...st.finally]), ...scenarioCatch]) {
    if (op.kind === 'fault') requires.push({ kind: 'fault', fault: op.fault.kind });
  }

  if (w.issues.length > 0 || !topology) throw finishError(w);

  const resources = spec.resources ?? resourcesOf(steps);
  return {
    name: raw.metadata.name,
    description: raw.metadata.description,
    file: w.file,
    dir,
    location: loc(ctx, w.pos(root)),
    labels: raw.metadata.labels ?? {},
    tags: raw.metadata.tags ?? [],
    topology,
    topologyFile,
    devicePlugin: spec.devicePlugin?.config !== undefined ? { config: spec.devicePlugin.config } : {},
    requires: dedupeRequirements(requires),
    resources,
    timeouts,
    steps,
    catch: scenarioCatch,
  };
}

function finishError(w: Walker): ScenarioValidationError {
  const issues = sortIssues(w.issues, w.file);
  return new ScenarioValidationError(w.file, issues.length ? issues : [{ file: w.file, line: 0, column: 0, field: '', message: 'invalid scenario' }]);
}

function loc(ctx: Ctx, p: Pos): SourceLocation | undefined {
  return p.line > 0 ? { file: ctx.file, line: p.line, column: p.column } : undefined;
}

function resolvePath(ctx: Ctx, p: string): string {
  return isAbsolute(p) ? p : join(ctx.dir, p);
}

function readTopology(ctx: Ctx, p: string): Topology | undefined {
  const full = resolvePath(ctx, p);
  if (!existsSync(full)) {
    ctx.w.report('spec.topology', `topology file ${p} does not exist (looked for ${full})`, ctx.w.valueAt('spec.topology'));
    return undefined;
  }
  try {
    return loadTopology(full);
  } catch (e) {
    if (!(e instanceof TopologyError)) throw e;
    for (const i of e.issues) ctx.w.issues.push({ ...i, file: relative(process.cwd(), i.file) || i.file });
    return undefined;
  }
}

function inlineTopology(ctx: Ctx, name: string, nodes: NodeSpecInput[]): Topology | undefined {
  try {
    return resolveTopology({ name, nodes }, ctx.file);
  } catch (e) {
    if (!(e instanceof TopologyError)) throw e;
    // the topology validator names fields spec.nodes[…] — the same paths as in a scenario file
    for (const i of e.issues) ctx.w.report(i.field, i.message);
    return undefined;
  }
}

function requirement(ctx: Ctx, r: RequirementInput, path: string): Requirement | undefined {
  if (typeof r === 'string') return { kind: r };
  const keys = Object.keys(r);
  if (keys.length !== 1) {
    ctx.w.report(path, 'give exactly one of nodes: N or command: NAME');
    return undefined;
  }
  if ('nodes' in r) return { kind: 'nodes', count: r.nodes };
  return { kind: 'command', name: r.command };
}

function dedupeRequirements(rs: Requirement[]): Requirement[] {
  const out: Requirement[] = [];
  for (const r of rs) {
    if (r.kind === 'nodes') {
      const prev = out.find((o): o is Extract<Requirement, { kind: 'nodes' }> => o.kind === 'nodes');
      if (prev) {
        prev.count = Math.max(prev.count, r.count);
        continue;
      }
    }
    if (out.some((o) => JSON.stringify(o) === JSON.stringify(r))) continue;
    out.push({ ...r });
  }
  return out;
}

function step(ctx: Ctx, s: StepInput, path: string): Step {
  return {
    name: s.name,
    description: s.description,
    location: loc(ctx, ctx.w.valueAt(path)),
    try: ops(ctx, s.try, `${path}.try`),
    catch: ops(ctx, s.catch ?? [], `${path}.catch`),
    finally: ops(ctx, s.finally ?? [], `${path}.finally`),
  };
}

function ops(ctx: Ctx, items: OperationInput[], path: string): Operation[] {
  const out: Operation[] = [];
  items.forEach((item, i) => {
    const op = operation(ctx, item, `${path}[${i}]`);
    if (op) out.push(op);
  });
  return out;
}

function operation(ctx: Ctx, item: OperationInput, path: string): Operation | undefined {
  const w = ctx.w;
  const present = operationKinds.filter((k) => item[k] !== undefined);
  if (present.length !== 1) {
    w.report(path, present.length === 0
      ? `no operation; give one of ${operationKinds.join(', ')}`
      : `one operation per list item, got ${present.join(' and ')}; split them into separate items`, w.valueAt(path));
    return undefined;
  }
  const kind = present[0];
  const p = `${path}.${kind}`;
  const location = loc(ctx, w.valueAt(path));
  const op = build(ctx, kind, item, p);
  if (!op) return undefined;
  return { ...op, title: item.title ?? op.title, location } as Operation;
}

type Built = Operation extends infer O ? (O extends unknown ? Omit<O, 'location'> : never) : never;

function build(ctx: Ctx, kind: OperationKind, item: OperationInput, p: string): Built | undefined {
  const w = ctx.w;
  switch (kind) {
    case 'apply': {
      const objects = manifests(ctx, item.apply!, p, 'apply');
      if (!objects) return undefined;
      return { kind, objects: objects.map((o) => o.object as unknown as KubeObject), title: `apply ${objects.map((o) => refText(o.object)).join(', ')}` };
    }
    case 'delete': {
      const d = item.delete!;
      const hasRef = d.kind !== undefined || d.name !== undefined;
      const hasManifest = d.file !== undefined || d.resource !== undefined || d.resources !== undefined;
      if (hasRef && hasManifest) {
        w.report(p, 'give kind and name, or file/resource/resources, not both');
        return undefined;
      }
      let refs: ObjectRef[];
      if (hasRef) {
        if (d.kind === undefined || d.name === undefined) {
          w.report(`${p}.${d.kind === undefined ? 'kind' : 'name'}`, 'required field is missing (delete needs kind and name)', w.valueAt(p));
          return undefined;
        }
        refs = [{ kind: d.kind, name: d.name, ...(d.namespace ? { namespace: d.namespace } : {}) }];
      } else {
        const objs = manifests(ctx, d, p, 'delete');
        if (!objs) return undefined;
        refs = objs.map((o) => objectRef(o.object, d));
      }
      if (d.wait === false && d.waitMs !== undefined) {
        w.report(`${p}.waitMs`, 'does not apply with wait: false (the step does not wait for the object to go)');
        return undefined;
      }
      const wait = d.wait ?? true;
      return { kind, refs, waitMs: d.waitMs, wait, title: `delete ${refs.map((r) => `${r.kind.toLowerCase()}/${r.name}`).join(', ')}${wait ? '' : ' (not waiting)'}` };
    }
    case 'assert':
    case 'error': {
      const a = item[kind]!;
      const objs = manifests(ctx, a, p, kind);
      if (!objs) return undefined;
      const what = objs.map((o) => refText(o.object)).join(', ');
      return {
        kind,
        expected: objs,
        timeoutMs: a.timeoutMs ?? ctx.timeouts.assertMs,
        intervalMs: a.intervalMs ?? DEFAULT_INTERVAL_MS,
        title: kind === 'assert' ? `assert ${what}` : `error ${what} (must not match)`,
      } as Built;
    }
    case 'exec': {
      const e = item.exec!;
      if ((e.pod === undefined) === (e.node === undefined)) {
        w.report(p, 'give exactly one of pod or node', w.valueAt(p));
        return undefined;
      }
      if (e.node !== undefined && e.namespace !== undefined) w.report(`${p}.namespace`, 'namespace applies to pods only');
      const node = e.node !== undefined ? nodeName(ctx, e.node, `${p}.node`) : undefined;
      if (e.node !== undefined && node === undefined) return undefined;
      const argv = typeof e.command === 'string' ? ['sh', '-c', e.command] : e.command;
      const target = e.pod !== undefined ? { pod: e.pod, namespace: e.namespace ?? 'default' } : { node: node! };
      const where = 'pod' in target ? `pod/${target.pod}` : `node/${target.node}`;
      return {
        kind,
        target,
        argv,
        stdin: e.stdin,
        timeoutMs: e.timeoutMs ?? ctx.timeouts.execMs,
        expect: execExpect(e),
        title: `exec in ${where}: ${typeof e.command === 'string' ? e.command : e.command.join(' ')}`,
      } as Built;
    }
    case 'sysfs': {
      const s = item.sysfs!;
      const node = nodeName(ctx, s.node, `${p}.node`, p);
      if (node === undefined) return undefined;
      const write = s.write === undefined ? undefined : String(s.write);
      const value = s.value === undefined ? undefined : String(s.value);
      if (s.errno !== undefined && value !== undefined) w.report(`${p}.value`, 'an operation that must fail with errno has no value to check');
      const vp = value === undefined ? undefined : placeholderProblem(value);
      if (vp) w.report(`${p}.value`, vp, w.valueAt(`${p}.value`));
      const title = write !== undefined
        ? `sysfs write ${JSON.stringify(write)} > ${s.path}${s.errno ? ` (expect ${s.errno})` : ''}`
        : `sysfs read ${s.path}${value !== undefined ? ` (expect ${JSON.stringify(value)})` : s.errno ? ` (expect ${s.errno})` : ''}`;
      return { kind, node, path: s.path, write, value, errno: s.errno, timeoutMs: s.timeoutMs ?? 0, title: `${title}${ctx.nodes.length > 1 ? ` on ${node}` : ''}` };
    }
    case 'ip': {
      const e = item.ip!;
      const node = nodeName(ctx, e.node, `${p}.node`, p);
      if (node === undefined) return undefined;
      const args = typeof e.args === 'string' ? e.args.split(/\s+/).filter(Boolean) : e.args;
      return { kind, node, argv: ['ip', ...args], timeoutMs: e.timeoutMs ?? ctx.timeouts.execMs, expect: execExpect(e), title: `ip ${args.join(' ')} on ${node}` } as Built;
    }
    case 'kubelet':
    case 'devicePlugin': {
      const v = item[kind]!;
      const { action, node } = typeof v === 'string' ? { action: v, node: undefined } : v;
      const nodes = nodeList(ctx, node, `${p}.node`);
      if (!nodes) return undefined;
      return { kind, action, nodes, title: `${kind} ${action}${node ? ` on ${node}` : ''}` } as Built;
    }
    case 'nodeReboot': {
      const v = item.nodeReboot!;
      const node = typeof v === 'string' ? v : v.node;
      const nodes = nodeList(ctx, node, typeof v === 'string' ? p : `${p}.node`);
      if (!nodes) return undefined;
      return { kind, nodes, title: `reboot ${nodes.join(', ')}` };
    }
    case 'fault':
      return fault(ctx, item.fault!, p);
    case 'advanceClock':
    case 'sleep': {
      const v = item[kind]!;
      const msValue = typeof v === 'number' ? v : v.ms;
      return { kind, ms: msValue, title: kind === 'sleep' ? `sleep ${msValue}ms` : `advance the clock by ${msValue}ms` };
    }
    case 'script': {
      const v = item.script!;
      const s = typeof v === 'string' ? { command: v } : v;
      return { kind, command: s.command, env: ('env' in s && s.env) || {}, timeoutMs: ('timeoutMs' in s && s.timeoutMs !== undefined ? s.timeoutMs : ctx.timeouts.execMs), expect: execExpect(s), title: `script: ${s.command.split('\n')[0]}` } as Built;
    }
    case 'collect': {
      const c: CollectInput = item.collect!;
      const nodes = nodeList(ctx, c.node, `${p}.node`);
      if (!nodes) return undefined;
      const what = c.what ?? [...collectWhats];
      return { kind, nodes, what, title: `collect ${what.join(', ')}${c.node ? ` from ${c.node}` : ''}` };
    }
    case 'events': {
      const e = item.events!;
      const ref = e.kind || e.name || e.namespace ? { ...e } : undefined;
      return { kind, ref, title: `events${e.kind ? ` of ${e.kind.toLowerCase()}${e.name ? `/${e.name}` : ''}` : ''}` };
    }
    case 'get': {
      const g = item.get!;
      return { kind, ref: { ...g }, title: `get ${g.kind.toLowerCase()}${g.name ? `/${g.name}` : ''}` };
    }
  }
}

function nodeName(ctx: Ctx, node: string | undefined, path: string, opPath?: string): string | undefined {
  if (node === undefined) {
    if (ctx.nodes.length === 1) return ctx.nodes[0];
    if (ctx.nodes.length > 1) ctx.w.report(path, `required field is missing: the topology has ${ctx.nodes.length} nodes (${ctx.nodes.join(', ')})`, ctx.w.valueAt(opPath ?? path));
    return undefined;
  }
  if (ctx.nodes.length > 0 && !ctx.nodes.includes(node)) {
    ctx.w.report(path, `node ${quoteShort(node)} is not in the topology (nodes: ${ctx.nodes.join(', ')})`, ctx.w.valueAt(path));
    return undefined;
  }
  return node;
}

function nodeList(ctx: Ctx, node: string | undefined, path: string): string[] | undefined {
  if (node === undefined) return [...ctx.nodes];
  const n = nodeName(ctx, node, path);
  return n === undefined ? undefined : [n];
}

function textExpect(t: TextExpectShorthand | undefined): TextExpect | undefined {
  if (t === undefined) return undefined;
  if (typeof t === 'string') return { contains: [t], notContains: [] };
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : typeof v === 'string' ? [v] : v);
  return { equals: t.equals, contains: list(t.contains), notContains: list(t.notContains), matches: t.matches };
}

function execExpect(e: ExecExpectInput): ExecExpect {
  return {
    exitCode: e.exitCode === 'any' ? null : (e.exitCode ?? 0),
    stdout: textExpect(e.stdout),
    stderr: textExpect(e.stderr),
  };
}

function fault(ctx: Ctx, f: Record<string, unknown>, p: string): Built | undefined {
  const w = ctx.w;
  const kind = f.kind as Fault['kind'];
  const table = faultFields[kind] as Record<string, { required?: boolean }>;
  let ok = true;
  for (const k of Object.keys(f)) {
    if (k === 'kind' || k === 'node' || k in table) continue;
    w.report(`${p}.${k}`, `does not apply to fault kind ${kind} (its fields: ${Object.keys(table).join(', ') || 'none'})`);
    ok = false;
  }
  for (const [k, s] of Object.entries(table)) {
    if (s.required && f[k] === undefined) {
      w.report(`${p}.${k}`, `required field is missing for fault kind ${kind}`, w.valueAt(p));
      ok = false;
    }
  }
  const node = nodeName(ctx, f.node as string | undefined, `${p}.node`, p);
  if (!ok || node === undefined) return undefined;
  const { node: _node, ...rest } = f;
  const faultValue = rest as unknown as Fault;
  return { kind: 'fault', node, fault: faultValue, title: `fault ${faultTitle(faultValue)}${ctx.nodes.length > 1 ? ` on ${node}` : ''}` };
}

function faultTitle(f: Fault): string {
  switch (f.kind) {
    case 'sysfsFailWrites':
      return `next ${f.count ?? 1} write(s) to ${f.path} fail with ${f.errno}`;
    case 'sysfsDelay':
      return `writes to ${f.path} take ${f.delayMs}ms`;
    case 'vfLink':
      return `${f.pf} VF ${f.vf ?? 'all'} link ${f.up ? 'up' : 'down'}`;
    case 'pfLink':
      return `${f.pf} link ${f.up ? 'up' : 'down'}`;
    case 'vfUnplug':
      return `hot-unplug VF ${f.pciAddr}`;
    case 'vfAttrFail':
      return `next ${f.count ?? 1} VF ${f.attr} setting(s) on ${f.pf} fail with ${f.errno}`;
    case 'ipamFail':
      return `next ${f.count ?? 1} IPAM call(s) fail`;
    case 'netnsRemove':
      return `remove the netns of pod ${f.namespace ?? 'default'}/${f.pod}`;
    case 'cniPath':
      return `CNI path ${f.up ? 'up' : 'down'}`;
  }
}

// ---- manifests ----

function refText(o: { [key: string]: JsonValue }): string {
  const kind = typeof o.kind === 'string' ? o.kind.toLowerCase() : '?';
  const meta = o.metadata as { name?: JsonValue } | undefined;
  return `${kind}/${typeof meta?.name === 'string' ? meta.name : '*'}`;
}

function objectRef(o: { [key: string]: JsonValue }, d: DeleteInput): ObjectRef {
  const meta = o.metadata as { name: string; namespace?: string };
  const ns = meta.namespace ?? d.namespace;
  return { kind: o.kind as string, name: meta.name, ...(ns ? { namespace: ns } : {}) };
}

/**
 * The objects of an apply/delete/assert/error: exactly one of file, resource, resources. For apply and delete every
 * object needs apiVersion, kind and metadata.name; an expectation needs only kind (no name = any object of the kind).
 */
function manifests(ctx: Ctx, src: ManifestSourceInput, p: string, op: 'apply' | 'delete' | 'assert' | 'error'): ExpectedObject[] | undefined {
  const w = ctx.w;
  const given = (['file', 'resource', 'resources'] as const).filter((k) => src[k] !== undefined);
  if (given.length !== 1) {
    w.report(p, given.length === 0 ? 'give one of file, resource or resources' : `give only one of ${given.join(', ')}`, w.valueAt(p));
    return undefined;
  }
  const strict = op === 'apply' || op === 'delete';
  let out: ExpectedObject[] = [];
  let ok = true;
  const check = (o: { [key: string]: JsonValue }, fieldPath: string, where: (sub: string) => Pos, file: string, atFile: boolean): void => {
    const problems: Array<[string, string]> = [];
    if (strict && typeof o.apiVersion !== 'string') problems.push(['apiVersion', 'required field is missing']);
    if (typeof o.kind !== 'string') problems.push(['kind', 'required field is missing']);
    const meta = o.metadata;
    if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) problems.push(['metadata', 'expected a mapping']);
    else if (strict && typeof (meta as { name?: unknown } | undefined)?.name !== 'string') problems.push(['metadata.name', 'required field is missing']);
    if (!strict) for (const m of expectationProblems(o)) problems.push([m.path, m.message]);
    for (const [f, m] of problems) {
      const pos = where(f);
      if (atFile) w.issues.push({ file, ...pos, field: f, message: m });
      else w.report(`${fieldPath}.${f}`, m, pos);
      ok = false;
    }
  };
  if (src.file !== undefined) {
    const docs = manifestFile(ctx, src.file, `${p}.file`);
    if (!docs) return undefined;
    if (docs.length === 0) {
      w.report(`${p}.file`, `${src.file} holds no objects`, w.valueAt(`${p}.file`));
      return undefined;
    }
    for (const d of docs) check(d.object, '', d.where, d.file, true);
    out = docs.map((d) => ({ object: d.object, location: { file: d.file, ...d.where('') }, text: stringify(d.object) }));
  } else {
    const list = src.resource !== undefined ? [{ o: src.resource, path: `${p}.resource` }] : src.resources!.map((o, i) => ({ o, path: `${p}.resources[${i}]` }));
    for (const { o, path } of list) {
      check(o, path, (sub) => w.at(sub ? `${path}.${sub}` : path), ctx.file, false);
      out.push({ object: o, location: loc(ctx, w.valueAt(path)), text: stringify(o) });
    }
  }
  return ok ? out : undefined;
}

interface FileDoc {
  file: string;
  object: { [key: string]: JsonValue };
  where: (sub: string) => Pos;
}

function manifestFile(ctx: Ctx, p: string, fieldPath: string): FileDoc[] | undefined {
  const full = resolvePath(ctx, p);
  const shown = relative(process.cwd(), full) || full;
  if (!existsSync(full)) {
    ctx.w.report(fieldPath, `manifest file ${p} does not exist (looked for ${full})`, ctx.w.valueAt(fieldPath));
    return undefined;
  }
  const text = readFileSync(full, 'utf8');
  const notText = unparsableIssue(shown, text);
  if (notText) {
    ctx.w.issues.push(notText);
    return undefined;
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  const out: FileDoc[] = [];
  let bad = false;
  for (const doc of list) {
    if (doc.errors.length) {
      ctx.w.issues.push(...syntaxIssues(shown, doc.errors, lc));
      bad = true;
    }
    if (doc.errors.length || doc.contents === null) continue;
    const built = documentValue(doc, shown, lc);
    if ('issue' in built) {
      ctx.w.issues.push(built.issue);
      bad = true;
      continue;
    }
    const js = built.value;
    if (js === null || js === undefined) continue;
    const dw = new Walker(shown, doc, lc);
    dw.walk(doc.contents as YamlNode, { t: 'json' }, '');
    const where = (sub: string) => dw.at(sub);
    if (typeof js !== 'object' || Array.isArray(js)) {
      ctx.w.issues.push({ file: shown, ...where(''), field: '', message: 'a manifest document must be a mapping with apiVersion and kind' });
      bad = true;
      continue;
    }
    const obj = js as { [key: string]: JsonValue };
    if (obj.kind === 'List' && Array.isArray(obj.items)) {
      obj.items.forEach((item, i) => {
        if (item && typeof item === 'object' && !Array.isArray(item)) out.push({ file: shown, object: item, where: (sub) => dw.at(joinPath(`items[${i}]`, sub).replace(/\.$/, '')) });
      });
    } else out.push({ file: shown, object: obj, where });
  }
  return bad ? undefined : out;
}

/** the field `k` of a value that may not be an object at all */
function field(v: unknown, k: string): unknown {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
}

/** extended resources a scenario's manifests mention: container limits/requests with a domain, NAD resourceName */
export function resourcesOf(steps: Step[]): string[] {
  const found = new Set<string>();
  const visit = (o: KubeObject): void => {
    const ann = field(field(o.metadata, 'annotations'), 'k8s.v1.cni.cncf.io/resourceName');
    if (typeof ann === 'string') found.add(ann);
    // an applied object is checked only for apiVersion, kind and name here (the API server checks the rest when it
    // is applied): any of these fields may be of any type
    const containers = field(o.spec, 'containers');
    for (const c of Array.isArray(containers) ? containers : []) {
      const resources = field(c, 'resources');
      for (const m of [field(resources, 'limits'), field(resources, 'requests')]) {
        for (const k of m && typeof m === 'object' && !Array.isArray(m) ? Object.keys(m) : []) {
          if (k.includes('/') && !k.startsWith('kubernetes.io/')) found.add(k);
        }
      }
    }
  };
  for (const s of steps) for (const op of [...s.try, ...s.catch, ...s.finally]) if (op.kind === 'apply') op.objects.forEach(visit);
  return [...found].sort();
}

/** finds scenario files under the given paths (files as given, folders recursively, *.yaml/*.yml with kind: Scenario) */
export function findScenarioFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) out.push(...walkFiles(resolve(p), p));
  return out;
}

function walkFiles(full: string, shown: string): string[] {
  const fs = nodeFs;
  let st;
  try {
    st = fs.statSync(full);
  } catch {
    throw new ScenarioValidationError(shown, [{ file: shown, line: 0, column: 0, field: '', message: 'no such file or directory' }]);
  }
  if (!st.isDirectory()) return [shown];
  const out: string[] = [];
  for (const name of fs.readdirSync(full).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const f = join(full, name);
    const s = join(shown, name);
    const sub = fs.statSync(f);
    if (sub.isDirectory()) out.push(...walkFiles(f, s));
    else if (/\.ya?ml$/.test(name) && /^kind:\s*Scenario\s*$/m.test(fs.readFileSync(f, 'utf8'))) out.push(s);
  }
  return out;
}
