// What kubectl prints for an error, whoever raised it: the API server's Status (KubeApiError), the store or the
// apiserver's validation in process (the daemon's control socket), a manifest's file:line:column issues, or `error: …`.
import { InvalidObjectError } from '../../sim/apiserver/validation.ts';
import { ManifestError } from '../../sim/cluster/manifest.ts';
import { StoreError } from '../../sim/cluster/store.ts';
import { KubeApiError } from './kube-api.ts';

/** kubectl's words for an error (cmdutil.StandardErrorMessage), one or more lines without the final newline. */
export function kubectlError(e: unknown): string {
  if (e instanceof KubeApiError) {
    if (e.status.reason === 'Invalid' && e.status.details?.kind) return `The ${e.message}`;
    return e.status.reason ? `Error from server (${e.status.reason}): ${e.message}` : `Error from server: ${e.message}`;
  }
  if (e instanceof StoreError) return `Error from server (${e.reason}): ${e.message}`;
  if (e instanceof InvalidObjectError) return `The ${e.message}`;
  if (e instanceof ManifestError) return e.message;
  return `error: ${(e as Error)?.message ?? String(e)}`;
}
