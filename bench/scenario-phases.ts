// Where one scenario's time goes on the sim backend, phase by phase: each node's start (namespaces, the sysfs server's
// FUSE mount and veths, the mount namespace, the kubelet emulator, the device plugin's spawn → registration →
// ListAndWatch), every operation, every CNI call, and the teardown. Prints a timeline of the last run and the median
// of each phase over the runs, with the CPU time the run used here. Asserts nothing.
//   node --import tsx bench/scenario-phases.ts [SCENARIO.yaml] [--runs N] [--seed N]
import { join, resolve } from 'node:path';
import { projectRoot } from '../sim/paths.ts';
import { onPhase, type PhaseEvent } from '../sim/phases.ts';
import type { ScenarioResult, TraceEvent } from '../reports/types.ts';
import { runToResult } from '../harness/runner/command.ts';
import { simBackend } from '../harness/backends/sim.ts';

// the processes a scenario starts (device plugin, CNI, ip wrapper, sysfs server) run from dist/ as an installed
// sriov-lab runs them, not from sources through tsx (which costs each start ~0.3 s of compiling and tripled the
// bundled CNI's time in a scenario); SRIOV_LAB_ENTRY=sources measures the sources
process.env.SRIOV_LAB_ENTRY ??= 'dist';

interface Span {
  /** ms since the scenario started */
  at: number;
  ms: number;
  node?: string;
  name: string;
  /** the label phases are grouped by across runs */
  key: string;
}

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(all[i - 1] ?? '').startsWith('--'));
const file = resolve(positional[0] ?? join(projectRoot(), 'scenarios/tutorial/virtio.yaml'));
const runs = Number(arg('--runs') ?? '3');
const seed = arg('--seed') ?? '1';

/** the spans the trace and the result already hold: operations, CNI calls, the plugin's registration, up and down */
function spansOfResult(s: ScenarioResult): Span[] {
  const out: Span[] = [];
  const trace = s.trace as TraceEvent[];
  for (const st of s.steps)
    for (const op of st.operations) out.push({ at: op.startMs, ms: op.durationMs, name: `op ${op.kind}: ${op.title}`, key: `op ${op.kind}: ${op.title}` });
  const firstStep = s.steps[0]?.startMs ?? s.durationMs;
  out.push({ at: 0, ms: firstStep, name: 'up (start → first step)', key: 'up (start → first step)' });
  const down = trace.find((e) => e.kind === 'log' && e.source === 'harness' && e.message === 'down');
  if (down) out.push({ at: down.atMs, ms: s.durationMs - down.atMs, name: 'down (nodes stopped)', key: 'down (nodes stopped)' });
  const seen = new Map<string, number>();
  for (const e of trace) {
    if (e.kind !== 'cni') continue;
    const base = `cni ${e.command} ${e.plugin} ${e.pod ?? ''}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    let failed = '';
    if (e.exitCode !== 0) {
      let msg = e.stdout;
      try {
        msg = String((JSON.parse(e.stdout) as { msg?: string }).msg ?? e.stdout);
      } catch {
        /* not a CNI error result */
      }
      failed = ` → exit ${e.exitCode}: ${msg.trim().slice(0, 160)}`;
    }
    out.push({ at: e.atMs, ms: e.durationMs, node: e.node, name: `${base}${failed}`, key: `${base} #${n}` });
  }
  // the device plugin's first start on each node: first output → registration → first ListAndWatch answer → resource
  for (const node of s.nodes ?? []) {
    const mine = trace.filter((e) => e.node === node);
    const out1 = mine.find((e) => e.kind === 'log' && e.source === 'device-plugin');
    const reg = mine.find((e) => e.kind === 'grpc' && /\/(GetInfo|Register)$/.test(e.method));
    const law = mine.find((e) => e.kind === 'grpc' && e.method.endsWith('/ListAndWatch') && e.response !== undefined);
    const res = mine.find((e) => e.kind === 'resource' && e.capacity > 0);
    const step = (name: string, a: TraceEvent | undefined, b: TraceEvent | undefined) => {
      if (a && b && b.atMs >= a.atMs) out.push({ at: a.atMs, ms: b.atMs - a.atMs, node, name, key: `${node} ${name}` });
    };
    step('device plugin: first output → registration (GetInfo/Register)', out1, reg);
    step('device plugin: registration → first ListAndWatch answer', reg, law);
    step('device plugin: ListAndWatch answer → resource reported', law, res);
  }
  return out;
}

const available = await simBackend.available();
if (!available.ok) {
  console.log(`skipped: the sim backend cannot run here: ${available.reason}`);
} else {
  const byKey = new Map<string, number[]>();
  let last: Span[] = [];
  let lastResult: ScenarioResult | undefined;
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < runs; r++) {
    const phases: PhaseEvent[] = [];
    const off = onPhase((e) => phases.push(e));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { code, result } = await runToResult([file, '--seed', seed, '--jobs', '1'], [simBackend]);
    walls.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / 1000);
    off();
    const s = result.scenarios[0];
    if (!s || code !== 0) {
      console.log(`run ${r + 1}: exit code ${code}${s ? `, ${s.name} ${s.status}: ${s.error?.message ?? ''}` : ', no scenario'}`);
      process.exitCode = 1;
      break;
    }
    const start = Date.parse(s.startedAt ?? '');
    const spans: Span[] = [
      ...phases.map((p) => ({ at: p.startMs - start, ms: p.endMs - p.startMs, node: p.node, name: p.name, key: `${p.node ?? ''} ${p.name}` })),
      ...spansOfResult(s),
    ];
    for (const sp of spans) byKey.set(sp.key, [...(byKey.get(sp.key) ?? []), sp.ms]);
    last = spans;
    lastResult = s;
  }
  if (lastResult) {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`${lastResult.name} (${lastResult.file}) on sim, seed ${seed}: timeline of run ${walls.length} (ms since the scenario started)`);
    console.log(`  ${'at'.padStart(7)} ${'ms'.padStart(7)}  ${'node'.padEnd(8)} phase`);
    for (const sp of [...last].sort((a, b) => a.at - b.at || b.ms - a.ms)) {
      console.log(`  ${sp.at.toFixed(0).padStart(7)} ${sp.ms.toFixed(1).padStart(7)}  ${(sp.node ?? '').padEnd(8)} ${sp.name}`);
    }
    console.log(`\nmedian of ${walls.length} run(s) per phase, longest first:`);
    const rows = [...byKey.entries()].map(([key, xs]) => ({ key, ms: median(xs), n: xs.length })).sort((a, b) => b.ms - a.ms);
    for (const row of rows) console.log(`  ${row.ms.toFixed(1).padStart(8)} ms  ${row.key.trim()}${row.n < walls.length ? `  (in ${row.n} of ${walls.length} runs)` : ''}`);
    console.log(`\nscenario wall ${walls.map((w) => (w / 1000).toFixed(2)).join(', ')} s; CPU of this process ${cpus.map((c) => (c / 1000).toFixed(2)).join(', ')} s (child processes not counted)`);
  }
}
