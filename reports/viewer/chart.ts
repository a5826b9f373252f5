// Geometry for the timeline and the resource charts, kept apart from the DOM so it is tested in Node.
import type { ResourceSample, TraceEvent, TraceKind } from '../types.ts';

/** lanes of the timeline, top to bottom; resource samples go to the charts instead */
export const TIMELINE_KINDS: readonly TraceKind[] = ['grpc', 'sysfs', 'cni', 'scheduler', 'pod', 'fault', 'log'];

export function isTimelineEvent(e: TraceEvent): boolean {
  return (TIMELINE_KINDS as readonly string[]).includes(e.kind);
}

/** round tick values covering [0, max]: steps of 1, 2 or 5 × 10^k */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** like niceTicks, but only whole numbers (device counts) */
export function integerTicks(max: number, target = 4): number[] {
  const ticks = niceTicks(Math.max(1, max), target).filter((v) => Number.isInteger(v));
  return ticks.length > 0 ? ticks : [0, Math.max(1, Math.ceil(max))];
}

export type SeriesName = 'capacity' | 'allocatable' | 'allocated';
export const SERIES: readonly SeriesName[] = ['capacity', 'allocatable', 'allocated'];

export interface ResourceChartData {
  node: string;
  resource: string;
  samples: ResourceSample[];
  /** largest value of any series (>= 1, so an all-zero chart still has an axis) */
  maxY: number;
  endMs: number;
}

/** one chart per (node, resource), in the order first seen, samples in time order */
export function resourceCharts(trace: readonly TraceEvent[], scenarioEndMs: number): ResourceChartData[] {
  const byKey = new Map<string, ResourceChartData>();
  let lastMs = scenarioEndMs;
  for (const e of trace) {
    if (e.kind !== 'resource') continue;
    const key = `${e.node}\u0000${e.resource}`;
    let c = byKey.get(key);
    if (!c) {
      c = { node: e.node, resource: e.resource, samples: [], maxY: 1, endMs: 0 };
      byKey.set(key, c);
    }
    c.samples.push(e);
    c.maxY = Math.max(c.maxY, e.capacity, e.allocatable, e.allocated);
    lastMs = Math.max(lastMs, e.atMs);
  }
  const charts = [...byKey.values()];
  for (const c of charts) {
    c.samples.sort((a, b) => a.atMs - b.atMs);
    c.endMs = Math.max(lastMs, 1);
  }
  return charts;
}

export interface Box {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/**
 * Points of a step line for one series: the value holds until the next sample, and the last value holds to the end
 * of the scenario. Returns "x,y x,y …" for an SVG polyline.
 */
export function stepPoints(c: ResourceChartData, series: SeriesName, box: Box): string {
  const w = box.width - box.left - box.right;
  const hgt = box.height - box.top - box.bottom;
  const x = (ms: number): number => box.left + (ms / c.endMs) * w;
  const y = (v: number): number => box.top + hgt - (v / c.maxY) * hgt;
  const pts: string[] = [];
  let prev: number | undefined;
  for (const smp of c.samples) {
    const v = smp[series];
    const px = x(smp.atMs).toFixed(1);
    if (prev !== undefined) pts.push(`${px},${y(prev).toFixed(1)}`);
    pts.push(`${px},${y(v).toFixed(1)}`);
    prev = v;
  }
  if (prev !== undefined) pts.push(`${x(c.endMs).toFixed(1)},${y(prev).toFixed(1)}`);
  return pts.join(' ');
}

/** the time span a timeline must cover */
export function timelineEndMs(trace: readonly TraceEvent[], scenarioDurationMs: number): number {
  let end = scenarioDurationMs;
  for (const e of trace) {
    const d = 'durationMs' in e && typeof e.durationMs === 'number' ? e.durationMs : 0;
    end = Math.max(end, e.atMs + d);
  }
  return Math.max(end, 1);
}
