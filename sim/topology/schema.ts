// JSON Schema (draft-07) of topology files, for editors:
//   # yaml-language-server: $schema=../../scenarios/topologies/topology.schema.json
// Written from the same key lists and enums the validator uses (schema.test.ts checks they agree, and that the
// committed scenarios/topologies/topology.schema.json is this object). Regenerate the file with
//   node --import tsx sim/topology/schema.ts --write
// The schema checks shapes only; cross-field rules (numVfs ≤ totalVfs, VF address collisions, duplicates) are the
// validator's.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nicModelNames } from '../nics/catalog.ts';
import {
  IFNAMSIZ, MTU_MAX, MTU_MIN, NIC_DEFAULTS, NODE_DEFAULTS, TOPOLOGY_API_VERSION, TOPOLOGY_KIND, kubeletRegistrations,
  linkStates, netdevNamings, taintEffects, vfDriverChoices,
} from './topology.ts';

export type JsonSchema = {
  $schema?: string;
  $id?: string;
  title?: string;
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null' | Array<'string' | 'number' | 'integer'>;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: Array<string | number>;
  const?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  uniqueItems?: boolean;
  default?: unknown;
  $ref?: string;
  definitions?: Record<string, JsonSchema>;
};

export const TOPOLOGY_SCHEMA_FILE = 'scenarios/topologies/topology.schema.json';

const quantity = '^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$';
const dnsSubdomain = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const stringMap: JsonSchema = { type: 'object', additionalProperties: { type: 'string' } };

export const topologySchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://sriov-lab.dev/schemas/topology-v1alpha1.json',
  title: 'sriov-lab Topology',
  description: 'Simulated nodes and their NICs (sim/topology/topology.ts).',
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: TOPOLOGY_API_VERSION },
    kind: { const: TOPOLOGY_KIND },
    metadata: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', pattern: dnsSubdomain, maxLength: 253 },
        labels: stringMap,
        annotations: stringMap,
      },
    },
    spec: {
      type: 'object',
      required: ['nodes'],
      additionalProperties: false,
      properties: {
        nodes: { type: 'array', minItems: 1, items: { $ref: '#/definitions/node' } },
      },
    },
  },
  definitions: {
    node: {
      type: 'object',
      required: ['name', 'nics'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', description: 'Kubernetes node name (DNS-1123 subdomain), unique', pattern: dnsSubdomain, maxLength: 253 },
        numaNodes: { type: 'integer', minimum: 1, maximum: 1024, default: NODE_DEFAULTS.numaNodes },
        cpu: { type: ['string', 'number'], description: 'node CPU capacity (Kubernetes quantity)', pattern: quantity, default: NODE_DEFAULTS.cpu },
        memory: { type: ['string', 'number'], description: 'node memory capacity (Kubernetes quantity)', pattern: quantity, default: NODE_DEFAULTS.memory },
        pods: { type: 'integer', minimum: 0, maximum: 100000, default: NODE_DEFAULTS.pods },
        labels: stringMap,
        taints: { type: 'array', items: { $ref: '#/definitions/taint' } },
        kubeletRegistration: {
          type: 'array',
          description: 'how the kubelet emulator accepts device plugins',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', enum: [...kubeletRegistrations] },
          default: NODE_DEFAULTS.kubeletRegistration,
        },
        netdevNaming: { type: 'string', enum: [...netdevNamings], default: NODE_DEFAULTS.netdevNaming },
        nics: { type: 'array', items: { $ref: '#/definitions/nic' } },
      },
    },
    taint: {
      type: 'object',
      required: ['key', 'effect'],
      additionalProperties: false,
      properties: {
        key: { type: 'string' },
        value: { type: 'string' },
        effect: { type: 'string', enum: [...taintEffects] },
      },
    },
    nic: {
      type: 'object',
      required: ['model', 'pciAddr'],
      additionalProperties: false,
      properties: {
        model: { type: 'string', description: 'NIC catalog short name', enum: nicModelNames() },
        pciAddr: {
          type: 'string',
          description: 'DDDD:BB:DD.F, unique on the node',
          pattern: '^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\\.[0-7]$',
        },
        ifname: {
          type: 'string',
          description: 'default: ens<bus>f<fn> / enp<bus>s<dev>f<fn> (predictable naming) or eth<N> in PCI order (kernel naming)',
          pattern: '^[A-Za-z0-9_.-]+$',
          maxLength: IFNAMSIZ - 1,
        },
        numVfs: { type: 'integer', description: 'VFs created at start (≤ totalVfs)', minimum: 0, default: NIC_DEFAULTS.numVfs },
        totalVfs: { type: 'integer', description: 'sriov_totalvfs override (default: the catalog’s)', minimum: 0 },
        vfOffset: { type: 'integer', description: 'First VF Offset override (default: the catalog’s)', minimum: 1 },
        vfStride: { type: 'integer', description: 'VF Stride override (default: the catalog’s)', minimum: 1 },
        numaNode: { type: 'integer', minimum: -1, default: NIC_DEFAULTS.numaNode },
        vfDriver: { type: 'string', description: 'driver of the VFs created at start', enum: [...vfDriverChoices], default: NIC_DEFAULTS.vfDriver },
        linkState: { type: 'string', enum: [...linkStates], default: NIC_DEFAULTS.linkState },
        mac: { type: 'string', pattern: '^[0-9a-fA-F][02468aceACE](:[0-9a-fA-F]{2}){5}$' },
        mtu: { type: 'integer', minimum: MTU_MIN, maximum: MTU_MAX, default: NIC_DEFAULTS.mtu },
      },
    },
  },
};

export function topologySchemaJson(): string {
  return `${JSON.stringify(topologySchema, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--write')) {
  const out = new URL(`../../${TOPOLOGY_SCHEMA_FILE}`, import.meta.url);
  writeFileSync(out, topologySchemaJson());
  console.log(`wrote ${fileURLToPath(out)}`);
}
