// `sriov-lab run [PATH…] [--backend sim] [--device-plugin "CMD"] [--cni PATH] [--seed N] [--filter GLOB]
//                [--json F] [--junit F] [--html F] [--keep]`
// Exit codes: 0 every selected scenario passed or was skipped; 1 a scenario failed or the run was interrupted;
// 2 a usage error, an unknown backend, or an invalid scenario file (nothing ran).
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { multiplex } from '../../reports/reporter.ts';
import type { Reporter } from '../../reports/reporter.ts';
import { jsonReporter, parseRunResult } from '../../reports/json.ts';
import { junitReporter } from '../../reports/junit.ts';
import { htmlReporter } from '../../reports/html.ts';
import { githubReporter } from '../../reports/github.ts';
import { terminalReporter, type TerminalSink } from '../../reports/terminal.ts';
import { runTotals, type RunResult } from '../../reports/types.ts';
import { parse, UsageError } from '../cli/args.ts';
import { ScenarioValidationError, findScenarioFiles, loadScenario, type ScenarioLoadOptions } from '../scenario/load.ts';
import { TopologyError, loadTopology, type Topology } from '../../sim/topology/topology.ts';
import type { Scenario } from '../scenario/types.ts';
import type { Clock } from './clock.ts';
import type { Backend } from '../backend.ts';
import { backends as defaultRegistry, createBackendRegistry, UnknownBackendError, type BackendRegistry } from './registry.ts';
import { runScenarios } from './runner.ts';
import type { BackendRunInfo } from '../backend.ts';
import { parseSeed, randomSeed } from './seed.ts';
import { deferSignal } from '../exit-hooks.ts';
import { joinCommandLine, splitCommandLine } from './shell-words.ts';

export const RUN_USAGE =
  'usage: sriov-lab run [PATH…] [--backend sim|qemu|host|cluster|kind] [--device-plugin "CMD"] [--cni PATH] [--topology FILE]\n' +
  '                     [--seed N] [--filter GLOB]… [--json FILE] [--junit FILE] [--html FILE] [--keep] [--pf NAME|PCI]…\n' +
  '                     [--force] [--kubeconfig FILE] [--reuse NAME] [--github] [--jobs N]\n' +
  '                     [--multus PATH]\n' +
  '  --backend: sim (simulated nodes, the default), qemu (VMs with igb), host (this machine\'s NICs), cluster (an\n' +
  '    existing cluster: --kubeconfig FILE, else $KUBECONFIG, else ~/.kube/config), kind (a kind cluster made for the\n' +
  '    topology, the simulated hardware inside its node containers; --reuse NAME: an existing one, --keep: keep the\n' +
  '    one it made; --device-plugin/--cni: DaemonSet manifests); docs/backends.md.\n' +
  '  --jobs N: scenarios run at once, each in its own nodes (default: the number of cores); output, reports and\n' +
  '    results are in file order and the same as with --jobs 1. The host and cluster backends run one at a time.\n' +
  '  --multus PATH (sim backend): a Multus thin-plugin binary as every node\'s CNI, in place of the emulated attach;\n' +
  '    it reads pods and NADs through the cluster\'s API and writes network-status itself (docs/multus.md).\n' +
  '  --pf (host backend): a PF it may use, for the topology\'s NICs in order; --force: past its guard rails.\n' +
  '  PATH: scenario files or folders (default: scenarios/); --filter matches a scenario\'s name, id or file.\n' +
  '  --topology: the topology of the scenarios that name none (default: one node, an I350 PF and a virtio NIC).\n' +
  '  --github (default when GITHUB_ACTIONS=true): a log group per scenario, annotations at failed operations,\n' +
  '    the job summary ($GITHUB_STEP_SUMMARY) and step outputs ($GITHUB_OUTPUT).\n' +
  '  Exit code: 0 passed, 1 a scenario failed or the run was interrupted, 2 usage error or invalid scenario.\n';

export interface RunCommandIo {
  stdout?: TerminalSink;
  stderr?: { write(s: string): unknown };
  registry?: BackendRegistry;
  /** aborting it interrupts the run like Ctrl-C (the command also listens for SIGINT itself unless given one) */
  signal?: AbortSignal;
  clock?: Clock;
  /** paths in results are shown relative to this (default: the working directory) */
  cwd?: string;
  /** the environment (default: process.env): GITHUB_ACTIONS, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_WORKSPACE */
  env?: Record<string, string | undefined>;
}

export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** the flags `run` shares with other commands that run scenarios (`fidelity`) */
export const SCENARIO_RUN_OPTIONS = {
  'device-plugin': { type: 'string' },
  cni: { type: 'string' },
  seed: { type: 'string' },
  filter: { type: 'string', multiple: true },
  pf: { type: 'string', multiple: true },
  force: { type: 'boolean' },
  jobs: { type: 'string' },
} as const;

export interface ScenarioRunFlags {
  seed: number;
  devicePlugin?: string[];
  cni?: string;
  filter: string[];
  host?: { pfs: string[]; force: boolean };
  /** --jobs (default: the number of cores) */
  jobs: number;
}

/** --seed (random when absent), --device-plugin (split like a shell), --cni, --filter; a problem is a usage message */
export function scenarioRunFlags(values: Record<string, string | boolean | (string | boolean)[] | undefined>): { ok: true; flags: ScenarioRunFlags } | { ok: false; message: string } {
  let seed: number;
  if (values.seed !== undefined) {
    const s = parseSeed(String(values.seed));
    if (s === undefined) return { ok: false, message: `--seed ${String(values.seed)}: expected a whole number 0..4294967295` };
    seed = s;
  } else seed = randomSeed();
  let jobs = availableParallelism();
  if (values.jobs !== undefined) {
    const j = String(values.jobs);
    if (!/^[1-9][0-9]{0,3}$/.test(j)) return { ok: false, message: `--jobs ${j}: expected a whole number 1..9999` };
    jobs = Number(j);
  }
  let devicePlugin: string[] | undefined;
  if (values['device-plugin'] !== undefined) {
    try {
      devicePlugin = splitCommandLine(String(values['device-plugin']));
    } catch (e) {
      return { ok: false, message: `--device-plugin: ${(e as Error).message}` };
    }
    if (devicePlugin.length === 0) return { ok: false, message: '--device-plugin: empty command' };
  }
  return {
    ok: true,
    flags: {
      seed,
      devicePlugin,
      cni: values.cni !== undefined ? String(values.cni) : undefined,
      filter: (values.filter as string[] | undefined) ?? [],
      jobs,
      ...(values.pf !== undefined || values.force === true ? { host: { pfs: (values.pf as string[] | undefined) ?? [], force: values.force === true } } : {}),
    },
  };
}

/**
 * The scenarios under `paths` (files or folders), with files shown relative to `cwd`. On a problem, `message` is the
 * whole text to print on stderr (already prefixed with `sriov-lab <command>:`); nothing should run.
 */
export function loadScenarioPaths(paths: string[], cwd: string, command = 'run', opts: ScenarioLoadOptions = {}): { ok: true; scenarios: Scenario[] } | { ok: false; message: string } {
  const scenarios: Scenario[] = [];
  const problems: string[] = [];
  let files: string[];
  try {
    files = findScenarioFiles(paths);
  } catch (e) {
    if (e instanceof ScenarioValidationError) return { ok: false, message: `sriov-lab ${command}: ${e.lines().join('\n')}\n` };
    throw e;
  }
  for (const f of files) {
    try {
      const s = loadScenario(f, opts);
      scenarios.push({ ...s, file: relative(cwd, f) || f });
    } catch (e) {
      if (!(e instanceof ScenarioValidationError)) throw e;
      problems.push(...e.lines());
    }
  }
  if (problems.length) {
    return { ok: false, message: `${problems.join('\n')}\nsriov-lab ${command}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in scenario files; nothing ran\n` };
  }
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    const prev = seen.get(s.name);
    if (prev) return { ok: false, message: `sriov-lab ${command}: two scenarios are named "${s.name}": ${prev} and ${s.file}\n` };
    seen.set(s.name, s.file);
  }
  if (scenarios.length === 0) return { ok: false, message: `sriov-lab ${command}: no scenario files (kind: Scenario) under ${paths.join(', ')}\n` };
  return { ok: true, scenarios };
}

/**
 * Ctrl-C once aborts the returned signal (the current scenario's finally and down still run); twice exits at once
 * (the exit hooks' sync parts, such as killing a VM, still run). While it is in place the exit hooks leave SIGINT to
 * it, so a backend's hook (a VM, a real cluster's namespace) does not tear the run down under it and re-raise the
 * signal as a second Ctrl-C: the backend's own down cleans up and the report is written.
 * With an `external` signal, that one is followed instead and SIGINT is left alone (tests).
 */
export function interruptOnSigint(stderr: { write(s: string): unknown }, external?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      stderr.write('\nsriov-lab: interrupted twice, exiting without cleanup\n');
      process.exit(130);
    }
    stderr.write("\nsriov-lab: interrupting: finishing the current scenario's cleanup (Ctrl-C again to exit now)\n");
    controller.abort();
  };
  let undefer = (): void => undefined;
  if (external?.aborted) controller.abort();
  else if (external) external.addEventListener('abort', () => controller.abort(), { once: true });
  else {
    process.on('SIGINT', onSigint);
    undefer = deferSignal('SIGINT');
  }
  return {
    signal: controller.signal,
    dispose: () => {
      if (!external) process.off('SIGINT', onSigint);
      undefer();
    },
  };
}

export async function runCommand(args: string[], io: RunCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const registry = io.registry ?? defaultRegistry;
  const fail = (msg: string, usage = false): number => {
    stderr.write(`sriov-lab run: ${msg}\n${usage ? RUN_USAGE : ''}`);
    return 2;
  };

  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(args, {
      backend: { type: 'string', default: 'sim' },
      ...SCENARIO_RUN_OPTIONS,
      json: { type: 'string' },
      junit: { type: 'string' },
      html: { type: 'string' },
      keep: { type: 'boolean' },
      topology: { type: 'string' },
      kubeconfig: { type: 'string' },
      reuse: { type: 'string' },
      multus: { type: 'string' },
      github: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (e) {
    return fail((e as Error).message, true);
  }
  if (values.help) {
    stdout.write(RUN_USAGE);
    return 0;
  }
  const parsed = scenarioRunFlags(values);
  if (!parsed.ok) return fail(parsed.message);
  const { seed, filter, host, jobs } = parsed.flags;
  const cwd = io.cwd ?? process.cwd();
  // a plugin named by a relative path (./build/sriov) runs in a node or a VM whose working directory is not this one
  const absolute = (p: string) => (p.includes('/') ? resolve(cwd, p) : p);
  const devicePlugin = parsed.flags.devicePlugin && [absolute(parsed.flags.devicePlugin[0]), ...parsed.flags.devicePlugin.slice(1)];
  const cni = parsed.flags.cni && absolute(parsed.flags.cni);

  let backend;
  try {
    backend = registry.get(String(values.backend));
  } catch (e) {
    if (e instanceof UnknownBackendError) return fail(e.message);
    throw e;
  }
  let multus: string | undefined;
  if (values.multus !== undefined) {
    // the other backends' nodes are VMs, a real host or a real cluster, whose CNI is their own
    if (backend.name !== 'sim') return fail(`--multus is for the sim backend, whose nodes' CNI sriov-lab sets up; the ${backend.name} backend's nodes bring their own`);
    multus = resolve(cwd, String(values.multus));
    try {
      accessSync(multus, constants.X_OK);
    } catch {
      return fail(`--multus ${String(values.multus)}: no executable file there`);
    }
  }
  if (values.kubeconfig !== undefined) {
    if (!backend.withOptions) return fail(`--kubeconfig is for the cluster and kind backends, not ${backend.name}`);
    backend = backend.withOptions({ kubeconfig: resolve(cwd, String(values.kubeconfig)) });
  }
  if (values.reuse !== undefined || (values.keep === true && backend.name === 'kind')) {
    if (backend.name !== 'kind' || !backend.withOptions) return fail(`--reuse is for the kind backend, not ${backend.name}`);
    backend = backend.withOptions({ ...(values.reuse !== undefined ? { reuse: String(values.reuse) } : {}), ...(values.keep === true ? { keep: true } : {}) });
  }

  const paths = positionals.length ? positionals : ['scenarios'];
  let defaultTopology: Topology | undefined;
  if (values.topology !== undefined) {
    try {
      defaultTopology = loadTopology(resolve(cwd, String(values.topology)));
    } catch (e) {
      if (!(e instanceof TopologyError)) throw e;
      stderr.write(`sriov-lab run: --topology: ${e.lines().join('\n')}\n`);
      return 2;
    }
  }
  const loaded = loadScenarioPaths(paths, cwd, 'run', { defaultTopology });
  if (!loaded.ok) {
    stderr.write(loaded.message);
    return 2;
  }
  const scenarios = loaded.scenarios;

  const env = io.env ?? process.env;
  const reporters: Reporter[] = [];
  // first, so that each scenario's line from the terminal reporter follows its closed log group
  if (values.github === true || env.GITHUB_ACTIONS === 'true') {
    const files = { html: values.html as string | undefined, junit: values.junit as string | undefined, json: values.json as string | undefined };
    reporters.push(githubReporter({ stdout, env, cwd, files }));
  }
  reporters.push(terminalReporter({ stream: stdout }));
  if (values.json) reporters.push(jsonReporter({ outputFile: String(values.json) }));
  if (values.junit) reporters.push(junitReporter({ outputFile: String(values.junit) }));
  if (values.html) reporters.push(htmlReporter({ outputFile: String(values.html) }));
  const reporter = multiplex(reporters, { onReporterError: (e) => stderr.write(`sriov-lab: ${e.message}\n`) });

  // Ctrl-C once: stop the current scenario (its finally and down still run) and write the reports; twice: exit now
  const interrupt = interruptOnSigint(stderr, io.signal);
  try {
    const run = await runScenarios(scenarios, {
      backend: backend as typeof backend & BackendRunInfo,
      seed,
      reporter,
      devicePlugin,
      cni,
      ...(multus ? { multus } : {}),
      filter,
      host,
      ...(values.topology !== undefined ? { topologyFile: String(values.topology) } : {}),
      keep: values.keep === true,
      jobs,
      signal: interrupt.signal,
      clock: io.clock,
      command: joinCommandLine(['sriov-lab', 'run', ...args]),
      paths,
      toolVersion: toolVersion(),
      progress: (line) => stderr.write(`${line}\n`),
    });
    if (run.scenarios.length === 0) stderr.write(`sriov-lab run: no scenario matches --filter ${filter.join(', ')}\n`);
    return runTotals(run).status === 'passed' ? 0 : 1;
  } finally {
    interrupt.dispose();
  }
}

export { UsageError };

/**
 * `sriov-lab run ARGS` in this process with only `backends` registered, for tests and benchmarks: its terminal output
 * captured, its JSON result parsed (written to a temporary file that is removed).
 */
export async function runToResult(args: string[], backends: Array<Backend & BackendRunInfo>, cwd = projectRoot()): Promise<{ code: number; result: RunResult; out: string; err: string }> {
  const registry = createBackendRegistry();
  for (const b of backends) registry.register(b);
  const dir = mkdtempSync(join(tmpdir(), 'sl-run-'));
  let out = '';
  let err = '';
  try {
    // a test run inside a GitHub job must not write that job's summary and outputs
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GITHUB_ACTIONS'));
    const code = await runCommand([...args, '--json', join(dir, 'run.json')], {
      registry,
      cwd,
      env,
      stdout: { write: (s: string) => (out += s), isTTY: false } as never,
      stderr: { write: (s: string) => (err += s) },
      signal: new AbortController().signal,
    });
    return { code, result: parseRunResult(readFileSync(join(dir, 'run.json'), 'utf8')), out, err };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
