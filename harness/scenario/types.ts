// The scenario language: the input types (what a YAML file or defineScenario() gives), their shapes (sim/shape/: the
// structural validator and the JSON Schema are both driven by these), and the resolved types the runner consumes.
//
// The `satisfies Record<keyof X, FieldShape>` on every field table, plus the Exhaustive checks, keep the shapes and
// the TypeScript input types equal: adding a field to one without the other does not compile.
import { type Fault, type KubeObject, type ObjectRef, type Requirement, vfAttrNames } from '../backend.ts';
import type { JsonValue, SourceLocation } from '../../reports/types.ts';
import type { NodeSpecInput, Topology } from '../../sim/topology/topology.ts';
import { topologyDefinitions } from '../../sim/topology/topology.ts';
import { opt, req } from '../../sim/shape/shape.ts';
import type { FieldShape, Shape } from '../../sim/shape/shape.ts';

export const SCENARIO_API_VERSION = 'sriov-lab.dev/v1alpha1';
export const SCENARIO_KIND = 'Scenario';

// ---------------------------------------------------------------------------------------------------------------
// Input types

export interface ScenarioInput {
  apiVersion: typeof SCENARIO_API_VERSION;
  kind: typeof SCENARIO_KIND;
  metadata: ScenarioMetadataInput;
  spec: ScenarioSpecInput;
}

export interface ScenarioMetadataInput {
  name: string;
  description?: string;
  labels?: Record<string, string>;
  tags?: string[];
}

export type RequirementInput =
  | 'root'
  | 'fuse'
  | 'vfio'
  | 'vfNetlink'
  | 'cniPlugins'
  | { nodes: number }
  | { command: string };

export interface ScenarioSpecInput {
  /** a topology file, relative to the scenario file */
  topology?: string;
  /** or the topology's nodes inline (the `spec.nodes` of a topology file) */
  nodes?: NodeSpecInput[];
  devicePlugin?: { config?: JsonValue };
  requires?: RequirementInput[];
  /** extended resources the scenario is about; by default read from the manifests it applies */
  resources?: string[];
  timeouts?: TimeoutsInput;
  steps: StepInput[];
  /** collectors run after any failed step, after the step's own catch */
  catch?: OperationInput[];
}

export interface TimeoutsInput {
  /** how long assert and error wait by default (5000) */
  assertMs?: number;
  /** exec, ip and script (30000) */
  execMs?: number;
}

export interface StepInput {
  name: string;
  description?: string;
  try: OperationInput[];
  catch?: OperationInput[];
  finally?: OperationInput[];
}

export interface TextExpectInput {
  equals?: string;
  contains?: string | string[];
  notContains?: string | string[];
  /** a JavaScript regular expression, unanchored */
  matches?: string;
}
/** a string is short for `{contains: string}` */
export type TextExpectShorthand = string | TextExpectInput;

export interface ExecExpectInput {
  /** default 0; "any" accepts every exit code */
  exitCode?: number | 'any';
  stdout?: TextExpectShorthand;
  stderr?: TextExpectShorthand;
}

export interface ManifestSourceInput {
  /** multi-document YAML, relative to the scenario file */
  file?: string;
  resource?: Record<string, JsonValue>;
  resources?: Array<Record<string, JsonValue>>;
}

export interface ApplyInput extends ManifestSourceInput {}
export interface DeleteInput extends ManifestSourceInput {
  kind?: string;
  name?: string;
  namespace?: string;
  /** wait up to this long for the object to be gone (graceful termination) */
  waitMs?: number;
  /** false: return as soon as the deletion is requested (kubectl delete --wait=false); default true */
  wait?: boolean;
}
export interface AssertInput extends ManifestSourceInput {
  timeoutMs?: number;
  /** time between polls (default 100) */
  intervalMs?: number;
}
export interface ExecInput extends ExecExpectInput {
  pod?: string;
  namespace?: string;
  node?: string;
  /** argv, or a string run with `sh -c` */
  command: string | string[];
  stdin?: string;
  timeoutMs?: number;
}
export interface SysfsInput {
  node?: string;
  path: string;
  /** write this value; without it the operation reads */
  write?: string | number;
  /** the value read (after the write, when there is one); placeholders allowed */
  value?: string | number;
  /** the write (or read) must fail with this errno name, e.g. EBUSY */
  errno?: string;
  /** keep re-reading until `value` matches, up to this long */
  timeoutMs?: number;
}
export interface IpInput extends ExecExpectInput {
  node?: string;
  /** arguments after `ip` */
  args: string | string[];
  timeoutMs?: number;
}
export type KubeletAction = 'restart' | 'stop' | 'start';
export type DevicePluginAction = 'kill' | 'restart' | 'deleteSocket' | 'start' | 'stop';
export interface KubeletInput {
  action: KubeletAction;
  /** default: every node */
  node?: string;
}
export interface DevicePluginInput {
  action: DevicePluginAction;
  node?: string;
}
export interface NodeRebootInput {
  node?: string;
}
export type FaultInput = Fault & { node?: string };
export interface DurationInput {
  ms: number;
}
export interface ScriptInput extends ExecExpectInput {
  /** run with `sh -c` on the host, in the scenario file's folder */
  command: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}
export type CollectWhat = 'logs' | 'events' | 'sysfs' | 'checkpoint' | 'podResources';
export interface CollectInput {
  node?: string;
  /** default: all of them */
  what?: CollectWhat[];
}
export interface EventsInput {
  kind?: string;
  name?: string;
  namespace?: string;
}
export interface GetInput {
  kind: string;
  name?: string;
  namespace?: string;
}

/** one list item of try/catch/finally: exactly one operation key, and an optional title */
export interface OperationInput {
  title?: string;
  apply?: ApplyInput;
  delete?: DeleteInput;
  assert?: AssertInput;
  error?: AssertInput;
  exec?: ExecInput;
  sysfs?: SysfsInput;
  ip?: IpInput;
  kubelet?: KubeletAction | KubeletInput;
  devicePlugin?: DevicePluginAction | DevicePluginInput;
  /** a node name, or {node} */
  nodeReboot?: string | NodeRebootInput;
  fault?: FaultInput;
  advanceClock?: number | DurationInput;
  sleep?: number | DurationInput;
  script?: string | ScriptInput;
  collect?: CollectInput;
  events?: EventsInput;
  get?: GetInput;
}

export type OperationKind = Exclude<keyof OperationInput, 'title'>;

// ---------------------------------------------------------------------------------------------------------------
// Shapes (structural validation + JSON Schema)

const str = (desc?: string): Shape => ({ t: 'string', desc });
const nonEmpty = (desc?: string): Shape => ({ t: 'string', minLength: 1, desc });
const ms = (desc?: string): Shape => ({ t: 'integer', min: 0, desc });
const strList: Shape = { t: 'array', items: { t: 'string' } };
const strOrList: Shape = { t: 'oneOf', options: [{ t: 'string' }, strList] };
const stringMap: Shape = { t: 'map', values: { t: 'string' } };

export const kubeletActions: readonly KubeletAction[] = ['restart', 'stop', 'start'];
export const devicePluginActions: readonly DevicePluginAction[] = ['kill', 'restart', 'deleteSocket', 'start', 'stop'];
export const collectWhats: readonly CollectWhat[] = ['logs', 'events', 'sysfs', 'checkpoint', 'podResources'];
export const simpleRequirements = ['root', 'fuse', 'vfio', 'vfNetlink', 'cniPlugins'] as const;
export const faultKinds: readonly Fault['kind'][] = ['sysfsFailWrites', 'sysfsDelay', 'vfLink', 'pfLink', 'vfUnplug', 'vfAttrFail', 'ipamFail', 'netnsRemove', 'cniPath'];

const textExpectFields = {
  equals: opt(str('the whole output, compared after trimming trailing newlines')),
  contains: opt({ ...strOrList, desc: 'every string must occur' }),
  notContains: opt({ ...strOrList, desc: 'no string may occur' }),
  matches: opt(str('a JavaScript regular expression, unanchored')),
} satisfies Record<keyof TextExpectInput, FieldShape>;
const textExpect: Shape = { t: 'oneOf', options: [str('short for {contains: …}'), { t: 'object', fields: textExpectFields }] };

const execExpectFields = {
  exitCode: opt({ t: 'oneOf', options: [{ t: 'integer', min: 0, max: 255 }, { t: 'string', enum: ['any'] }], desc: 'default 0' }),
  stdout: opt(textExpect),
  stderr: opt(textExpect),
} satisfies Record<keyof ExecExpectInput, FieldShape>;

const manifestFields = {
  file: opt(nonEmpty('multi-document YAML, relative to the scenario file')),
  resource: opt({ t: 'json', object: true, desc: 'a Kubernetes object' }),
  resources: opt({ t: 'array', items: { t: 'json', object: true } }),
} satisfies Record<keyof ManifestSourceInput, FieldShape>;

const applyFields = { ...manifestFields } satisfies Record<keyof ApplyInput, FieldShape>;
const deleteFields = {
  ...manifestFields,
  kind: opt(nonEmpty()),
  name: opt(nonEmpty()),
  namespace: opt(nonEmpty()),
  waitMs: opt(ms('wait for the object to be gone')),
  wait: opt({ t: 'boolean', desc: 'false: return once the deletion is requested, like kubectl delete --wait=false (default true)' }),
} satisfies Record<keyof DeleteInput, FieldShape>;
const assertFields = {
  ...manifestFields,
  timeoutMs: opt(ms()),
  intervalMs: opt({ t: 'integer', min: 1 }),
} satisfies Record<keyof AssertInput, FieldShape>;
const execFields = {
  pod: opt(nonEmpty()),
  namespace: opt(nonEmpty()),
  node: opt(nonEmpty()),
  command: req({ t: 'oneOf', options: [nonEmpty('run with sh -c'), { t: 'array', items: { t: 'string' }, minItems: 1 }] }),
  stdin: opt(str()),
  timeoutMs: opt(ms()),
  ...execExpectFields,
} satisfies Record<keyof ExecInput, FieldShape>;
const scalarValue: Shape = { t: 'oneOf', options: [{ t: 'string' }, { t: 'integer' }] };
const sysfsFields = {
  node: opt(nonEmpty()),
  path: req({ t: 'string', pattern: '^/', desc: 'absolute, e.g. /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs' }),
  write: opt(scalarValue),
  value: opt(scalarValue),
  errno: opt({ t: 'string', pattern: '^E[A-Z0-9]+$' }),
  timeoutMs: opt(ms()),
} satisfies Record<keyof SysfsInput, FieldShape>;
const ipFields = {
  node: opt(nonEmpty()),
  args: req({ t: 'oneOf', options: [nonEmpty(), { t: 'array', items: { t: 'string' }, minItems: 1 }] }),
  timeoutMs: opt(ms()),
  ...execExpectFields,
} satisfies Record<keyof IpInput, FieldShape>;
const kubeletFields = {
  action: req({ t: 'string', enum: kubeletActions }),
  node: opt(nonEmpty('default: every node')),
} satisfies Record<keyof KubeletInput, FieldShape>;
const devicePluginFields = {
  action: req({ t: 'string', enum: devicePluginActions }),
  node: opt(nonEmpty('default: every node')),
} satisfies Record<keyof DevicePluginInput, FieldShape>;
const durationFields = { ms: req(ms()) } satisfies Record<keyof DurationInput, FieldShape>;
const scriptFields = {
  command: req(nonEmpty()),
  env: opt(stringMap),
  timeoutMs: opt(ms()),
  ...execExpectFields,
} satisfies Record<keyof ScriptInput, FieldShape>;
const collectFields = {
  node: opt(nonEmpty()),
  what: opt({ t: 'array', items: { t: 'string', enum: collectWhats } }),
} satisfies Record<keyof CollectInput, FieldShape>;
const eventsFields = { kind: opt(nonEmpty()), name: opt(nonEmpty()), namespace: opt(nonEmpty()) } satisfies Record<keyof EventsInput, FieldShape>;
const getFields = { kind: req(nonEmpty()), name: opt(nonEmpty()), namespace: opt(nonEmpty()) } satisfies Record<keyof GetInput, FieldShape>;

type FaultFields<K extends Fault['kind']> = Record<Exclude<keyof Extract<Fault, { kind: K }>, 'kind'>, FieldShape>;
const errnoShape: Shape = { t: 'string', pattern: '^E[A-Z0-9]+$', desc: 'errno name, e.g. EIO' };
/** the fields of each Fault kind (besides `kind` and `node`); load.ts checks a fault against its kind's table */
export const faultFields: { [K in Fault['kind']]: FaultFields<K> } = {
  sysfsFailWrites: { path: req({ t: 'string', pattern: '^/' }), errno: req(errnoShape), count: opt({ t: 'integer', min: 1 }) },
  sysfsDelay: { path: req({ t: 'string', pattern: '^/' }), delayMs: req(ms()), count: opt({ t: 'integer', min: 1 }) },
  vfLink: { pf: req(nonEmpty('PF netdev name')), vf: opt({ t: 'integer', min: 0 }), up: req({ t: 'boolean' }) },
  pfLink: { pf: req(nonEmpty()), up: req({ t: 'boolean' }) },
  vfUnplug: { pciAddr: req(nonEmpty()) },
  vfAttrFail: { pf: req(nonEmpty('PF netdev name')), attr: req({ t: 'string', enum: vfAttrNames }), errno: req(errnoShape), count: opt({ t: 'integer', min: 1 }) },
  ipamFail: { count: opt({ t: 'integer', min: 1 }), message: opt(str()) },
  netnsRemove: { pod: req(nonEmpty('the pod whose sandbox netns goes')), namespace: opt(nonEmpty()) },
  cniPath: { up: req({ t: 'boolean' }) },
};
/** the structural shape of `fault:` is the union of every kind's fields; per-kind rules are in load.ts */
const faultShape: Shape = {
  t: 'object',
  fields: Object.assign(
    { kind: req({ t: 'string', enum: faultKinds }), node: opt(nonEmpty()) },
    ...Object.values(faultFields).map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, opt(v.shape)]))),
  ) as Record<string, FieldShape>,
  desc: 'kind picks the fault; see harness/scenario/README.md for the fields of each kind',
};

const orObject = (scalar: Shape, fields: Record<string, FieldShape>, desc: string): Shape => ({
  t: 'oneOf',
  options: [scalar, { t: 'object', fields }],
  desc,
});

export const operationFields = {
  title: opt(str('a one-line title for reports')),
  apply: opt({ t: 'object', fields: applyFields, desc: 'create or update objects: one of file, resource, resources' }),
  delete: opt({ t: 'object', fields: deleteFields, desc: 'delete objects: kind+name, or file/resource/resources' }),
  assert: opt({ t: 'object', fields: assertFields, desc: 'wait until every object partially matches' }),
  error: opt({ t: 'object', fields: assertFields, desc: 'wait until no object matches' }),
  exec: opt({ t: 'object', fields: execFields, desc: 'run a command in a pod (its network namespace) or on a node' }),
  sysfs: opt({ t: 'object', fields: sysfsFields, desc: 'read or write a sysfs file of a node' }),
  ip: opt({ t: 'object', fields: ipFields, desc: 'run ip on a node' }),
  kubelet: opt(orObject({ t: 'string', enum: kubeletActions }, kubeletFields, 'restart, stop or start the kubelet')),
  devicePlugin: opt(orObject({ t: 'string', enum: devicePluginActions }, devicePluginFields, 'act on the device plugin')),
  nodeReboot: opt(orObject(nonEmpty('node name'), { node: opt(nonEmpty()) }, 'reboot a node')),
  fault: opt(faultShape),
  advanceClock: opt(orObject(ms('milliseconds'), durationFields, "advance the kubelets' clocks")),
  sleep: opt(orObject(ms('milliseconds'), durationFields, 'wait in real time')),
  script: opt(orObject(nonEmpty('sh -c command'), scriptFields, 'a shell command on the host')),
  collect: opt({ t: 'object', fields: collectFields, desc: 'attach logs, events, sysfs dump, checkpoint, pod-resources' }),
  events: opt({ t: 'object', fields: eventsFields, desc: 'attach the events (of one object)' }),
  get: opt({ t: 'object', fields: getFields, desc: 'attach objects as YAML' }),
} satisfies Record<keyof OperationInput, FieldShape>;

export const operationKinds = Object.keys(operationFields).filter((k) => k !== 'title') as OperationKind[];

const stepFields = {
  name: req(nonEmpty()),
  description: opt(str()),
  try: req({ t: 'array', items: { t: 'ref', name: 'operation' }, minItems: 1 }),
  catch: opt({ t: 'array', items: { t: 'ref', name: 'operation' } }),
  finally: opt({ t: 'array', items: { t: 'ref', name: 'operation' } }),
} satisfies Record<keyof StepInput, FieldShape>;

const requirementShape: Shape = {
  t: 'oneOf',
  options: [
    { t: 'string', enum: simpleRequirements },
    { t: 'object', fields: { nodes: opt({ t: 'integer', min: 1 }), command: opt(nonEmpty()) } },
  ],
};

const specFields = {
  topology: opt(nonEmpty('a topology file, relative to this file')),
  // the same shape as a topology file's spec.nodes (sim/topology/topology.ts)
  nodes: opt({ t: 'array', items: { t: 'ref', name: 'node' }, minItems: 1, desc: "the topology's nodes inline" }),
  devicePlugin: opt({ t: 'object', fields: { config: opt({ t: 'json', desc: 'the device plugin config.json content' }) } }),
  requires: opt({ t: 'array', items: requirementShape }),
  resources: opt(strList),
  timeouts: opt({ t: 'object', fields: { assertMs: opt(ms()), execMs: opt(ms()) } satisfies Record<keyof TimeoutsInput, FieldShape> }),
  steps: req({ t: 'array', items: { t: 'ref', name: 'step' }, minItems: 1 }),
  catch: opt({ t: 'array', items: { t: 'ref', name: 'operation' } }),
} satisfies Record<keyof ScenarioSpecInput, FieldShape>;

const metadataFields = {
  name: req({ t: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', desc: 'DNS-1123 style: lower case, digits, "-", "."' }),
  description: opt(str()),
  labels: opt(stringMap),
  tags: opt(strList),
} satisfies Record<keyof ScenarioMetadataInput, FieldShape>;

export const scenarioDefinitions: Record<string, Shape> = {
  ...topologyDefinitions,
  operation: { t: 'object', fields: operationFields, desc: 'exactly one operation key, and an optional title' },
  step: { t: 'object', fields: stepFields },
};

export const scenarioShape: Shape = {
  t: 'object',
  fields: {
    apiVersion: req({ t: 'string', enum: [SCENARIO_API_VERSION] }),
    kind: req({ t: 'string', enum: [SCENARIO_KIND] }),
    metadata: req({ t: 'object', fields: metadataFields }),
    spec: req({ t: 'object', fields: specFields }),
  } satisfies Record<keyof ScenarioInput, FieldShape>,
};

type Exhaustive<T extends never> = T;
export type _OperationKindsComplete = Exhaustive<Exclude<OperationKind, keyof typeof operationFields>>;

// ---------------------------------------------------------------------------------------------------------------
// Resolved types: what loadScenario/parseScenario/defineScenario return and the runner runs. Every default filled.

export interface TextExpect {
  equals?: string;
  contains: string[];
  notContains: string[];
  matches?: string;
}

export interface ExecExpect {
  /** null = any exit code */
  exitCode: number | null;
  stdout?: TextExpect;
  stderr?: TextExpect;
}

/** an object an assert/error compares with, and where it was written */
export interface ExpectedObject {
  object: { [key: string]: JsonValue };
  location?: SourceLocation;
  /** the source text of the expectation as YAML (for failure messages) */
  text: string;
}

interface OpBase {
  title: string;
  location?: SourceLocation;
}

export type Operation =
  | (OpBase & { kind: 'apply'; objects: KubeObject[] })
  | (OpBase & { kind: 'delete'; refs: ObjectRef[]; waitMs?: number; wait: boolean })
  | (OpBase & { kind: 'assert' | 'error'; expected: ExpectedObject[]; timeoutMs: number; intervalMs: number })
  | (OpBase & {
      kind: 'exec';
      target: { pod: string; namespace: string } | { node: string };
      argv: string[];
      stdin?: string;
      timeoutMs: number;
      expect: ExecExpect;
    })
  | (OpBase & { kind: 'sysfs'; node: string; path: string; write?: string; value?: string; errno?: string; timeoutMs: number })
  | (OpBase & { kind: 'ip'; node: string; argv: string[]; timeoutMs: number; expect: ExecExpect })
  | (OpBase & { kind: 'kubelet'; nodes: string[]; action: KubeletAction })
  | (OpBase & { kind: 'devicePlugin'; nodes: string[]; action: DevicePluginAction })
  | (OpBase & { kind: 'nodeReboot'; nodes: string[] })
  | (OpBase & { kind: 'fault'; node: string; fault: Fault })
  | (OpBase & { kind: 'advanceClock' | 'sleep'; ms: number })
  | (OpBase & { kind: 'script'; command: string; env: Record<string, string>; timeoutMs: number; expect: ExecExpect })
  | (OpBase & { kind: 'collect'; nodes: string[]; what: CollectWhat[] })
  | (OpBase & { kind: 'events'; ref?: { kind?: string; name?: string; namespace?: string } })
  | (OpBase & { kind: 'get'; ref: { kind: string; name?: string; namespace?: string } });

export interface Step {
  name: string;
  description?: string;
  location?: SourceLocation;
  try: Operation[];
  catch: Operation[];
  finally: Operation[];
}

export interface Scenario {
  name: string;
  description?: string;
  /** the scenario file as given (relative paths stay relative); "<inline>" or the caller's name for defineScenario */
  file: string;
  /** the folder relative paths and scripts resolve against */
  dir: string;
  location?: SourceLocation;
  labels: Record<string, string>;
  tags: string[];
  topology: Topology;
  /** the topology file, when the scenario names one */
  topologyFile?: string;
  devicePlugin: { config?: JsonValue };
  requires: Requirement[];
  resources: string[];
  timeouts: { assertMs: number; execMs: number };
  steps: Step[];
  catch: Operation[];
}

export const DEFAULT_TIMEOUTS = { assertMs: 5000, execMs: 30_000 };
export const DEFAULT_INTERVAL_MS = 100;
