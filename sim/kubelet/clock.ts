// Clocks for the kubelet emulator. The 5-minute grace period and the pod-resources rate limit run on a Clock, so a
// scenario can advance virtual time instantly with ManualClock.advance().
import type { Clock, TimerHandle } from './types.ts';

export type { Clock, TimerHandle } from './types.ts';

let nextTimerId = 1;

/** Wall-clock time and Node timers. */
export class RealClock implements Clock {
  readonly #timers = new Map<number, NodeJS.Timeout>();
  now(): number {
    return Date.now();
  }
  setTimeout(cb: () => void, delayMs: number): TimerHandle {
    const id = nextTimerId++;
    const t = setTimeout(() => {
      this.#timers.delete(id);
      cb();
    }, Math.max(0, delayMs));
    // a pending grace-period timer must not keep a finished test or CLI alive
    t.unref();
    this.#timers.set(id, t);
    return { id };
  }
  clearTimeout(handle: TimerHandle): void {
    const t = this.#timers.get(handle.id);
    if (t) clearTimeout(t);
    this.#timers.delete(handle.id);
  }
}

interface ManualTimer {
  id: number;
  dueMs: number;
  cb: () => void;
}

/** Virtual time: nothing happens until advance() is called. Timers due at the same time fire in creation order. */
export class ManualClock implements Clock {
  #nowMs: number;
  #timers: ManualTimer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#nowMs = startMs;
  }
  now(): number {
    return this.#nowMs;
  }
  setTimeout(cb: () => void, delayMs: number): TimerHandle {
    const id = nextTimerId++;
    this.#timers.push({ id, dueMs: this.#nowMs + Math.max(0, delayMs), cb });
    return { id };
  }
  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle.id);
  }
  /** number of timers not yet fired */
  pending(): number {
    return this.#timers.length;
  }
  /** Move time forward by `ms`, firing every timer that falls due, in due order. */
  advance(ms: number): void {
    const target = this.#nowMs + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers) if (t.dueMs <= target && (!next || t.dueMs < next.dueMs)) next = t;
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#nowMs = Math.max(this.#nowMs, next.dueMs);
      next.cb();
    }
    this.#nowMs = target;
  }
}

/**
 * Wall-clock time that a scenario can push forward: timers run on real time, and advance(ms) moves "now" ahead and
 * fires what falls due at once. For live clusters, where rate limits must refill but a 5-minute grace period should
 * not take 5 minutes.
 */
export class SkewClock implements Clock {
  #offsetMs = 0;
  #timers = new Map<number, { dueMs: number; cb: () => void; real: NodeJS.Timeout }>();
  now(): number {
    return Date.now() + this.#offsetMs;
  }
  setTimeout(cb: () => void, delayMs: number): TimerHandle {
    const id = nextTimerId++;
    const fire = () => {
      if (!this.#timers.delete(id)) return;
      cb();
    };
    const real = setTimeout(fire, Math.max(0, delayMs));
    real.unref();
    this.#timers.set(id, { dueMs: this.now() + Math.max(0, delayMs), cb: fire, real });
    return { id };
  }
  clearTimeout(handle: TimerHandle): void {
    const t = this.#timers.get(handle.id);
    if (t) clearTimeout(t.real);
    this.#timers.delete(handle.id);
  }
  advance(ms: number): void {
    this.#offsetMs += ms;
    const due = [...this.#timers.values()].filter((t) => t.dueMs <= this.now()).sort((a, b) => a.dueMs - b.dueMs);
    for (const t of due) {
      clearTimeout(t.real);
      t.cb();
    }
  }
}
