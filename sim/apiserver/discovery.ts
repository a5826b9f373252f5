// Discovery: /version, the legacy documents (/api, /apis, APIResourceList per group-version) and the aggregated one
// (apidiscovery.k8s.io/v2 APIGroupDiscoveryList, what kubectl asks for first). kubectl resolves `pods`, `po`,
// `network-attachment-definitions.k8s.cni.cncf.io` and `net-attach-def` from these.
import { groupVersion, groupVersions, RESOURCES, VERBS, type ResourceInfo } from './resources.ts';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T00:00:00Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const SUB_VERBS: Record<string, string[]> = { status: ['get', 'patch', 'update'], exec: ['create', 'get'], log: ['get'] };
/** the kind a subresource answers with */
const SUB_KINDS: Record<string, string> = { exec: 'PodExecOptions', log: 'Pod' };

function verbsOf(r: ResourceInfo): string[] {
  // namespaces are deleted one by one (their contents go with them)
  return r.kind === 'Namespace' ? VERBS.filter((v) => v !== 'deletecollection') : VERBS;
}

export function apiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string, rs: readonly ResourceInfo[]): unknown {
  const versions = groupVersions(rs)
    .filter((g) => g.group === group)
    .map((g) => ({ groupVersion: groupVersion(g), version: g.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(all: readonly ResourceInfo[] = RESOURCES): unknown {
  const groups = [...new Set(groupVersions(all).map((g) => g.group))].filter(Boolean);
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => apiGroup(g, all)) };
}

export function apiGroupDocument(group: string, all: readonly ResourceInfo[] = RESOURCES): unknown | undefined {
  if (!groupVersions(all).some((g) => g.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(group, all) as object) };
}

export function apiResourceList(group: string, version: string, all: readonly ResourceInfo[] = RESOURCES): unknown | undefined {
  const rs = all.filter((r) => r.group === group && r.version === version);
  if (!rs.length) return undefined;
  const resources: unknown[] = [];
  for (const r of rs) {
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsOf(r),
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
    });
    for (const s of r.subresources) resources.push({ name: `${r.resource}/${s}`, singularName: '', namespaced: r.namespaced, kind: SUB_KINDS[s] ?? r.kind, verbs: SUB_VERBS[s] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** The aggregated discovery document of /api (`legacy`) or /apis. */
export function aggregatedDiscovery(legacy: boolean, all: readonly ResourceInfo[] = RESOURCES): unknown {
  const groups = [...new Set(groupVersions(all).map((g) => g.group))].filter((g) => (legacy ? g === '' : g !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: { name: group },
      versions: groupVersions(all)
        .filter((g) => g.group === group)
        .map((gv) => ({
          version: gv.version,
          freshness: 'Current',
          resources: all.filter((r) => r.group === group && r.version === gv.version).map((r) => ({
            resource: r.resource,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: verbsOf(r),
            ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories ? { categories: r.categories } : {}),
            ...(r.subresources.length
              ? { subresources: r.subresources.map((s) => ({ subresource: s, responseKind: { group: r.group, version: r.version, kind: SUB_KINDS[s] ?? r.kind }, verbs: SUB_VERBS[s] })) }
              : {}),
          })),
        })),
    })),
  };
}
