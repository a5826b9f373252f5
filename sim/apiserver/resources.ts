// What the API server serves: one entry per resource, the facts discovery, OpenAPI, routing and the decoder need.
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { Kind, ObjectStore } from '../cluster/store.ts';

export interface ResourceInfo {
  group: string;
  version: string;
  /** plural, as in URLs */
  resource: string;
  singular: string;
  kind: Kind;
  namespaced: boolean;
  shortNames: string[];
  categories?: string[];
  /** the client-node model of a built-in kind; custom resources take their schema from their CRD */
  model?: string;
  /** subresources served besides the object itself */
  subresources: Array<'status' | 'exec' | 'log'>;
  /** a built-in kind takes strategic-merge patches; a custom resource does not */
  builtin: boolean;
  /**
   * the store's kind of its objects: the kind itself for the resources of this table; `<Kind>.<group>` for those of
   * CRDs created through the API (customStoreKind), so two groups' kinds of one name do not meet
   */
  storeKind: Kind;
  /** a CRD's additionalPrinterColumns, for its Table */
  printerColumns?: PrinterColumn[];
}

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority: number;
  jsonPath: string;
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const TABLE: ReadonlyArray<Omit<ResourceInfo, 'storeKind'>> = [
  { group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], model: 'V1Pod', subresources: ['status', 'exec', 'log'], builtin: true },
  { group: '', version: 'v1', resource: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], model: 'V1Node', subresources: ['status'], builtin: true },
  { group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], model: 'V1Namespace', subresources: ['status'], builtin: true },
  { group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], model: 'CoreV1Event', subresources: [], builtin: true },
  { group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], model: 'V1ConfigMap', subresources: [], builtin: true },
  { group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, shortNames: [], model: 'V1Secret', subresources: [], builtin: true },
  { group: '', version: 'v1', resource: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'], model: 'V1ServiceAccount', subresources: [], builtin: true },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    resource: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    model: 'V1CustomResourceDefinition',
    subresources: ['status'],
    builtin: true,
  },
  { group: 'apps', version: 'v1', resource: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet', namespaced: true, shortNames: ['ds'], categories: ['all'], model: 'V1DaemonSet', subresources: ['status'], builtin: true },
  {
    group: 'k8s.cni.cncf.io',
    version: 'v1',
    resource: 'network-attachment-definitions',
    singular: 'network-attachment-definition',
    kind: 'NetworkAttachmentDefinition',
    namespaced: true,
    shortNames: ['net-attach-def'],
    subresources: [],
    builtin: false,
  },
];

export const RESOURCES: readonly ResourceInfo[] = TABLE.map((r) => ({ ...r, storeKind: r.kind }));

export function groupVersion(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The groups in discovery order (core first). */
export function groupVersions(rs: readonly ResourceInfo[] = RESOURCES): Array<{ group: string; version: string }> {
  const out: Array<{ group: string; version: string }> = [];
  for (const r of rs) if (!out.some((g) => g.group === r.group && g.version === r.version)) out.push({ group: r.group, version: r.version });
  return out;
}

export function findResource(group: string, version: string, resource: string, rs: readonly ResourceInfo[] = RESOURCES): ResourceInfo | undefined {
  return rs.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function resourceOfKind(kind: Kind): ResourceInfo {
  return RESOURCES.find((r) => r.kind === kind)!;
}

/** The store's kind of a CRD's objects. */
export function customStoreKind(group: string, kind: string): Kind {
  // the store keys objects by any string; Kind names the built-in ones, and a custom kind is one more key
  return `${kind}.${group}` as Kind;
}

/** The resources a CRD serves: one per served version (none for a kind this table serves itself, like the NAD's). */
export function customResourcesOf(crd: V1CustomResourceDefinition): ResourceInfo[] {
  const { group, names, scope } = crd.spec;
  if (RESOURCES.some((r) => r.group === group && r.resource === names.plural)) return [];
  return crd.spec.versions
    .filter((v) => v.served)
    .map((v) => ({
      group,
      version: v.name,
      resource: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      kind: names.kind as Kind,
      namespaced: scope === 'Namespaced',
      shortNames: names.shortNames ?? [],
      ...(names.categories?.length ? { categories: names.categories } : {}),
      subresources: v.subresources?.status ? ['status' as const] : [],
      builtin: false,
      storeKind: customStoreKind(group, names.kind),
      ...(v.additionalPrinterColumns?.length
        ? { printerColumns: v.additionalPrinterColumns.map((c) => ({ name: c.name, type: c.type, format: c.format, description: c.description, priority: c.priority ?? 0, jsonPath: c.jsonPath })) }
        : {}),
    }));
}

/**
 * What an API server serves now: this table, then the resources of the CRDs in its store (remade when a CRD
 * changes). Each custom kind is made known to the store (its scope and resource name) before it is served.
 */
export class ResourceTable {
  private key = '';
  private current: readonly ResourceInfo[] = RESOURCES;
  constructor(private readonly store: ObjectStore) {}

  all(): readonly ResourceInfo[] {
    const crds = this.store.list('CustomResourceDefinition');
    const key = crds.map((c) => `${c.metadata?.name}@${c.metadata?.resourceVersion}`).join(',');
    if (key !== this.key) {
      const custom = crds.filter((c) => !c.metadata?.deletionTimestamp).flatMap(customResourcesOf);
      for (const r of custom) this.store.defineKind(r.storeKind, { resource: qualifiedResource(r), clusterScoped: !r.namespaced });
      this.current = [...RESOURCES, ...custom];
      this.key = key;
    }
    return this.current;
  }

  find(group: string, version: string, resource: string): ResourceInfo | undefined {
    return findResource(group, version, resource, this.all());
  }
}

/** `pods`, or `network-attachment-definitions.k8s.cni.cncf.io`: the resource as apiserver messages name it. */
export function qualifiedResource(r: ResourceInfo): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

/**
 * The NetworkAttachmentDefinition CRD as the Network Plumbing Working Group publishes it (the same schema: spec.config
 * a string holding the CNI configuration).
 */
export const NAD_CRD: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'network-attachment-definitions.k8s.cni.cncf.io' },
  spec: {
    group: 'k8s.cni.cncf.io',
    scope: 'Namespaced',
    names: { plural: 'network-attachment-definitions', singular: 'network-attachment-definition', kind: 'NetworkAttachmentDefinition', shortNames: ['net-attach-def'], listKind: 'NetworkAttachmentDefinitionList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            description:
              'NetworkAttachmentDefinition is a CRD schema specified by the Network Plumbing Working Group to express the intent for attaching pods to one or more logical or physical networks.',
            type: 'object',
            properties: {
              apiVersion: { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' },
              kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
              metadata: { type: 'object' },
              spec: {
                description: 'NetworkAttachmentDefinition spec defines the desired state of a network attachment',
                type: 'object',
                properties: { config: { description: 'NetworkAttachmentDefinition config is a JSON-formatted CNI configuration', type: 'string' } },
              },
            },
          },
        },
      },
    ],
  },
};
