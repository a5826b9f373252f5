// `sriov-lab node shell` and `sriov-lab sysfs serve`: a simulated node or only its sysfs, for people at a terminal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultTopology, loadTopology, type NodeSpec, type Topology } from '../../sim/topology/topology.ts';
import { startNode, newRunId, modelOptionsFor, type StartedNode } from '../../sim/node/node.ts';
import { startSysfsServer } from '../../sim/kernel/server-process.ts';
import { caps } from '../../sim/caps.ts';
import { parse, UsageError } from './args.ts';

function pickNode(topo: Topology, name: string | undefined): NodeSpec {
  if (!name) return topo.nodes[0];
  const n = topo.nodes.find((x) => x.name === name);
  if (!n) throw new UsageError(`no node "${name}" in the topology (nodes: ${topo.nodes.map((x) => x.name).join(', ')})`);
  return n;
}

function requireRoot(what: string): void {
  for (const c of [caps.root(), caps.fuse(), caps.netns()]) {
    if (!c.ok) throw new UsageError(`${what} needs ${c.name}: ${c.detail}`);
  }
}

/** Runs until the child exits; SIGINT/SIGTERM/SIGHUP stop the child and clean up before we exit. */
export async function nodeShell(args: string[]): Promise<number> {
  const { values, command } = parse(args, {
    topology: { type: 'string', short: 't' },
    node: { type: 'string' },
    seed: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  requireRoot('node shell');
  const topo = values.topology ? loadTopology(resolve(values.topology)) : defaultTopology();
  const spec = pickNode(topo, values.node);
  const argv = command.length ? command : ['bash', '-i'];
  const log = values.quiet ? () => undefined : (l: string) => process.stderr.write(`[sriov-lab] ${l}\n`);
  const work = mkdtempSync(join(tmpdir(), 'sl-node-'));
  let node: StartedNode | undefined;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    signalled = sig;
    if (!node) return; // still starting: startNode's own error path cleans up; we stop right after
    log(`${sig}: stopping the node`);
    void node.stop();
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, onSignal);
  try {
    node = await startNode({ name: spec.name, runId: newRunId(), workDir: work, model: modelOptionsFor(spec, Number(values.seed ?? 1)), log });
    if (signalled) return 128 + 2;
    const child = node.spawn(argv, { stdio: 'inherit' });
    const code = await new Promise<number>((res) => child.on('exit', (c, sig) => res(c ?? (sig ? 128 + (sig === 'SIGKILL' ? 9 : 15) : 1))));
    return signalled ? 130 : code;
  } finally {
    await node?.stop();
    rmSync(work, { recursive: true, force: true });
    for (const s of sigs) process.off(s, onSignal);
  }
}

export async function sysfsServe(args: string[]): Promise<number> {
  const { values } = parse(args, {
    topology: { type: 'string', short: 't' },
    node: { type: 'string' },
    mount: { type: 'string' },
    seed: { type: 'string' },
  });
  if (!values.mount) throw new UsageError('sysfs serve needs --mount DIR');
  const fuse = caps.fuse();
  if (!fuse.ok) throw new UsageError(`sysfs serve needs FUSE: ${fuse.detail}`);
  const topo = values.topology ? loadTopology(resolve(values.topology)) : defaultTopology();
  const spec = pickNode(topo, values.node);
  const srv = await startSysfsServer({ model: modelOptionsFor(spec, Number(values.seed ?? 1)), mountDir: resolve(values.mount) });
  process.stdout.write(`serving node ${spec.name}'s sysfs at ${resolve(values.mount)}/sys (and /dev/vfio at ${resolve(values.mount)}/dev/vfio)\ncontrol socket: ${srv.controlSocket}\nstop with SIGTERM or Ctrl-C\n`);
  await new Promise<void>((res) => {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => res());
  });
  await srv.stop();
  process.stdout.write('unmounted\n');
  return 0;
}
