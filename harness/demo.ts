// `sriov-lab demo` (= `npm start`): the tutorial told step by step — the tutorial scenarios run on the sim backend,
// with a narrator that shows what the device plugin discovered, the pod's interfaces, the node's resources and the
// scheduler's reasons as they happen; an HTML report (and JSON) at the end.
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { projectRoot } from '../sim/paths.ts';
import { loadScenario } from './scenario/load.ts';
import { runScenarios } from './runner/runner.ts';
import { randomSeed, parseSeed } from './runner/seed.ts';
import { multiplex, type Reporter } from '../reports/reporter.ts';
import { htmlReporter } from '../reports/html.ts';
import { jsonReporter } from '../reports/json.ts';
import { runTotals, type TraceEvent } from '../reports/types.ts';
import { simBackend } from './backends/sim.ts';
import type { Backend, BackendUpOptions, ClusterHandle } from './backend.ts';
import type { BackendRunInfo } from './backend.ts';
import { parse } from './cli/args.ts';
import { ensureSystemPackages } from './setup/setup.ts';

export const TUTORIAL_SCENARIOS = ['scenarios/tutorial/virtio.yaml', 'scenarios/tutorial/sriov-kernel.yaml', 'scenarios/tutorial/sriov-dpdk.yaml'];

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string) => (color ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (color ? `\x1b[31m${s}\x1b[0m` : s);
const yellow = (s: string) => (color ? `\x1b[33m${s}\x1b[0m` : s);

function indent(text: string, by = '      '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
}

/** What a person following the tutorial wants to see from the trace, as it happens. */
function narrate(e: TraceEvent, out: (s: string) => void, seen: Map<string, string>): void {
  if (e.kind === 'log' && e.source === 'device-plugin') {
    try {
      const l = JSON.parse(e.message) as { msg?: string; resource?: string; total?: number; healthy?: number; mode?: string };
      if (l.msg === 'devices changed' && l.resource) out(dim(`      device plugin on ${e.node}: ${l.resource} has ${l.total} device(s), ${l.healthy} healthy`));
      else if (l.msg?.startsWith('registered with kubelet')) out(dim(`      device plugin on ${e.node}: ${l.resource} registered with the kubelet`));
    } catch {
      /* not a JSON log line */
    }
  } else if (e.kind === 'resource') {
    const key = `${e.node}/${e.resource}`;
    const v = `capacity ${e.capacity}, allocatable ${e.allocatable}, allocated ${e.allocated}`;
    if (seen.get(key) !== v) {
      seen.set(key, v);
      out(dim(`      node ${e.node} ${e.resource}: ${v}`));
    }
  } else if (e.kind === 'scheduler') {
    if (e.result === 'bound') out(dim(`      scheduler: ${e.pod} → ${e.nodeName}`));
    else out(yellow(`      scheduler: ${e.pod} stays Pending: ${e.message}`));
  } else if (e.kind === 'pod' && e.from && e.from !== e.to) {
    out(dim(`      pod ${e.pod}: ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`));
  } else if (e.kind === 'cni' && e.plugin !== 'bridge') {
    out(dim(`      CNI ${e.command} ${e.plugin} for ${e.pod ?? '?'} (${e.env.CNI_IFNAME ?? ''}): exit ${e.exitCode} in ${e.durationMs} ms`));
  }
}

/** The sim backend, with what happens inside it narrated on the terminal. */
function narratingBackend(inner: Backend & BackendRunInfo, out: (s: string) => void): Backend & BackendRunInfo {
  return {
    ...inner,
    async up(opts: BackendUpOptions): Promise<ClusterHandle> {
      const seen = new Map<string, string>();
      const h = await inner.up({
        ...opts,
        trace: (e) => {
          opts.trace(e);
          narrate(e, out, seen);
        },
      });
      const exec: ClusterHandle['exec'] = async (target, argv, o) => {
        const r = await h.exec(target, argv, o);
        const where = 'pod' in target ? `pod ${target.pod}` : `node ${target.node}`;
        const shown = argv[3] === 'sysfs-write' ? `echo ${argv[4]} > ${argv[5]}` : (argv[0] === 'sh' || argv[0] === 'bash') && argv[1] === '-c' ? argv[2] : argv.join(' ');
        out(`      ${bold(`$ ${shown}`)} ${dim(`(in ${where})`)}`);
        if (r.stdout.trim()) out(indent(r.stdout, '        '));
        if (r.stderr.trim()) out(indent(r.stderr, '        '));
        return r;
      };
      return Object.assign(Object.create(h) as ClusterHandle, { exec, nodes: h.nodes, backend: h.backend });
    },
  };
}

function narrator(out: (s: string) => void): Reporter {
  return {
    name: 'demo narrator',
    onScenarioBegin(s) {
      out(`\n${bold(`━━ ${s.name}`)} ${dim(`(${s.file})`)}`);
    },
    onStepBegin(_s, step) {
      out(`\n  ${bold(`▸ ${step.name}`)}`);
    },
    onStepEnd(_s, step) {
      for (const op of step.operations) {
        const mark = op.status === 'passed' ? green('✓') : op.status === 'failed' ? red('✗') : dim('-');
        out(`    ${mark} ${op.title} ${dim(`${op.durationMs} ms`)}`);
        if (op.error) out(red(indent(`${op.error.message}${op.error.diff ? `\n${op.error.diff}` : ''}`, '      ')));
      }
    },
    onScenarioEnd(s) {
      out(`  ${s.status === 'passed' ? green('passed') : s.status === 'skipped' ? yellow(`skipped: ${s.skipReason}`) : red('failed')} ${dim(`in ${(s.durationMs / 1000).toFixed(1)} s`)}`);
    },
  };
}

export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    seed: { type: 'string' },
    html: { type: 'string' },
    json: { type: 'string' },
  });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const root = projectRoot();
  const seed = values.seed !== undefined ? (parseSeed(values.seed) ?? 1) : randomSeed();
  const html = resolve(values.html ?? join(root, 'out', 'demo-report.html'));
  const json = resolve(values.json ?? join(root, 'out', 'demo-report.json'));
  mkdirSync(join(html, '..'), { recursive: true });
  mkdirSync(join(json, '..'), { recursive: true });

  out(bold('sriov-lab demo: the SR-IOV tutorial on a simulated node'));
  out(
    dim(
      'A device plugin tells the scheduler which nodes have devices; a pod that asks for one and names a\n' +
        'NetworkAttachmentDefinition gets it as net1 beside eth0; a second pod stays Pending when they run out.\n' +
        'First with an emulated virtio NIC (kernel.org/virt), then with SR-IOV VFs in kernel and DPDK mode.',
    ),
  );
  const setupCode = await ensureSystemPackages('sim', 'sriov-lab demo (the sim backend)');
  if (setupCode !== 0) return setupCode;
  const available = await simBackend.available();
  if (!available.ok) {
    out(red(`\nThe simulator cannot run here: ${available.reason}`));
    out('Run as root on Linux with /dev/fuse (`sriov-lab doctor` tells more; `sriov-lab setup` installs the Debian packages).');
    return 1;
  }
  const scenarios = TUTORIAL_SCENARIOS.map((f) => {
    const s = loadScenario(join(root, f));
    return { ...s, file: relative(process.cwd(), s.file) || s.file };
  });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    const run = await runScenarios(scenarios, {
      backend: narratingBackend(simBackend, out),
      seed,
      reporter: multiplex([narrator(out), htmlReporter({ outputFile: html }), jsonReporter({ outputFile: json })], {
        onReporterError: (e) => process.stderr.write(`sriov-lab: ${e.message}\n`),
      }),
      signal: controller.signal,
      command: ['sriov-lab', 'demo', ...args].join(' '),
      paths: TUTORIAL_SCENARIOS,
      toolVersion: '',
      progress: (l) => out(dim(`  … ${l}`)),
    });
    const totals = runTotals(run);
    out(`\n${totals.status === 'passed' ? green('The tutorial passed.') : red('The tutorial failed.')} ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped (seed ${seed})`);
    out(`HTML report: ${html}`);
    out(`JSON results: ${json}`);
    return totals.status === 'passed' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
