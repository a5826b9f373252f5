// Backends by name. A backend module registers itself (registerBackend(simBackend)); `sriov-lab run --backend NAME`
// looks it up. Tests make their own registry so they never see another test's backends.
import type { Backend } from '../backend.ts';

export class UnknownBackendError extends Error {
  readonly backend: string;
  readonly known: string[];
  constructor(backend: string, known: string[]) {
    super(`unknown backend "${backend}"; known backends: ${known.length ? known.join(', ') : '(none registered)'}`);
    this.name = 'UnknownBackendError';
    this.backend = backend;
    this.known = known;
  }
}

export interface BackendRegistry {
  register(backend: Backend, opts?: { replace?: boolean }): void;
  get(name: string): Backend;
  names(): string[];
}

export function createBackendRegistry(): BackendRegistry {
  const byName = new Map<string, Backend>();
  return {
    register(backend, opts = {}) {
      if (byName.has(backend.name) && !opts.replace) throw new Error(`backend "${backend.name}" is already registered`);
      byName.set(backend.name, backend);
    },
    get(name) {
      const b = byName.get(name);
      if (!b) throw new UnknownBackendError(name, [...byName.keys()].sort());
      return b;
    },
    names: () => [...byName.keys()].sort(),
  };
}

/** the process-wide registry `sriov-lab run` uses */
export const backends: BackendRegistry = createBackendRegistry();

export function registerBackend(backend: Backend, opts?: { replace?: boolean }): void {
  backends.register(backend, opts);
}

export function getBackend(name: string): Backend {
  return backends.get(name);
}
