// The kubectl-like CLI over a background simulated cluster: `up` starts a daemon holding a simulated cluster, `down` stops
// it. get/describe/apply/delete are clients of the cluster's Kubernetes API (kube-api.ts, with the kubeconfig `up`
// wrote), as kubectl is; logs/exec/restart/node exec still talk to the daemon over its control socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { entryCommand } from '../../sim/paths.ts';
import { loadTopology } from '../../sim/topology/topology.ts';
import type { CoreV1Event, V1Node, V1Pod } from '@kubernetes/client-node';
import { groupVersion, type ResourceInfo } from '../../sim/apiserver/resources.ts';
import { describeNode, describePod, noResourcesFound, printObjects, printTable, type Table } from '../../sim/cluster/kubectl.ts';
import { ManifestError, parseManifests, podAdmissionIssues, type ManifestDoc } from '../../sim/cluster/manifest.ts';
import type { AnyObject } from '../../sim/cluster/store.ts';
import { kubectlError } from './kubectl-errors.ts';
import { KubeApi, KubeApiError, kindRef, resourceFor, resourceOfObject, resourcePath, TABLE_ACCEPT } from './kube-api.ts';
import { parse, UsageError } from './args.ts';
import type { DaemonOptions } from '../daemon/daemon.ts';
import { DaemonRequestError, DaemonUnreachableError, request, type CommandOutput, type DaemonStatus, type ExecTarget } from '../daemon/protocol.ts';
import { splitCommandLine } from '../runner/shell-words.ts';
import {
  DAEMON_ID_ENV,
  cleanupLeftovers,
  daemonPaths,
  describeLeftovers,
  findLeftovers,
  isDaemonAlive,
  leftoversEmpty,
  readDaemonInfo,
  removeStateFiles,
  resolveStateDir,
  STATE_DIR_ENV,
  type DaemonInfo,
  type DaemonPaths,
} from '../daemon/state.ts';

export interface ClusterCommand {
  summary: string;
  run(args: string[]): Promise<number>;
}

/** No daemon answers in the state dir: the user has to `up` first. */
export class ClusterNotRunningError extends Error {
  readonly stateDir: string;
  constructor(stateDir: string) {
    super(`no simulated cluster is running (state dir ${stateDir}); start one with \`sriov-lab up\``);
    this.name = 'ClusterNotRunningError';
    this.stateDir = stateDir;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const note = (line: string) => process.stderr.write(`[sriov-lab] ${line}\n`);

function write(out: CommandOutput): number {
  if (out.stdout) process.stdout.write(out.stdout);
  if (out.stderr) process.stderr.write(out.stderr);
  return out.exitCode;
}

function running(): { paths: DaemonPaths; info: DaemonInfo } {
  const paths = daemonPaths(resolveStateDir());
  const info = readDaemonInfo(paths);
  if (!info || !isDaemonAlive(info)) throw new ClusterNotRunningError(paths.stateDir);
  return { paths, info };
}

async function ask<R extends Parameters<typeof request>[1]>(req: R, timeoutMs?: number) {
  const { paths } = running();
  try {
    return await request(paths.socket, req, { timeoutMs });
  } catch (e) {
    if (e instanceof DaemonUnreachableError && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')) throw new ClusterNotRunningError(paths.stateDir);
    throw e;
  }
}

/** A refusal from the daemon is printed as kubectl prints it (the daemon formats it), exit code 1. */
function kubectlErrors(run: (args: string[]) => Promise<number>): (args: string[]) => Promise<number> {
  return async (args) => {
    try {
      return await run(args);
    } catch (e) {
      if (!(e instanceof DaemonRequestError)) throw e;
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
  };
}

function logTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---- up ----------------------------------------------------------------------------------

function resourcesLine(alloc: Record<string, string>): string {
  const ext = Object.keys(alloc)
    .filter((k) => k.includes('/'))
    .sort();
  return ext.length ? ext.map((k) => `${k}=${alloc[k]}`).join(', ') : 'no device plugin resources';
}

/** one line per full node; lightweight nodes grouped by what they advertise (a 1,000-node cluster stays readable) */
function nodeLines(nodes: DaemonStatus['nodes']): string[] {
  const lines = nodes.filter((n) => !n.lightweight).map((n) => `  ${n.name}: ${resourcesLine(n.allocatable)}`);
  const groups = new Map<string, string[]>();
  for (const n of nodes.filter((x) => x.lightweight)) {
    const key = resourcesLine(n.allocatable);
    groups.set(key, [...(groups.get(key) ?? []), n.name]);
  }
  for (const [res, names] of groups) {
    const which = names.length <= 3 ? names.join(', ') : `${names[0]}, ${names[1]} … ${names[names.length - 1]}`;
    lines.push(`  ${names.length} lightweight (no network namespace, no CNI; ${which}): ${res}`);
  }
  return lines;
}

function upSummary(st: DaemonStatus): string {
  // the commands that need a node's machine are shown for a full node
  const first = (st.nodes.find((n) => !n.lightweight) ?? st.nodes[0])?.name ?? 'node1';
  const lines = [
    `simulated cluster is up: ${st.nodes.length} node${st.nodes.length === 1 ? '' : 's'} (topology ${st.topology}, seed ${st.seed})`,
    ...nodeLines(st.nodes),
    ...st.warnings.map((w) => `warning: ${w}`),
    '',
    ...(st.kubeconfig ? [`Kubernetes API: ${st.apiServer}; use kubectl with: export KUBECONFIG=$(sriov-lab kubeconfig)`, ''] : []),
    'Talk to it like kubectl:',
    '  sriov-lab get nodes',
    `  sriov-lab describe node ${first}`,
    '  sriov-lab apply -f pod.yaml',
    '  sriov-lab get pods -o wide',
    '  sriov-lab describe pod POD',
    '  sriov-lab exec POD -- ip addr',
    `  sriov-lab logs device-plugin --node ${first}`,
    `  sriov-lab restart kubelet --node ${first}`,
    `  sriov-lab node exec ${first} -- ls /sys/bus/pci/devices`,
    'Stop it with: sriov-lab down',
    `(state dir ${st.stateDir}, daemon pid ${st.pid}, log ${st.log})`,
  ];
  return `${lines.join('\n')}\n`;
}

function requireCaps(what: string): void {
  for (const c of [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()]) {
    if (!c.ok) throw new UsageError(`${what} needs ${c.name}: ${c.detail}`);
  }
}

function executable(path: string, flag: string): string {
  const abs = resolve(path);
  try {
    if (!statSync(abs).isFile()) throw new Error('not a file');
    accessSync(abs, constants.X_OK);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: not an executable file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return abs;
}

/** `up`: validates the flags, claims the state dir, starts the daemon and waits until its cluster is ready. */
export async function clusterUp(args: string[]): Promise<number> {
  const options = upOptions(args);
  const paths = daemonPaths(resolveStateDir());
  if (!(await claimStateDir(paths))) return 1;
  writeFileSync(paths.options, `${JSON.stringify(options, null, 2)}\n`);
  const daemon = spawnDaemon(paths);
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (sig: NodeJS.Signals) => {
    daemon.interrupted = sig;
    note(`${sig}: stopping the cluster that was starting`);
    try {
      daemon.child.kill('SIGTERM');
    } catch {
      /* gone */
    }
  };
  for (const s of sigs) process.on(s, onSignal);
  try {
    return await waitUntilReady(paths, options.readyTimeoutMs, daemon);
  } finally {
    for (const s of sigs) process.off(s, onSignal);
    daemon.child.unref();
  }
}

/** The daemon's options from `up`'s flags, every one checked before anything starts. */
function upOptions(args: string[]): DaemonOptions {
  const { values, positionals } = parse(args, {
    topology: { type: 'string', short: 't' },
    'device-plugin': { type: 'string' },
    'device-plugin-config': { type: 'string' },
    cni: { type: 'string' },
    seed: { type: 'string' },
    'ready-timeout': { type: 'string' },
    bare: { type: 'boolean' },
    multus: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`up takes no arguments (got ${positionals.join(' ')})`);
  requireCaps('up');
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer (got ${values.seed})`);
  const readyTimeoutS = Number(values['ready-timeout'] ?? 60);
  if (!(readyTimeoutS >= 0)) throw new UsageError(`--ready-timeout must be a number of seconds (got ${values['ready-timeout']})`);
  const options: DaemonOptions = { seed, readyTimeoutMs: Math.round(readyTimeoutS * 1000) };
  if (values.topology) {
    options.topologyFile = resolve(values.topology);
    loadTopology(options.topologyFile); // a TopologyError names file:line here, before anything starts
  }
  if (values['device-plugin'] !== undefined) options.devicePluginArgv = devicePluginArgv(values['device-plugin']);
  if (values['device-plugin-config']) options.devicePluginConfigFile = jsonFile(values['device-plugin-config'], '--device-plugin-config');
  if (values.cni) options.cniPath = executable(values.cni, '--cni');
  if (values.multus !== undefined) options.multusPath = executable(values.multus, '--multus');
  if (values.bare) {
    if (values['device-plugin'] !== undefined) throw new UsageError('--bare starts the nodes with no device plugin: it does not go with --device-plugin');
    options.bare = true;
  }
  return options;
}

function devicePluginArgv(commandLine: string): string[] {
  let argv: string[];
  try {
    argv = splitCommandLine(commandLine);
  } catch (e) {
    throw new UsageError(`--device-plugin: ${(e as Error).message}`);
  }
  if (argv.length === 0) throw new UsageError('--device-plugin needs a command line');
  // a path is taken relative to here (the plugin runs with / as its cwd); a bare name is looked up in the node's PATH
  if (argv[0].includes('/')) argv[0] = executable(argv[0], '--device-plugin');
  return argv;
}

function jsonFile(path: string, flag: string): string {
  const f = resolve(path);
  try {
    JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new UsageError(`${flag} ${path}: ${(e as Error).message}`);
  }
  return f;
}

/**
 * Makes the state dir ready for a new daemon, cleaning up after one that died; false (said on stderr) if a live
 * daemon already holds it.
 */
async function claimStateDir(paths: DaemonPaths): Promise<boolean> {
  if (Buffer.byteLength(paths.socket) > 107) throw new UsageError(`the state dir ${paths.stateDir} is too long a path for a unix socket; set ${STATE_DIR_ENV} to a shorter one`);
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  const existing = readDaemonInfo(paths);
  if (existing && isDaemonAlive(existing)) {
    process.stderr.write(
      `sriov-lab: a simulated cluster is already running (daemon pid ${existing.pid}, started ${existing.startedAt}, state dir ${paths.stateDir}).\n` +
        `Use it (sriov-lab get nodes) or stop it first (sriov-lab down). Another cluster needs another ${STATE_DIR_ENV}.\n`,
    );
    return false;
  }
  if (existing) {
    const left = findLeftovers(existing);
    note(`the daemon recorded in ${paths.info} (pid ${existing.pid}) is gone; cleaning up what it left: ${describeLeftovers(left)}`);
    await cleanupLeftovers(existing, paths);
  } else removeStateFiles(paths); // unreadable or half-written leftovers
  return true;
}

/** The daemon of an `up` while it starts: how it exited, once it has, and the signal that cut the wait short. */
interface StartingDaemon {
  child: ChildProcess;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  interrupted?: NodeJS.Signals;
}

/** Starts the daemon detached, its output going to the log in the state dir. */
function spawnDaemon(paths: DaemonPaths): StartingDaemon {
  const logFd = openSync(paths.log, 'w', 0o600);
  const id = randomUUID();
  const [cmd, ...cmdArgs] = [...entryCommand('sriov-lab-daemon', 'harness/daemon/main.ts'), '--state-dir', paths.stateDir];
  const child = spawn(cmd, cmdArgs, { detached: true, cwd: '/', stdio: ['ignore', logFd, logFd], env: { ...process.env, [DAEMON_ID_ENV]: id } });
  closeSync(logFd);
  const daemon: StartingDaemon = { child };
  child.on('exit', (code, signal) => (daemon.exit = { code, signal }));
  child.on('error', (e) => {
    note(`cannot start the daemon (${cmd}): ${e.message}`);
    daemon.exit = { code: null, signal: null };
  });
  return daemon;
}

/** Waits up to 60 s for the daemon to exit (it stops its cluster first). */
async function daemonExit(daemon: StartingDaemon): Promise<void> {
  for (let i = 0; i < 600 && !daemon.exit; i++) await sleep(100);
}

/**
 * Polls the daemon's status, echoing its progress lines, until the cluster is ready (0, the summary on stdout), fails
 * or the daemon exits (1; 130 if a signal stopped it), or the start-up outlives its deadline (1, the daemon stopped).
 */
async function waitUntilReady(paths: DaemonPaths, readyTimeoutMs: number, daemon: StartingDaemon): Promise<number> {
  const deadline = Date.now() + readyTimeoutMs + 300_000;
  let printed = 0;
  for (;;) {
    if (daemon.exit) {
      if (daemon.interrupted) return 130;
      process.stderr.write(
        `sriov-lab: the cluster daemon exited during start-up (${daemon.exit.signal ?? `exit code ${daemon.exit.code}`}). Last lines of ${paths.log}:\n${logTail(paths.log, 25)}\n`,
      );
      return 1;
    }
    let st: DaemonStatus | undefined;
    try {
      st = await request(paths.socket, { op: 'status' }, { timeoutMs: 10_000 });
    } catch (e) {
      if (!(e instanceof DaemonUnreachableError)) throw e;
    }
    if (st) {
      for (const l of st.progress.slice(printed)) note(l);
      printed = st.progress.length;
      if (st.phase === 'ready') {
        process.stdout.write(upSummary(st));
        return 0;
      }
      if (st.phase === 'failed' || st.phase === 'stopping') {
        await daemonExit(daemon);
        if (daemon.interrupted) return 130;
        process.stderr.write(`sriov-lab: the simulated cluster failed to start: ${st.error ?? st.phase}\n(daemon log: ${paths.log})\n`);
        return 1;
      }
    }
    if (Date.now() > deadline) {
      process.stderr.write(`sriov-lab: the cluster was not ready after ${Math.round((readyTimeoutMs + 300_000) / 1000)}s; stopping it. Last lines of ${paths.log}:\n${logTail(paths.log, 25)}\n`);
      daemon.child.kill('SIGTERM');
      await daemonExit(daemon);
      return 1;
    }
    await sleep(200);
  }
}

// ---- down --------------------------------------------------------------------------------

export async function clusterDown(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { timeout: { type: 'string' } });
  if (positionals.length) throw new UsageError(`down takes no arguments (got ${positionals.join(' ')})`);
  const timeoutMs = Number(values.timeout ?? 120) * 1000;
  const paths = daemonPaths(resolveStateDir());
  const info = readDaemonInfo(paths);
  if (!info) {
    removeStateFiles(paths);
    process.stderr.write(`no simulated cluster is running (state dir ${paths.stateDir})\n`);
    return 0;
  }
  if (!isDaemonAlive(info)) {
    const left = await cleanupLeftovers(info, paths);
    process.stdout.write(`the cluster daemon (pid ${info.pid}) was already gone; removed what it left: ${describeLeftovers(left)}\n`);
    return 0;
  }
  note(`stopping the simulated cluster (daemon pid ${info.pid})`);
  try {
    await request(paths.socket, { op: 'shutdown' }, { timeoutMs: 10_000 });
  } catch (e) {
    note(`the daemon did not take the shutdown request (${(e as Error).message}); sending SIGTERM`);
    try {
      process.kill(info.pid, 'SIGTERM');
    } catch {
      /* gone meanwhile */
    }
  }
  const t0 = Date.now();
  while (isDaemonAlive(info) && Date.now() - t0 < timeoutMs) await sleep(100);
  if (isDaemonAlive(info)) {
    note(`the daemon did not stop within ${timeoutMs}ms; killing it and cleaning up after it`);
  }
  const left = findLeftovers(info);
  if (!leftoversEmpty(left) || isDaemonAlive(info)) {
    note(`removing what the daemon left behind: ${describeLeftovers(left)}`);
    await cleanupLeftovers(info, paths);
  }
  process.stdout.write('simulated cluster stopped\n');
  return 0;
}

// ---- kubectl-style commands ---------------------------------------------------------------

const NS_OPTION = { namespace: { type: 'string', short: 'n' } } as const;

function namespaceOf(v: { namespace?: string }): string | undefined {
  return v.namespace || undefined;
}

/** `TYPE NAME…` or `TYPE/NAME`: kubectl's two ways to name objects. */
function resourceAndNames(positionals: string[], verb: string): { resource: string; names: string[] } {
  if (positionals.length === 0) throw new UsageError(`${verb} needs a resource type (pods, nodes, net-attach-def)`);
  const [first, ...rest] = positionals;
  if (first.includes('/')) {
    const [resource, name] = first.split('/', 2);
    return { resource, names: [name, ...rest.map((r) => r.split('/').pop()!)] };
  }
  return { resource: first, names: rest };
}

const OUTPUTS = ['wide', 'yaml', 'json', 'name'] as const;
type Output = (typeof OUTPUTS)[number];

/** A client of the running cluster's API server, with the kubeconfig `up` wrote. */
async function kubeApi(): Promise<KubeApi> {
  const { paths } = running();
  if (!existsSync(paths.kubeconfig)) throw new UsageError('the simulated cluster has no API server yet; `sriov-lab up` waits for it');
  return KubeApi.fromKubeconfig(paths.kubeconfig);
}

/** The namespace a command works in: none for cluster-scoped resources and `-A`. */
function scopeOf(r: ResourceInfo, v: { namespace?: string }, all = false): string {
  return r.namespaced && !all ? (namespaceOf(v) ?? 'default') : '';
}

/** What kubectl prints for an error, and exit code 1: the apiserver's Status as kubectl words it, or `error: …`. */
function printError(e: unknown): number {
  if (e instanceof UsageError || e instanceof ClusterNotRunningError) throw e;
  process.stderr.write(`${kubectlError(e)}\n`);
  return 1;
}

/** A command whose failures are printed as kubectl prints them. */
function apiCommand(run: (args: string[]) => Promise<number>): (args: string[]) => Promise<number> {
  return async (args) => {
    try {
      return await run(args);
    } catch (e) {
      return printError(e);
    }
  };
}

export const kubectlGet = apiCommand(async (args: string[]): Promise<number> => {
  const { values, positionals } = parse(args, { ...NS_OPTION, output: { type: 'string', short: 'o' }, 'all-namespaces': { type: 'boolean', short: 'A' } });
  const { resource, names } = resourceAndNames(positionals, 'get');
  const output = values.output as Output | undefined;
  if (output !== undefined && !OUTPUTS.includes(output)) {
    throw new UsageError(`unable to match a printer suitable for the output format "${values.output}", allowed formats are: ${OUTPUTS.join(',')}`);
  }
  const api = await kubeApi();
  const r = resourceFor(resource);
  const all = (values['all-namespaces'] ?? false) && names.length === 0;
  const namespace = scopeOf(r, values, all);
  if (output === 'json' || output === 'yaml' || output === 'name') {
    const objs: AnyObject[] = [];
    if (names.length) for (const n of names) objs.push(await api.request({ path: resourcePath(r, namespace, n) }));
    else objs.push(...((await api.request<{ items?: AnyObject[] }>({ path: resourcePath(r, namespace) })).items ?? []));
    // list items come without their type, as from a real apiserver; kubectl prints them with it
    for (const o of objs) Object.assign(o, { apiVersion: groupVersion(r), kind: r.kind, ...o });
    if (output === 'name') process.stdout.write(objs.map((o) => `${kindRef(r)}/${o.metadata?.name ?? ''}\n`).join(''));
    else process.stdout.write(printObjects(objs, output, names.length === 1));
    return 0;
  }
  const query = { includeObject: all ? 'Metadata' : 'None' };
  const table: Table = { columnDefinitions: [], rows: [] };
  let code = 0;
  for (const path of names.length ? names.map((n) => resourcePath(r, namespace, n)) : [resourcePath(r, namespace)]) {
    try {
      const part = await api.request<Table>({ path, query, accept: TABLE_ACCEPT });
      table.columnDefinitions = part.columnDefinitions;
      table.rows.push(...part.rows);
    } catch (e) {
      code = printError(e);
    }
  }
  if (table.rows.length === 0) {
    if (code === 0) process.stderr.write(noResourcesFound(namespace || undefined));
    return code;
  }
  process.stdout.write(printTable(table, { wide: output === 'wide', withNamespace: all && r.namespaced }));
  return code;
});

/** Describes one pod or node from what the API returns: the object, its events, and for a node its pods. */
async function describeOne(api: KubeApi, r: ResourceInfo, namespace: string, name: string): Promise<string> {
  const obj = await api.get(r, namespace, name);
  const events = (await api.list(resourceFor('events'), namespace, `involvedObject.kind=${r.kind},involvedObject.name=${name}`)) as CoreV1Event[];
  const nowMs = Date.now();
  if (r.kind === 'Node') return describeNode(obj as V1Node, { events, nowMs, pods: (await api.list(resourceFor('pods'), '', `spec.nodeName=${name}`)) as V1Pod[] });
  return describePod(obj as V1Pod, { events, nowMs });
}

export const kubectlDescribe = apiCommand(async (args: string[]): Promise<number> => {
  const { values, positionals } = parse(args, NS_OPTION);
  const { resource, names } = resourceAndNames(positionals, 'describe');
  const r = resourceFor(resource);
  if (r.kind !== 'Node' && r.kind !== 'Pod') throw new Error(`describe ${r.resource} is not supported by the simulator (supported: node, pod)`);
  const api = await kubeApi();
  const namespace = scopeOf(r, values);
  const all = names.length ? names : (await api.list(r, namespace)).map((o) => o.metadata!.name!);
  if (all.length === 0) {
    process.stderr.write(noResourcesFound(namespace || undefined));
    return 0;
  }
  const texts: string[] = [];
  for (const n of all) texts.push(await describeOne(api, r, namespace, n));
  process.stdout.write(texts.join('\n\n'));
  return 0;
});

/** Manifest sources of `-f`: a file, `-` (stdin), or a directory's .yaml/.yml/.json files in name order. */
function readManifests(files: string[]): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const f of files) {
    if (f === '-') {
      out.push({ file: '<stdin>', text: readFileSync(0, 'utf8') });
      continue;
    }
    if (!existsSync(f)) throw new UsageError(`the path "${f}" does not exist`);
    if (statSync(f).isDirectory()) {
      for (const name of readdirSync(f).filter((n) => /\.(ya?ml|json)$/.test(n)).sort()) out.push({ file: join(f, name), text: readFileSync(join(f, name), 'utf8') });
    } else out.push({ file: f, text: readFileSync(f, 'utf8') });
  }
  return out;
}

/** Namespace defaulting as kubectl does: `-n` fills in objects without one and must agree with those that have one. */
function withNamespace(docs: ManifestDoc[], namespace: string | undefined): void {
  for (const d of docs) {
    if (!resourceOfObject(d.object).namespaced) continue;
    const meta = (d.object.metadata ??= {});
    if (namespace && meta.namespace && meta.namespace !== namespace) {
      throw new Error(`the namespace from the provided object "${meta.namespace}" does not match the namespace "${namespace}". You must pass '--namespace=${meta.namespace}' to perform this operation.`);
    }
    meta.namespace = meta.namespace || namespace || 'default';
  }
}

/** A manifest's documents, each pod checked with the apiserver's validation first so an error names file and line. */
function manifestDocs(m: { file: string; text: string }, namespace: string | undefined): ManifestDoc[] {
  const docs = parseManifests(m.text, m.file);
  withNamespace(docs, namespace);
  const issues = podAdmissionIssues(docs);
  if (issues.length) throw new ManifestError(issues);
  return docs;
}

/**
 * What `apply` may change on an object that exists, as a merge patch: labels and annotations; a NAD's spec; a node's
 * taints and unschedulable (a pod's spec is immutable, a node's status its kubelet's).
 */
function applyPatch(obj: AnyObject): Record<string, unknown> {
  const meta = { labels: obj.metadata?.labels, annotations: obj.metadata?.annotations };
  if (obj.kind === 'NetworkAttachmentDefinition') return { metadata: meta, spec: (obj as { spec?: unknown }).spec ?? null };
  if (obj.kind === 'Node') {
    const spec = (obj as V1Node).spec;
    return { metadata: meta, spec: { taints: spec?.taints?.length ? spec.taints : null, unschedulable: spec?.unschedulable || null } };
  }
  return { metadata: meta };
}

/** kubectl apply of one object: created, configured (the patch changed it: a new resourceVersion) or unchanged. */
async function applyOne(api: KubeApi, obj: AnyObject): Promise<string> {
  const r = resourceOfObject(obj);
  const namespace = r.namespaced ? (obj.metadata?.namespace ?? 'default') : '';
  const name = obj.metadata?.name ?? '';
  let cur: AnyObject | undefined;
  try {
    cur = await api.request<AnyObject>({ path: resourcePath(r, namespace, name) });
  } catch (e) {
    if (!(e instanceof KubeApiError && e.code === 404)) throw e;
  }
  if (!cur) {
    // a node joins the simulated cluster with its kubelet (topology): apply only changes one
    if (r.kind === 'Node') throw new Error(`nodes ${JSON.stringify(name)} not found: a node joins the simulated cluster with its kubelet (topology), not by apply`);
    await api.request({ method: 'POST', path: resourcePath(r, namespace), body: obj });
    return `${kindRef(r)}/${name} created`;
  }
  const next = await api.request<AnyObject>({ method: 'PATCH', path: resourcePath(r, namespace, name), body: applyPatch(obj), contentType: 'application/merge-patch+json' });
  return `${kindRef(r)}/${name} ${next.metadata?.resourceVersion === cur.metadata?.resourceVersion ? 'unchanged' : 'configured'}`;
}

export const kubectlApply = apiCommand(async (args: string[]): Promise<number> => {
  const { values, positionals } = parse(args, { ...NS_OPTION, filename: { type: 'string', short: 'f', multiple: true } });
  if (positionals.length) throw new UsageError(`apply takes manifests with -f, not arguments (got ${positionals.join(' ')})`);
  if (!values.filename?.length) throw new UsageError('must specify -f FILENAME (a file, a directory or - for stdin)');
  const api = await kubeApi();
  let code = 0;
  for (const m of readManifests(values.filename)) {
    let docs: ManifestDoc[];
    try {
      docs = manifestDocs(m, namespaceOf(values));
    } catch (e) {
      code = printError(e);
      continue;
    }
    if (docs.length === 0) code = printError(new Error('no objects passed to apply'));
    for (const d of docs) {
      try {
        process.stdout.write(`${await applyOne(api, d.object)}\n`);
      } catch (e) {
        code = printError(e);
      }
    }
  }
  return code;
});

/** How long `delete` waits for an object to be gone (kubectl's --wait), as for a pod its node releases. */
const DELETE_WAIT_MS = 60_000;

/** kubectl delete of one object: the DELETE, then a wait until it is gone. */
async function deleteOne(api: KubeApi, r: ResourceInfo, namespace: string, name: string): Promise<string> {
  const path = resourcePath(r, namespace, name);
  await api.request({ method: 'DELETE', path });
  for (const t0 = Date.now(); Date.now() - t0 < DELETE_WAIT_MS; await sleep(50)) {
    try {
      await api.request({ path });
    } catch (e) {
      if (e instanceof KubeApiError && e.code === 404) break;
      throw e;
    }
  }
  return r.namespaced ? `${kindRef(r)} "${name}" deleted from ${namespace} namespace` : `${kindRef(r)} "${name}" deleted`;
}

export const kubectlDelete = apiCommand(async (args: string[]): Promise<number> => {
  const { values, positionals } = parse(args, { ...NS_OPTION, filename: { type: 'string', short: 'f', multiple: true } });
  const targets: Array<{ r: ResourceInfo; namespace: string; name: string }> = [];
  if (values.filename?.length) {
    if (positionals.length) throw new UsageError('delete takes either -f FILENAME or TYPE NAME…, not both');
    for (const m of readManifests(values.filename)) {
      const docs = parseManifests(m.text, m.file);
      withNamespace(docs, namespaceOf(values));
      for (const d of docs) targets.push({ r: resourceOfObject(d.object), namespace: d.object.metadata?.namespace ?? '', name: d.object.metadata?.name ?? '' });
    }
  } else {
    const { resource, names } = resourceAndNames(positionals, 'delete');
    if (names.length === 0) throw new UsageError(`delete ${resource} needs a NAME`);
    const r = resourceFor(resource);
    for (const name of names) targets.push({ r, namespace: scopeOf(r, values), name });
  }
  const api = await kubeApi();
  let code = 0;
  for (const t of targets) {
    try {
      process.stdout.write(`${await deleteOne(api, t.r, t.namespace, t.name)}\n`);
    } catch (e) {
      code = printError(e);
    }
  }
  return code;
});

export const clusterLogs = kubectlErrors(async (args: string[]): Promise<number> => {
  const { values, positionals } = parse(args, { node: { type: 'string' }, tail: { type: 'string' }, follow: { type: 'boolean', short: 'f' } });
  const source = positionals[0];
  if (source !== 'device-plugin' && source !== 'kubelet') throw new UsageError('logs needs device-plugin or kubelet: logs device-plugin|kubelet --node NAME [--tail N] [-f]');
  if (!values.node) throw new UsageError(`logs ${source} needs --node NAME`);
  const tail = values.tail === undefined ? undefined : Number(values.tail);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= -1)) throw new UsageError(`--tail must be an integer (got ${values.tail})`);
  let r = await ask({ op: 'logs', source, node: values.node, tail: tail === -1 ? undefined : tail });
  for (const l of r.lines) process.stdout.write(`${l}\n`);
  if (!values.follow) return 0;
  let stop = false;
  const onInt = () => (stop = true);
  process.once('SIGINT', onInt);
  try {
    while (!stop) {
      await sleep(300);
      try {
        r = await ask({ op: 'logs', source, node: values.node, since: r.next });
      } catch (e) {
        if (e instanceof ClusterNotRunningError || e instanceof DaemonUnreachableError) return 0; // the cluster went down
        throw e;
      }
      for (const l of r.lines) process.stdout.write(`${l}\n`);
    }
  } finally {
    process.off('SIGINT', onInt);
  }
  return 0;
});

/** Runs argv with the user's terminal; Ctrl-C goes to the command, whose exit status becomes ours. */
function runAttached(target: ExecTarget, command: string[]): Promise<number> {
  const [cmd, ...rest] = [...target.argv, ...command];
  const env: Record<string, string> = { ...target.env };
  if (process.env.TERM) env.TERM = process.env.TERM;
  return new Promise((resolvePromise, reject) => {
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    const c = spawn(cmd, rest, { stdio: 'inherit', env, cwd: '/' });
    c.on('error', (e) => {
      process.off('SIGINT', ignore);
      reject(e);
    });
    c.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolvePromise(code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGINT' ? 130 : 143));
    });
  });
}

export const podExec = kubectlErrors(async (args: string[]): Promise<number> => {
  const { values, positionals, command } = parse(args, {
    ...NS_OPTION,
    container: { type: 'string', short: 'c' },
    stdin: { type: 'boolean', short: 'i' },
    tty: { type: 'boolean', short: 't' },
  });
  const pod = positionals[0];
  if (!pod || positionals.length > 1) throw new UsageError('exec POD [-c CONTAINER] [-n NAMESPACE] -- COMMAND [args…]');
  if (command.length === 0) throw new UsageError('you must specify at least one command for the container');
  const target = await ask({ op: 'exec-target', pod: pod.replace(/^pods?\//, ''), namespace: namespaceOf(values), container: values.container });
  return runAttached(target, command);
});

export const nodeExec = kubectlErrors(async (args: string[]): Promise<number> => {
  const { positionals, command } = parse(args, {});
  const node = positionals[0];
  if (!node || positionals.length > 1) throw new UsageError('node exec NODE -- COMMAND [args…]');
  const target = await ask({ op: 'node-target', node });
  return runAttached(target, command.length ? command : ['bash', '-i']);
});

export const clusterRestart = kubectlErrors(async (args: string[]): Promise<number> => {
  const { values, positionals } = parse(args, { node: { type: 'string' } });
  const component = positionals[0];
  if (component !== 'kubelet' && component !== 'device-plugin') throw new UsageError('restart kubelet|device-plugin --node NAME');
  if (!values.node) throw new UsageError(`restart ${component} needs --node NAME`);
  return write(await ask({ op: 'restart', component, node: values.node }));
});

/** The commands, as `harness/cli/commands.ts` registers them (names as typed after `sriov-lab`). */
/** `sriov-lab kubeconfig`: the path of the running cluster's kubeconfig, for `export KUBECONFIG=$(sriov-lab kubeconfig)`. */
export async function clusterKubeconfig(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length) throw new UsageError(`kubeconfig takes no arguments (got ${positionals.join(' ')})`);
  const { paths } = running();
  const st = await ask({ op: 'status' });
  if (!st.kubeconfig || !existsSync(paths.kubeconfig)) {
    throw new UsageError(`the simulated cluster has no API server yet (phase ${st.phase}); \`sriov-lab up\` waits for it`);
  }
  process.stdout.write(`${paths.kubeconfig}\n`);
  return 0;
}
