// What the API server serves: one entry per resource, the facts discovery, OpenAPI, routing and the decoder need.
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { Kind } from '../cluster/store.ts';

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
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: readonly ResourceInfo[] = [
  { group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], model: 'V1Pod', subresources: ['status', 'exec', 'log'], builtin: true },
  { group: '', version: 'v1', resource: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], model: 'V1Node', subresources: ['status'], builtin: true },
  { group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], model: 'V1Namespace', subresources: ['status'], builtin: true },
  { group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], model: 'CoreV1Event', subresources: [], builtin: true },
  { group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], model: 'V1ConfigMap', subresources: [], builtin: true },
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

export function groupVersion(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The groups in discovery order (core first). */
export function groupVersions(): Array<{ group: string; version: string }> {
  const out: Array<{ group: string; version: string }> = [];
  for (const r of RESOURCES) if (!out.some((g) => g.group === r.group && g.version === r.version)) out.push({ group: r.group, version: r.version });
  return out;
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function resourceOfKind(kind: Kind): ResourceInfo {
  return RESOURCES.find((r) => r.kind === kind)!;
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
