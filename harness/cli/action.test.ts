// The GitHub Action (action.yml) run here, outside GitHub: each `run:` step of the composite action, with the
// inputs substituted as GitHub substitutes `${{ inputs.… }}`, run by `bash --noprofile --norc -eo pipefail` (what
// `shell: bash` means on GitHub) in the environment GitHub gives a step (GITHUB_ACTIONS, GITHUB_ACTION_PATH,
// GITHUB_WORKSPACE as the working directory, a fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY per step), against a
// small passing scenario on the simulator. Only the `uses:` steps (actions/setup-node) are GitHub's plumbing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../sim/paths.ts';
import { parseOutputFile } from '../../reports/fixtures/github-output.ts';
import { parseXml } from '../../reports/fixtures/xml-check.ts';

const root = projectRoot();
const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string; required?: boolean }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Array<{ name?: string; id?: string; uses?: string; run?: string; shell?: string; env?: Record<string, string>; with?: Record<string, string> }> };
};

/** `${{ inputs.NAME }}` replaced by the input's value (GitHub substitutes the text before the shell sees it) */
function substitute(text: string, inputs: Record<string, string>): string {
  return text.replace(/\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}/g, (_m, name: string) => {
    if (!(name in inputs)) throw new Error(`the action uses inputs.${name}, which it does not declare`);
    return inputs[name];
  });
}

const INPUTS = ['scenarios', 'backend', 'device-plugin', 'cni', 'topology', 'filter', 'seed', 'report-dir', 'node-version'];
const OUTPUTS = ['passed', 'failed', 'skipped', 'report-html', 'junit', 'json', 'reproduce'];

t.test('action.yml: a composite action with the inputs and outputs of a pull-request gate', async (t) => {
  t.equal(action.runs.using, 'composite');
  t.same(Object.keys(action.inputs), INPUTS);
  t.same(Object.keys(action.outputs), OUTPUTS);
  for (const o of OUTPUTS) t.equal(action.outputs[o].value, `\${{ steps.run.outputs.${o} }}`, `output ${o} comes from the run step`);
  for (const s of action.runs.steps.filter((x) => x.run)) {
    t.equal(s.shell, 'bash', `${s.name}: shell bash`);
    t.notMatch(s.run, /\$\{\{/, `${s.name}: no expression inside the script (inputs reach it through env)`);
    t.match(s.run, /bin\/sriov-lab\.js/, `${s.name}: through the project's entry point`);
  }
  t.ok(action.runs.steps.some((s) => s.id === 'run'), 'a step with id run');
  const node = action.runs.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
  t.equal(node?.with?.['node-version'], '${{ inputs.node-version }}');
  t.ok(Number(process.versions.node.split('.')[0]) >= Number(action.inputs['node-version'].default), 'this Node satisfies the default node-version');
});

interface StepRun {
  name: string;
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

type Step = (typeof action.runs.steps)[number];

/** every `run:` step in order, as GitHub's runner would run it; stops at the first that fails */
function runAction(workspace: string, given: Record<string, string>, steps: Step[] = action.runs.steps): StepRun[] {
  const inputs = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, given[k] ?? String(v.default ?? '')]));
  const results: StepRun[] = [];
  for (const [i, step] of steps.entries()) {
    if (!step.run) continue;
    const files = { out: join(workspace, `.runner/output-${i}`), summary: join(workspace, `.runner/summary-${i}`), script: join(workspace, `.runner/step-${i}.sh`) };
    writeFileSync(files.out, '');
    writeFileSync(files.summary, '');
    writeFileSync(files.script, substitute(step.run, inputs));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTION_PATH: root,
      GITHUB_WORKSPACE: workspace,
      GITHUB_OUTPUT: files.out,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_ENV: join(workspace, '.runner/env'),
      GITHUB_PATH: join(workspace, '.runner/path'),
      RUNNER_TEMP: join(workspace, '.runner'),
      RUNNER_OS: 'Linux',
      // belt and braces: this test never installs system packages (it skips when some are missing)
      SRIOV_LAB_NO_INSTALL: '1',
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(String(v), inputs)])),
    };
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', files.script], { cwd: workspace, env, encoding: 'utf8', timeout: 240_000 });
    results.push({ name: step.name ?? `step ${i}`, code: r.status, stdout: r.stdout, stderr: r.stderr, outputs: parseOutputFile(readFileSync(files.out, 'utf8')), summary: readFileSync(files.summary, 'utf8') });
    if (r.status !== 0) break;
  }
  return results;
}

// a small scenario that passes on the simulator: one node, an I350 PF with two VFs, the bundled plugins advertise them
const SCENARIO = `apiVersion: sriov-lab.dev/v1alpha1
kind: Scenario
metadata:
  name: two-vfs-advertised
spec:
  nodes:
    - name: node1
      nics: [{ model: intel-i350, pciAddr: "0000:01:00.0", ifname: ens1f0, numVfs: 2 }]
  timeouts: { assertMs: 15000 }
  steps:
    - name: the device plugin advertises both VFs
      try:
        - assert: { resource: { kind: Node, metadata: { name: node1 }, status: { allocatable: { intel.com/sriov_netdevice: "2" } } } }
`;

const { simBackend } = await import('../backends/sim.ts');
const { plan, systemProbe } = await import('../setup/setup.ts');
const available = await simBackend.available();
const missing = plan('sim', systemProbe()).missing.map((p) => p.name);
const built = existsSync(join(root, 'node_modules')) && existsSync(join(root, 'dist', 'sriov-lab.mjs'));
const skip = !available.ok ? `the sim backend cannot run here: ${available.reason}` : missing.length ? `setup would install ${missing.join(', ')}` : !built ? 'node_modules or dist/ is missing: the install step would run npm ci' : false;

t.test('the action\'s steps, run here: a passing scenario on the simulator', { skip }, async (t) => {
  const workspace = t.testdir({ 'my-scenarios': { nested: { 'vfs.yaml': SCENARIO } }, '.runner': {} });
  const steps = runAction(workspace, { scenarios: 'my-scenarios/**/*.yaml', seed: '42', 'report-dir': 'out/reports', filter: 'two-*\n' });
  t.same(steps.map((s) => [s.name, s.code]), [
    ['Install sriov-lab', 0],
    ['System packages (sriov-lab setup)', 0],
    ['Run the scenarios (sriov-lab run)', 0],
  ], steps.map((s) => `${s.name}: ${s.stdout.slice(-1500)}${s.stderr.slice(-1500)}`).join('\n'));
  const [install, setup, run] = steps;
  t.match(install.stdout, 'sriov-lab: dependencies already installed\nsriov-lab: already built\n');
  t.match(setup.stdout, 'sriov-lab setup --for sim: nothing to install');

  t.same(run.outputs, {
    passed: '1',
    failed: '0',
    skipped: '0',
    'report-html': 'out/reports/report.html',
    junit: 'out/reports/junit.xml',
    json: 'out/reports/run.json',
    reproduce: "sriov-lab run my-scenarios/nested/vfs.yaml --seed 42 --backend sim --filter 'two-*'",
  });
  for (const f of ['report.html', 'junit.xml', 'run.json']) t.ok(existsSync(join(workspace, 'out/reports', f)), `${f} written in the workspace`);
  t.match(parseXml(readFileSync(join(workspace, 'out/reports/junit.xml'), 'utf8')).attrs, { tests: '1', failures: '0', errors: '0', skipped: '0' });
  t.match(run.summary, /^## ✅ sriov-lab scenarios/);
  t.match(run.summary, '| 1 | 1 | 0 | 0 |');
  t.match(run.stdout, /^::group::two-vfs-advertised \(my-scenarios\/nested\/vfs\.yaml\)$/m);
  t.notMatch(run.stdout, /^::error/m);
});

t.test('the run step: a scenarios glob that matches nothing stops with an annotation', { skip }, async (t) => {
  const workspace = t.testdir({ '.runner': {} });
  const [r] = runAction(workspace, { scenarios: 'nothing/**/*.yaml' }, action.runs.steps.filter((s) => s.id === 'run'));
  t.equal(r.code, 2);
  t.match(r.stdout, '::error title=sriov-lab::scenarios: nothing/**/*.yaml matches no file');
});
