// The backends `sriov-lab run --backend NAME` knows.
import { backends } from '../runner/registry.ts';
import { clusterBackendDefault } from './cluster/index.ts';
import { hostBackend } from './host.ts';
import { kindBackendDefault } from './kind/index.ts';
import { qemuBackend } from './qemu.ts';
import { simBackend } from './sim.ts';

let done = false;
export function registerBuiltinBackends(): void {
  if (done) return;
  done = true;
  backends.register(simBackend);
  backends.register(qemuBackend);
  backends.register(hostBackend);
  backends.register(clusterBackendDefault);
  backends.register(kindBackendDefault);
}
