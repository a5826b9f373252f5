import t from 'tap';
import type { TraceEvent } from '../types.ts';
import { integerTicks, niceTicks, resourceCharts, stepPoints, timelineEndMs } from './chart.ts';

t.test('ticks', async (t) => {
  t.same(niceTicks(1000, 5), [0, 200, 400, 600, 800, 1000]);
  t.same(niceTicks(0), [0]);
  t.same(integerTicks(4), [0, 1, 2, 3, 4]);
  t.same(integerTicks(1), [0, 1]);
});

t.test('resource charts: one per node and resource, step lines to the end', async (t) => {
  const trace: TraceEvent[] = [
    { kind: 'resource', atMs: 0, node: 'a', resource: 'r', capacity: 4, allocatable: 4, allocated: 0 },
    { kind: 'log', atMs: 1, source: 'x', level: 'info', message: 'm' },
    { kind: 'resource', atMs: 50, node: 'b', resource: 'r', capacity: 2, allocatable: 2, allocated: 0 },
    { kind: 'resource', atMs: 40, node: 'a', resource: 'r', capacity: 4, allocatable: 2, allocated: 1 },
  ];
  const charts = resourceCharts(trace, 100);
  t.same(charts.map((c) => [c.node, c.resource, c.samples.length, c.maxY, c.endMs]), [['a', 'r', 2, 4, 100], ['b', 'r', 1, 2, 100]]);
  const box = { width: 110, height: 50, left: 10, right: 0, top: 0, bottom: 10 };
  // x = 10 + ms, y = 40 - v * 10
  t.equal(stepPoints(charts[0], 'allocatable', box), '10.0,0.0 50.0,0.0 50.0,20.0 110.0,20.0');
  t.equal(stepPoints(charts[0], 'allocated', box), '10.0,40.0 50.0,40.0 50.0,30.0 110.0,30.0');
  t.equal(timelineEndMs([{ kind: 'cni', atMs: 90, command: 'ADD', plugin: 'p', env: {}, stdin: '', stdout: '', exitCode: 0, durationMs: 30 }], 100), 120);
});
