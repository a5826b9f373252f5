// Start-up and teardown phases (a node's namespaces, its sysfs mount, the kubelet emulator, …) published on a
// diagnostics channel, for bench/scenario-phases.ts to print where a scenario's time goes. Nothing is recorded and
// nothing is allocated while nobody subscribes: a phase costs one hasSubscribers check.
import { channel } from 'node:diagnostics_channel';

export interface PhaseEvent {
  /** what ran, e.g. "node: netns add" */
  name: string;
  /** the node it belongs to */
  node?: string;
  /** wall-clock ms (performance.timeOrigin + performance.now()) */
  startMs: number;
  endMs: number;
}

const phases = channel('sriov-lab:phase');

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Starts a phase; the returned function ends it. */
export function phaseStart(name: string, node?: string): () => void {
  if (!phases.hasSubscribers) return () => undefined;
  const startMs = nowMs();
  return () => {
    const e: PhaseEvent = { name, ...(node !== undefined ? { node } : {}), startMs, endMs: nowMs() };
    phases.publish(e);
  };
}

/** Runs `fn` as a phase (ended when its promise settles, fulfilled or not). */
export async function timed<T>(name: string, node: string | undefined, fn: () => Promise<T>): Promise<T> {
  const end = phaseStart(name, node);
  try {
    return await fn();
  } finally {
    end();
  }
}

/** A phase measured elsewhere (another process's own figures), ending now. */
export function phaseDone(name: string, node: string | undefined, durationMs: number): void {
  if (!phases.hasSubscribers) return;
  const endMs = nowMs();
  const e: PhaseEvent = { name, ...(node !== undefined ? { node } : {}), startMs: endMs - durationMs, endMs };
  phases.publish(e);
}

/** Every phase from now on goes to `cb`, until the returned function is called. */
export function onPhase(cb: (e: PhaseEvent) => void): () => void {
  const listener = (m: unknown) => cb(m as PhaseEvent);
  phases.subscribe(listener);
  return () => phases.unsubscribe(listener);
}
