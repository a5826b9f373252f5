import t from 'tap';
import { sampleRun } from './fixtures/sample-run.ts';
import { HOOK_ORDER, multiplex, replay, type Reporter, type ReporterError } from './reporter.ts';

function recorder(name: string, log: string[]): Reporter {
  const r: Reporter = { name };
  for (const hook of HOOK_ORDER) {
    (r as unknown as Record<string, (...a: unknown[]) => void>)[hook] = (...args: unknown[]) => {
      const a = args[0] as { name?: string; id?: string };
      const step = hook.startsWith('onStep') ? ` ${(args[1] as { name: string }).name}` : '';
      log.push(`${name}:${hook}${hook.startsWith('onScenario') || step ? ` ${a.name}` : ''}${step}`);
    };
  }
  return r;
}

t.test('replay calls hooks in the documented order', async (t) => {
  const log: string[] = [];
  await replay(sampleRun(), recorder('r', log));
  t.equal(log[0], 'r:onRunBegin');
  t.equal(log.at(-1), 'r:onRunEnd');
  t.same(log.slice(1, 7), [
    'r:onScenarioBegin pod gets a VF',
    'r:onStepBegin pod gets a VF create VFs',
    'r:onStepEnd pod gets a VF create VFs',
    'r:onStepBegin pod gets a VF schedule a pod',
    'r:onStepEnd pod gets a VF schedule a pod',
    'r:onScenarioEnd pod gets a VF',
  ]);
  t.same(log.slice(-3, -1), ['r:onScenarioBegin VF rebinds to vfio-pci', 'r:onScenarioEnd VF rebinds to vfio-pci'], 'a skipped scenario gets no step hooks');
});

t.test('the multiplexer isolates a throwing, a rejecting and a hanging reporter', async (t) => {
  const log: string[] = [];
  const seen: ReporterError[] = [];
  const throwing: Reporter = { name: 'throws', onRunBegin() { throw new Error('disk full'); }, onRunEnd() { log.push('throws:onRunEnd'); } };
  const rejecting: Reporter = { name: 'rejects', async onScenarioEnd(s) { if (s.status === 'failed') throw new Error(`cannot render ${s.name}`); } };
  const hanging: Reporter = { name: 'hangs', onStepEnd: () => new Promise<void>(() => undefined) };
  const mux = multiplex([throwing, rejecting, hanging, recorder('ok', log)], { hookTimeoutMs: 20, onReporterError: (e) => seen.push(e) });
  await replay(sampleRun(), mux);
  const okHooks = log.filter((l) => l.startsWith('ok:'));
  t.equal(okHooks.length, 1 + 4 * 2 + 6 * 2 + 1, 'the healthy reporter got every hook (4 scenarios, 6 steps)');
  t.ok(log.includes('throws:onRunEnd'), 'a reporter that failed once still gets later hooks');
  t.same(mux.errors, seen);
  t.same(
    mux.errors.map((e) => [e.reporter, e.hook]),
    [['throws', 'onRunBegin'], ...Array.from({ length: 6 }, () => ['hangs', 'onStepEnd']), ['rejects', 'onScenarioEnd']],
  );
  t.match(mux.errors[0].message, 'reporter "throws" onRunBegin threw: disk full');
  t.match(mux.errors.find((e) => e.reporter === 'hangs')!.message, 'did not finish within 20ms');
  t.match(mux.errors.find((e) => e.reporter === 'rejects')!.message, 'cannot render device plugin restart keeps allocatable');
});
