// `sriov-lab soak`: options, the run, the figures (and --json FILE); exit 1 on a violation or a leak.
import { writeFileSync } from 'node:fs';
import { relative, dirname, resolve } from 'node:path';
import { loadTopology, resolveTopology } from '../../sim/topology/topology.ts';
import { parse, UsageError } from '../cli/args.ts';
import { simBackend } from '../backends/sim.ts';
import { qemuBackend } from '../backends/qemu.ts';
import { interruptOnSigint } from '../runner/command.ts';
import { defaultShrinkTrials, renderFigures, soak, soakNodes } from './soak.ts';

export const SOAK_USAGE = `usage: sriov-lab soak [--backend sim|qemu] [--seed N] [--iterations N] [--nodes N | --topology FILE] [--json FILE] [--out FILE] [--shrink-trials N]
  a randomized fault soak: pod churn, kubelet restarts, device plugin kill/restart and socket deletion, driver rebinds
  (on sim with sysfs errno faults on the bind), IPAM failures, VF and PF link flaps, VF count changes, pod network
  namespaces vanishing before DEL, drawn from the seed for the backend; the invariants are checked after every step.
  On a violation the steps are shrunk and written as a scenario (--out, default soak-SEED.yaml) and it exits 1.
  --backend     sim (default) or qemu: one QEMU guest per node, igb's VFs and a real kernel; steps a real kernel or
                igb cannot give are not drawn (it prints which and why), nor are settings igb cannot restore compared
  --iterations  steps (default 1000; on qemu each takes seconds: try 100)
  --nodes       nodes of one i350 with 4 VFs each (default 1; on qemu the i350 is QEMU's igb)
  --json FILE   the figures as JSON
  --shrink-trials  fresh-cluster re-runs when shrinking (default ${defaultShrinkTrials('sim')} on sim, ${defaultShrinkTrials('qemu')} on qemu: each qemu trial boots VMs)
`;

function intOption(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, not "${v}"`);
  return Number(v);
}

export async function soakCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    backend: { type: 'string' },
    seed: { type: 'string' },
    iterations: { type: 'string' },
    nodes: { type: 'string' },
    topology: { type: 'string' },
    json: { type: 'string' },
    out: { type: 'string' },
    'shrink-trials': { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`soak takes no arguments (${positionals.join(' ')})\n${SOAK_USAGE}`);
  if (values.nodes !== undefined && values.topology !== undefined) throw new UsageError('give --nodes or --topology, not both');
  const backend = values.backend ?? 'sim';
  if (backend !== 'sim' && backend !== 'qemu') throw new UsageError(`--backend must be sim or qemu, not "${backend}"`);
  const available = await (backend === 'qemu' ? qemuBackend : simBackend).available();
  if (!available.ok) {
    process.stderr.write(`sriov-lab soak: the ${backend} backend cannot run here: ${available.reason}\n`);
    return 2;
  }
  const seed = intOption('seed', values.seed, 1, 0);
  const out = resolve(values.out ?? `soak-${seed}.yaml`);
  const nodes = soakNodes(intOption('nodes', values.nodes, 1, 1));
  const topology = values.topology ? loadTopology(values.topology) : resolveTopology({ name: 'soak', nodes }, '<soak>');
  // Ctrl-C ends the soak after its step, with the cluster taken down: pods' namespaces are this process's to remove
  const interrupt = interruptOnSigint(process.stderr);
  const figures = await soak({
    backend,
    signal: interrupt.signal,
    seed,
    iterations: intOption('iterations', values.iterations, 1000, 1),
    topology,
    scenarioTopology: values.topology ? { topology: relative(dirname(out), resolve(values.topology)) } : { nodes },
    scenarioOut: out,
    maxShrinkTrials: intOption('shrink-trials', values['shrink-trials'], defaultShrinkTrials(backend), 0),
    progress: (l) => process.stdout.write(`${l}\n`),
  }).finally(() => interrupt.dispose());
  process.stdout.write(renderFigures(figures));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(figures, null, 2)}\n`);
  return figures.violations > 0 ? 1 : figures.interrupted ? 130 : 0;
}
