// Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), as kubectl's generator commands
// (`create configmap`, `create secret generic`, `create namespace`, `create serviceaccount`) send them: the 4-byte magic
// `k8s\0`, then a runtime.Unknown whose `raw` is the object's own message; Events too, as client-go's event recorders
// (Multus's among them) send them; and whole Pods, as a protobuf client's pods/status UPDATE sends them (Multus's
// network-status: network-attachment-definition-client's SetNetworkStatus). The bytes become the object's JSON form,
// which then goes through the same decoding, defaulting and validation as a JSON body. The same table encodes (what a
// Go client would send, for tests), refusing any field it lacks, so a pod's round trip shows nothing is lost.
//
// The field numbers are those of the upstream generated.proto files (k8s.io/api core/v1, k8s.io/apimachinery
// meta/v1 and runtime); the table below is ours and covers the kinds decoded here. Wire reading is protobufjs's.
import protobuf from 'protobufjs/minimal.js';
import type { Json as JsonValue, JsonObject } from './patch.ts';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
/** what every Kubernetes protobuf body starts with: `k8s`, then encoding 0 (a runtime.Unknown follows) */
export const PROTOBUF_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

const { Reader } = protobuf;
type Reader = protobuf.Reader;

/** A body that is no valid protobuf of its kind; the message is worded like the apiserver's decoder's. */
export class ProtobufDecodeError extends Error {
  /** the body's own group-version-kind, when its runtime.Unknown got that far */
  readonly typeMeta?: { apiVersion: string; kind: string };
  constructor(message: string, typeMeta?: { apiVersion: string; kind: string }) {
    super(message);
    this.name = 'ProtobufDecodeError';
    this.typeMeta = typeMeta;
  }
}

type Scalar = 'string' | 'bytes' | 'bool' | 'int64' | 'int32';
type MapValue = 'string' | 'bytes' | 'quantity';

/**
 * One field: a scalar; `message` (a nested message of the table; `inline`: an embedded Go struct, whose fields are the
 * parent's own in JSON); `time` (metav1.Time: a Timestamp whose JSON form is RFC 3339); `microtime` (metav1.MicroTime:
 * the same message, RFC 3339 with microseconds); `fields` (metav1.FieldsV1: raw JSON bytes whose JSON form is that
 * JSON); `quantity` (resource.Quantity: string=1, a string in JSON); `intorstr` (intstr.IntOrString: type=1, intVal=2,
 * strVal=3, a number or a string in JSON); or `map` (entries key=1, value=2).
 *
 * Zero values: a string or integer of zero value is left out (the JSON of omitempty fields has none), unless `keep`
 * (a pointer, or a field without omitempty: `restartCount: 0`, `exitCode: 0`); a bool is kept as sent (a pointer:
 * present means set) unless `omitFalse` (a plain omitempty bool, which the Go encoder writes even when false).
 */
type FieldSpec = { name: string; repeated?: boolean; keep?: boolean; omitFalse?: boolean } & (
  | { type: Scalar }
  | { type: 'message'; message: string; inline?: boolean }
  | { type: 'time' }
  | { type: 'microtime' }
  | { type: 'fields' }
  | { type: 'quantity' }
  | { type: 'intorstr' }
  | { type: 'map'; value: MapValue }
);

const str = (name: string, o: { keep?: boolean } = {}): FieldSpec => ({ name, type: 'string', ...o });
const strs = (name: string): FieldSpec => ({ name, type: 'string', repeated: true });
const msg = (name: string, message: string, repeated = false): FieldSpec => ({ name, type: 'message', message, repeated });
const inline = (message: string): FieldSpec => ({ name: message, type: 'message', message, inline: true });
const bool = (name: string, omitFalse = false): FieldSpec => ({ name, type: 'bool', omitFalse });
const i32 = (name: string, keep = false): FieldSpec => ({ name, type: 'int32', keep });
const i64 = (name: string, keep = false): FieldSpec => ({ name, type: 'int64', keep });
const time = (name: string): FieldSpec => ({ name, type: 'time' });
const strMap = (name: string): FieldSpec => ({ name, type: 'map', value: 'string' });
const quantities = (name: string): FieldSpec => ({ name, type: 'map', value: 'quantity' });

/** message name → field number → field */
const MESSAGES: Record<string, Record<number, FieldSpec>> = {
  // k8s.io/apimachinery/pkg/runtime
  Unknown: { 1: msg('typeMeta', 'TypeMeta'), 2: { name: 'raw', type: 'bytes' }, 3: str('contentEncoding'), 4: str('contentType') },
  TypeMeta: { 1: str('apiVersion'), 2: str('kind') },
  // k8s.io/apimachinery/pkg/apis/meta/v1
  ObjectMeta: {
    1: str('name'),
    2: str('generateName'),
    3: str('namespace'),
    4: str('selfLink'),
    5: str('uid'),
    6: str('resourceVersion'),
    7: { name: 'generation', type: 'int64' },
    8: { name: 'creationTimestamp', type: 'time' },
    9: { name: 'deletionTimestamp', type: 'time' },
    10: { name: 'deletionGracePeriodSeconds', type: 'int64' },
    11: { name: 'labels', type: 'map', value: 'string' },
    12: { name: 'annotations', type: 'map', value: 'string' },
    13: msg('ownerReferences', 'OwnerReference', true),
    14: { name: 'finalizers', type: 'string', repeated: true },
    17: msg('managedFields', 'ManagedFieldsEntry', true),
  },
  OwnerReference: { 5: str('apiVersion'), 1: str('kind'), 3: str('name'), 4: str('uid'), 6: { name: 'controller', type: 'bool' }, 7: { name: 'blockOwnerDeletion', type: 'bool' } },
  FieldsV1: { 1: { name: 'Raw', type: 'bytes' } },
  ManagedFieldsEntry: { 1: str('manager'), 2: str('operation'), 3: str('apiVersion'), 4: { name: 'time', type: 'time' }, 6: str('fieldsType'), 7: { name: 'fieldsV1', type: 'fields' }, 8: str('subresource') },
  // k8s.io/api/core/v1
  ConfigMap: { 1: msg('metadata', 'ObjectMeta'), 4: { name: 'immutable', type: 'bool' }, 2: { name: 'data', type: 'map', value: 'string' }, 3: { name: 'binaryData', type: 'map', value: 'bytes' } },
  Secret: { 1: msg('metadata', 'ObjectMeta'), 5: { name: 'immutable', type: 'bool' }, 2: { name: 'data', type: 'map', value: 'bytes' }, 4: { name: 'stringData', type: 'map', value: 'string' }, 3: str('type') },
  Namespace: { 1: msg('metadata', 'ObjectMeta'), 2: msg('spec', 'NamespaceSpec'), 3: msg('status', 'NamespaceStatus') },
  NamespaceSpec: { 1: { name: 'finalizers', type: 'string', repeated: true } },
  NamespaceStatus: { 1: str('phase'), 2: msg('conditions', 'NamespaceCondition', true) },
  NamespaceCondition: { 1: str('type'), 2: str('status'), 4: { name: 'lastTransitionTime', type: 'time' }, 5: str('reason'), 6: str('message') },
  ServiceAccount: { 1: msg('metadata', 'ObjectMeta'), 2: msg('secrets', 'ObjectReference', true), 3: msg('imagePullSecrets', 'LocalObjectReference', true), 4: { name: 'automountServiceAccountToken', type: 'bool' } },
  Event: {
    1: msg('metadata', 'ObjectMeta'),
    2: msg('involvedObject', 'ObjectReference'),
    3: str('reason'),
    4: str('message'),
    5: msg('source', 'EventSource'),
    6: { name: 'firstTimestamp', type: 'time' },
    7: { name: 'lastTimestamp', type: 'time' },
    8: { name: 'count', type: 'int32' },
    9: str('type'),
    10: { name: 'eventTime', type: 'microtime' },
    11: msg('series', 'EventSeries'),
    12: str('action'),
    13: msg('related', 'ObjectReference'),
    14: str('reportingComponent'),
    15: str('reportingInstance'),
  },
  EventSource: { 1: str('component'), 2: str('host') },
  EventSeries: { 1: { name: 'count', type: 'int32' }, 2: { name: 'lastObservedTime', type: 'microtime' } },
  ObjectReference: { 1: str('kind'), 2: str('namespace'), 3: str('name'), 4: str('uid'), 5: str('apiVersion'), 6: str('resourceVersion'), 7: str('fieldPath') },
  LocalObjectReference: { 1: str('name') },
  // Pod and what it holds (k8s.io/api/core/v1 generated.proto)
  Pod: { 1: msg('metadata', 'ObjectMeta'), 2: msg('spec', 'PodSpec'), 3: msg('status', 'PodStatus') },
  PodSpec: {
    1: msg('volumes', 'Volume', true),
    20: msg('initContainers', 'Container', true),
    2: msg('containers', 'Container', true),
    34: msg('ephemeralContainers', 'EphemeralContainer', true),
    3: str('restartPolicy'),
    4: i64('terminationGracePeriodSeconds', true),
    5: i64('activeDeadlineSeconds', true),
    6: str('dnsPolicy'),
    7: strMap('nodeSelector'),
    8: str('serviceAccountName'),
    9: str('serviceAccount'),
    21: bool('automountServiceAccountToken'),
    10: str('nodeName'),
    11: bool('hostNetwork', true),
    12: bool('hostPID', true),
    13: bool('hostIPC', true),
    27: bool('shareProcessNamespace'),
    14: msg('securityContext', 'PodSecurityContext'),
    15: msg('imagePullSecrets', 'LocalObjectReference', true),
    16: str('hostname'),
    17: str('subdomain'),
    18: msg('affinity', 'Affinity'),
    19: str('schedulerName'),
    22: msg('tolerations', 'Toleration', true),
    23: msg('hostAliases', 'HostAlias', true),
    24: str('priorityClassName'),
    25: i32('priority', true),
    26: msg('dnsConfig', 'PodDNSConfig'),
    28: msg('readinessGates', 'PodReadinessGate', true),
    29: str('runtimeClassName'),
    30: bool('enableServiceLinks'),
    31: str('preemptionPolicy'),
    32: quantities('overhead'),
    33: msg('topologySpreadConstraints', 'TopologySpreadConstraint', true),
    35: bool('setHostnameAsFQDN'),
    36: msg('os', 'PodOS'),
    37: bool('hostUsers'),
    38: msg('schedulingGates', 'PodSchedulingGate', true),
    40: msg('resources', 'ResourceRequirements'),
  },
  Container: {
    1: str('name', { keep: true }),
    2: str('image'),
    3: strs('command'),
    4: strs('args'),
    5: str('workingDir'),
    6: msg('ports', 'ContainerPort', true),
    19: msg('envFrom', 'EnvFromSource', true),
    7: msg('env', 'EnvVar', true),
    8: msg('resources', 'ResourceRequirements'),
    23: msg('resizePolicy', 'ContainerResizePolicy', true),
    24: str('restartPolicy'),
    9: msg('volumeMounts', 'VolumeMount', true),
    21: msg('volumeDevices', 'VolumeDevice', true),
    10: msg('livenessProbe', 'Probe'),
    11: msg('readinessProbe', 'Probe'),
    22: msg('startupProbe', 'Probe'),
    12: msg('lifecycle', 'Lifecycle'),
    13: str('terminationMessagePath'),
    20: str('terminationMessagePolicy'),
    14: str('imagePullPolicy'),
    15: msg('securityContext', 'SecurityContext'),
    16: bool('stdin', true),
    17: bool('stdinOnce', true),
    18: bool('tty', true),
  },
  EphemeralContainer: { 1: inline('EphemeralContainerCommon'), 2: str('targetContainerName') },
  ContainerPort: { 1: str('name'), 2: i32('hostPort'), 3: i32('containerPort', true), 4: str('protocol'), 5: str('hostIP') },
  EnvVar: { 1: str('name', { keep: true }), 2: str('value'), 3: msg('valueFrom', 'EnvVarSource') },
  EnvVarSource: { 1: msg('fieldRef', 'ObjectFieldSelector'), 2: msg('resourceFieldRef', 'ResourceFieldSelector'), 3: msg('configMapKeyRef', 'ConfigMapKeySelector'), 4: msg('secretKeyRef', 'SecretKeySelector') },
  ObjectFieldSelector: { 1: str('apiVersion'), 2: str('fieldPath') },
  ResourceFieldSelector: { 1: str('containerName'), 2: str('resource'), 3: { name: 'divisor', type: 'quantity' } },
  ConfigMapKeySelector: { 1: inline('LocalObjectReference'), 2: str('key'), 3: bool('optional') },
  SecretKeySelector: { 1: inline('LocalObjectReference'), 2: str('key'), 3: bool('optional') },
  EnvFromSource: { 1: str('prefix'), 2: msg('configMapRef', 'ConfigMapEnvSource'), 3: msg('secretRef', 'SecretEnvSource') },
  ConfigMapEnvSource: { 1: inline('LocalObjectReference'), 2: bool('optional') },
  SecretEnvSource: { 1: inline('LocalObjectReference'), 2: bool('optional') },
  ResourceRequirements: { 1: quantities('limits'), 2: quantities('requests'), 3: msg('claims', 'ResourceClaim', true) },
  ResourceClaim: { 1: str('name'), 2: str('request') },
  ContainerResizePolicy: { 1: str('resourceName'), 2: str('restartPolicy') },
  VolumeMount: { 1: str('name', { keep: true }), 2: bool('readOnly', true), 7: str('recursiveReadOnly'), 3: str('mountPath', { keep: true }), 4: str('subPath'), 5: str('mountPropagation'), 6: str('subPathExpr') },
  VolumeDevice: { 1: str('name'), 2: str('devicePath') },
  Probe: { 1: inline('ProbeHandler'), 2: i32('initialDelaySeconds'), 3: i32('timeoutSeconds'), 4: i32('periodSeconds'), 5: i32('successThreshold'), 6: i32('failureThreshold'), 7: i64('terminationGracePeriodSeconds', true) },
  ProbeHandler: { 1: msg('exec', 'ExecAction'), 2: msg('httpGet', 'HTTPGetAction'), 3: msg('tcpSocket', 'TCPSocketAction'), 4: msg('grpc', 'GRPCAction') },
  LifecycleHandler: { 1: msg('exec', 'ExecAction'), 2: msg('httpGet', 'HTTPGetAction'), 3: msg('tcpSocket', 'TCPSocketAction'), 4: msg('sleep', 'SleepAction') },
  Lifecycle: { 1: msg('postStart', 'LifecycleHandler'), 2: msg('preStop', 'LifecycleHandler'), 3: str('stopSignal') },
  ExecAction: { 1: strs('command') },
  HTTPGetAction: { 1: str('path'), 2: { name: 'port', type: 'intorstr' }, 3: str('host'), 4: str('scheme'), 5: msg('httpHeaders', 'HTTPHeader', true) },
  HTTPHeader: { 1: str('name', { keep: true }), 2: str('value', { keep: true }) },
  TCPSocketAction: { 1: { name: 'port', type: 'intorstr' }, 2: str('host') },
  GRPCAction: { 1: i32('port', true), 2: str('service') },
  SleepAction: { 1: i64('seconds', true) },
  SecurityContext: {
    1: msg('capabilities', 'Capabilities'),
    2: bool('privileged'),
    3: msg('seLinuxOptions', 'SELinuxOptions'),
    4: i64('runAsUser', true),
    8: i64('runAsGroup', true),
    5: bool('runAsNonRoot'),
    6: bool('readOnlyRootFilesystem'),
    7: bool('allowPrivilegeEscalation'),
    9: str('procMount'),
    11: msg('seccompProfile', 'SeccompProfile'),
    12: msg('appArmorProfile', 'AppArmorProfile'),
  },
  Capabilities: { 1: strs('add'), 2: strs('drop') },
  SELinuxOptions: { 1: str('user'), 2: str('role'), 3: str('type'), 4: str('level') },
  SeccompProfile: { 1: str('type'), 2: str('localhostProfile') },
  AppArmorProfile: { 1: str('type'), 2: str('localhostProfile') },
  PodSecurityContext: {
    1: msg('seLinuxOptions', 'SELinuxOptions'),
    2: i64('runAsUser', true),
    6: i64('runAsGroup', true),
    3: bool('runAsNonRoot'),
    4: { name: 'supplementalGroups', type: 'int64', repeated: true },
    12: str('supplementalGroupsPolicy'),
    5: i64('fsGroup', true),
    7: msg('sysctls', 'Sysctl', true),
    9: str('fsGroupChangePolicy'),
    10: msg('seccompProfile', 'SeccompProfile'),
    11: msg('appArmorProfile', 'AppArmorProfile'),
    13: str('seLinuxChangePolicy'),
  },
  Sysctl: { 1: str('name', { keep: true }), 2: str('value', { keep: true }) },
  Volume: { 1: str('name', { keep: true }), 2: inline('VolumeSource') },
  VolumeSource: {
    1: msg('hostPath', 'HostPathVolumeSource'),
    2: msg('emptyDir', 'EmptyDirVolumeSource'),
    6: msg('secret', 'SecretVolumeSource'),
    10: msg('persistentVolumeClaim', 'PersistentVolumeClaimVolumeSource'),
    16: msg('downwardAPI', 'DownwardAPIVolumeSource'),
    19: msg('configMap', 'ConfigMapVolumeSource'),
    26: msg('projected', 'ProjectedVolumeSource'),
  },
  HostPathVolumeSource: { 1: str('path', { keep: true }), 2: str('type') },
  EmptyDirVolumeSource: { 1: str('medium'), 2: { name: 'sizeLimit', type: 'quantity' } },
  SecretVolumeSource: { 1: str('secretName'), 2: msg('items', 'KeyToPath', true), 3: i32('defaultMode', true), 4: bool('optional') },
  ConfigMapVolumeSource: { 1: inline('LocalObjectReference'), 2: msg('items', 'KeyToPath', true), 3: i32('defaultMode', true), 4: bool('optional') },
  PersistentVolumeClaimVolumeSource: { 1: str('claimName', { keep: true }), 2: bool('readOnly', true) },
  KeyToPath: { 1: str('key', { keep: true }), 2: str('path', { keep: true }), 3: i32('mode', true) },
  DownwardAPIVolumeSource: { 1: msg('items', 'DownwardAPIVolumeFile', true), 2: i32('defaultMode', true) },
  DownwardAPIVolumeFile: { 1: str('path', { keep: true }), 2: msg('fieldRef', 'ObjectFieldSelector'), 3: msg('resourceFieldRef', 'ResourceFieldSelector'), 4: i32('mode', true) },
  ProjectedVolumeSource: { 1: msg('sources', 'VolumeProjection', true), 2: i32('defaultMode', true) },
  VolumeProjection: { 1: msg('secret', 'SecretProjection'), 2: msg('downwardAPI', 'DownwardAPIProjection'), 3: msg('configMap', 'ConfigMapProjection'), 4: msg('serviceAccountToken', 'ServiceAccountTokenProjection') },
  SecretProjection: { 1: inline('LocalObjectReference'), 2: msg('items', 'KeyToPath', true), 4: bool('optional') },
  ConfigMapProjection: { 1: inline('LocalObjectReference'), 2: msg('items', 'KeyToPath', true), 4: bool('optional') },
  DownwardAPIProjection: { 1: msg('items', 'DownwardAPIVolumeFile', true) },
  ServiceAccountTokenProjection: { 1: str('audience'), 2: i64('expirationSeconds', true), 3: str('path', { keep: true }) },
  Toleration: { 1: str('key'), 2: str('operator'), 3: str('value'), 4: str('effect'), 5: i64('tolerationSeconds', true) },
  Affinity: { 1: msg('nodeAffinity', 'NodeAffinity'), 2: msg('podAffinity', 'PodAffinity'), 3: msg('podAntiAffinity', 'PodAffinity') },
  NodeAffinity: { 1: msg('requiredDuringSchedulingIgnoredDuringExecution', 'NodeSelector'), 2: msg('preferredDuringSchedulingIgnoredDuringExecution', 'PreferredSchedulingTerm', true) },
  NodeSelector: { 1: msg('nodeSelectorTerms', 'NodeSelectorTerm', true) },
  NodeSelectorTerm: { 1: msg('matchExpressions', 'NodeSelectorRequirement', true), 2: msg('matchFields', 'NodeSelectorRequirement', true) },
  NodeSelectorRequirement: { 1: str('key', { keep: true }), 2: str('operator', { keep: true }), 3: strs('values') },
  PreferredSchedulingTerm: { 1: i32('weight', true), 2: msg('preference', 'NodeSelectorTerm') },
  // PodAffinity and PodAntiAffinity have the same fields and numbers
  PodAffinity: { 1: msg('requiredDuringSchedulingIgnoredDuringExecution', 'PodAffinityTerm', true), 2: msg('preferredDuringSchedulingIgnoredDuringExecution', 'WeightedPodAffinityTerm', true) },
  PodAffinityTerm: { 1: msg('labelSelector', 'LabelSelector'), 2: strs('namespaces'), 3: str('topologyKey', { keep: true }), 4: msg('namespaceSelector', 'LabelSelector'), 5: strs('matchLabelKeys'), 6: strs('mismatchLabelKeys') },
  WeightedPodAffinityTerm: { 1: i32('weight', true), 2: msg('podAffinityTerm', 'PodAffinityTerm') },
  LabelSelector: { 1: strMap('matchLabels'), 2: msg('matchExpressions', 'LabelSelectorRequirement', true) },
  LabelSelectorRequirement: { 1: str('key', { keep: true }), 2: str('operator', { keep: true }), 3: strs('values') },
  TopologySpreadConstraint: { 1: i32('maxSkew', true), 2: str('topologyKey', { keep: true }), 3: str('whenUnsatisfiable', { keep: true }), 4: msg('labelSelector', 'LabelSelector'), 5: i32('minDomains', true), 6: str('nodeAffinityPolicy'), 7: str('nodeTaintsPolicy'), 8: strs('matchLabelKeys') },
  HostAlias: { 1: str('ip', { keep: true }), 2: strs('hostnames') },
  PodDNSConfig: { 1: strs('nameservers'), 2: strs('searches'), 3: msg('options', 'PodDNSConfigOption', true) },
  PodDNSConfigOption: { 1: str('name'), 2: str('value') },
  PodReadinessGate: { 1: str('conditionType', { keep: true }) },
  PodOS: { 1: str('name', { keep: true }) },
  PodSchedulingGate: { 1: str('name', { keep: true }) },
  PodStatus: {
    1: str('phase'),
    2: msg('conditions', 'PodCondition', true),
    3: str('message'),
    4: str('reason'),
    11: str('nominatedNodeName'),
    5: str('hostIP'),
    16: msg('hostIPs', 'HostIP', true),
    6: str('podIP'),
    12: msg('podIPs', 'PodIP', true),
    7: time('startTime'),
    10: msg('initContainerStatuses', 'ContainerStatus', true),
    8: msg('containerStatuses', 'ContainerStatus', true),
    9: str('qosClass'),
    13: msg('ephemeralContainerStatuses', 'ContainerStatus', true),
    14: str('resize'),
    17: i64('observedGeneration'),
  },
  PodCondition: { 1: str('type', { keep: true }), 7: i64('observedGeneration'), 2: str('status', { keep: true }), 3: time('lastProbeTime'), 4: time('lastTransitionTime'), 5: str('reason'), 6: str('message') },
  HostIP: { 1: str('ip', { keep: true }) },
  PodIP: { 1: str('ip', { keep: true }) },
  ContainerStatus: {
    1: str('name', { keep: true }),
    2: msg('state', 'ContainerState'),
    3: msg('lastState', 'ContainerState'),
    4: bool('ready'),
    5: i32('restartCount', true),
    6: str('image', { keep: true }),
    7: str('imageID', { keep: true }),
    8: str('containerID'),
    9: bool('started'),
    10: quantities('allocatedResources'),
    11: msg('resources', 'ResourceRequirements'),
  },
  ContainerState: { 1: msg('waiting', 'ContainerStateWaiting'), 2: msg('running', 'ContainerStateRunning'), 3: msg('terminated', 'ContainerStateTerminated') },
  ContainerStateWaiting: { 1: str('reason'), 2: str('message') },
  ContainerStateRunning: { 1: time('startedAt') },
  ContainerStateTerminated: { 1: i32('exitCode', true), 2: i32('signal'), 3: str('reason'), 4: str('message'), 5: time('startedAt'), 6: time('finishedAt'), 7: str('containerID') },
};

// an ephemeral container's common part has a Container's fields under a Container's numbers
MESSAGES.EphemeralContainerCommon = MESSAGES.Container;

/** The kinds whose protobuf bodies are decoded (all `v1`, the core group). */
export const PROTOBUF_KINDS: ReadonlySet<string> = new Set(['ConfigMap', 'Secret', 'Namespace', 'ServiceAccount', 'Event', 'Pod']);

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

function wireTypeOf(f: Pick<FieldSpec, 'type'>): number {
  return f.type === 'bool' || f.type === 'int64' || f.type === 'int32' ? WIRE_VARINT : WIRE_BYTES;
}

/** the Go field name the generated unmarshaller names in its errors (`Name`, `UID`, `OwnerReferences`) */
function goName(f: FieldSpec): string {
  return f.name === 'uid' ? 'UID' : f.name[0].toUpperCase() + f.name.slice(1);
}

function int64(r: Reader): number {
  const v = r.int64() as unknown as number | { toNumber(): number };
  return typeof v === 'number' ? v : v.toNumber();
}

/**
 * metav1.Time and MicroTime: seconds=1, nanos=2; an empty message is the zero time (no value). A Time keeps whole
 * seconds only, as the apiserver's does; a MicroTime keeps microseconds, its JSON form's precision.
 */
function decodeTime(bytes: Uint8Array, micro: boolean): string | undefined {
  if (!bytes.length) return undefined;
  const r = Reader.create(bytes);
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    if (no === 1 && (tag & 7) === WIRE_VARINT) seconds = int64(r);
    else if (no === 2 && (tag & 7) === WIRE_VARINT) nanos = r.int32();
    else if (no === 1 || no === 2) throw new ProtobufDecodeError(`proto: wrong wireType = ${tag & 7} for field ${no === 1 ? 'Seconds' : 'Nanos'}`);
    else r.skipType(tag & 7);
  }
  if (micro) {
    // time.Unix(seconds, nanos) carries nanos beyond [0, 1e9) into the seconds
    const carry = Math.floor(nanos / 1e9);
    seconds += carry;
    nanos -= carry * 1e9;
  }
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new ProtobufDecodeError(`proto: Timestamp: seconds out of range: ${seconds}`);
  const whole = d.toISOString().replace(/\.\d{3}Z$/, '');
  return micro ? `${whole}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${whole}Z`;
}

function decodeMapEntry(bytes: Uint8Array, value: MapValue, field: FieldSpec): [string, string] {
  const r = Reader.create(bytes);
  let k = '';
  let v = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    if ((no === 1 || no === 2) && (tag & 7) !== WIRE_BYTES) throw new ProtobufDecodeError(`proto: wrong wireType = ${tag & 7} for field ${goName(field)}`);
    if (no === 1) k = r.string();
    else if (no === 2) v = value === 'string' ? r.string() : value === 'quantity' ? decodeQuantity(r.bytes()) : Buffer.from(r.bytes()).toString('base64');
    else r.skipType(tag & 7);
  }
  return [k, v];
}

/** resource.Quantity: its string form (field 1) */
function decodeQuantity(bytes: Uint8Array): string {
  const r = Reader.create(bytes);
  let v = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === WIRE_BYTES) v = r.string();
    else if (tag >>> 3 === 1) throw new ProtobufDecodeError(`proto: wrong wireType = ${tag & 7} for field String_`);
    else r.skipType(tag & 7);
  }
  return v;
}

/** intstr.IntOrString: type=1 (0 int, 1 string), intVal=2, strVal=3; a number or a string in JSON */
function decodeIntOrString(bytes: Uint8Array): number | string {
  const r = Reader.create(bytes);
  let type = 0;
  let intVal = 0;
  let strVal = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    if (no === 1 && wire === WIRE_VARINT) type = int64(r);
    else if (no === 2 && wire === WIRE_VARINT) intVal = r.int32();
    else if (no === 3 && wire === WIRE_BYTES) strVal = r.string();
    else if (no >= 1 && no <= 3) throw new ProtobufDecodeError(`proto: wrong wireType = ${wire} for field ${['Type', 'IntVal', 'StrVal'][no - 1]}`);
    else r.skipType(wire);
  }
  return type === 1 ? strVal : intVal;
}

/**
 * A message of the table as its JSON form. Zero scalars are left out, as the JSON of these (omitempty) fields has them:
 * the Go encoder writes every non-pointer string, even empty, so kubectl's bodies carry `name: ""`, `uid: ""` and so
 * on. A bool is kept when present (they are pointers: immutable, controller), and map values are kept as they are.
 */
function decodeMessage(type: string, bytes: Uint8Array): JsonObject {
  const fields = MESSAGES[type];
  const out: JsonObject = {};
  const r = Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    if (no === 0) throw new ProtobufDecodeError(`proto: ${type}: illegal tag 0 (wire type ${wire})`);
    const f = fields[no];
    if (!f) {
      r.skipType(wire); // an unknown field is dropped, as by the generated unmarshaller
      continue;
    }
    if (wire !== wireTypeOf(f)) throw new ProtobufDecodeError(`proto: wrong wireType = ${wire} for field ${goName(f)}`);
    let value: JsonValue | undefined;
    switch (f.type) {
      case 'string':
        value = r.string();
        if (value === '' && !f.repeated && !f.keep) value = undefined;
        break;
      case 'bytes':
        value = Buffer.from(r.bytes()).toString('base64');
        if (value === '') value = undefined;
        break;
      case 'bool':
        value = r.bool();
        if (!value && f.omitFalse) value = undefined;
        break;
      case 'int64':
        value = int64(r);
        if (value === 0 && !f.keep && !f.repeated) value = undefined;
        break;
      case 'int32':
        value = r.int32();
        if (value === 0 && !f.keep) value = undefined;
        break;
      case 'message':
        value = decodeMessage(f.message, r.bytes());
        if (f.inline) {
          Object.assign(out, value);
          continue;
        }
        break;
      case 'quantity':
        value = decodeQuantity(r.bytes());
        break;
      case 'intorstr':
        value = decodeIntOrString(r.bytes());
        break;
      case 'time':
      case 'microtime':
        value = decodeTime(r.bytes(), f.type === 'microtime');
        break;
      case 'fields': {
        const raw = decodeMessage('FieldsV1', r.bytes()).Raw;
        if (typeof raw === 'string' && raw) {
          try {
            value = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as JsonValue;
          } catch (e) {
            throw new ProtobufDecodeError(`FieldsV1: ${(e as Error).message}`);
          }
        }
        break;
      }
      case 'map': {
        const [k, v] = decodeMapEntry(r.bytes(), f.value, f);
        const m = (out[f.name] ??= {}) as JsonObject;
        m[k] = v;
        continue;
      }
    }
    if (f.repeated) ((out[f.name] ??= []) as JsonValue[]).push(value ?? (f.type === 'message' ? {} : ''));
    else if (value === undefined) delete out[f.name];
    else out[f.name] = value;
  }
  return out;
}

/** protobufjs's Reader throws RangeError on a truncated message; the Go unmarshaller says `unexpected EOF` */
function wireError(e: unknown): ProtobufDecodeError {
  if (e instanceof ProtobufDecodeError) return e;
  if (e instanceof RangeError) return new ProtobufDecodeError('unexpected EOF');
  return new ProtobufDecodeError(`proto: ${(e as Error)?.message ?? String(e)}`);
}

export interface DecodedProtobuf {
  apiVersion: string;
  kind: string;
  /** the object's JSON form (with apiVersion and kind), or undefined for a kind not in PROTOBUF_KINDS */
  object?: JsonObject;
}

/**
 * A protobuf request body: its runtime.Unknown envelope, and the object in it when its kind is one decoded here. An
 * envelope without apiVersion or kind takes them from `defaults` (the resource posted to), as the apiserver's decoder
 * does. Throws ProtobufDecodeError (the apiserver's wording) for bytes that are not such a body.
 */
export function decodeProtobufBody(body: Uint8Array, defaults: { apiVersion: string; kind: string }): DecodedProtobuf {
  if (body.length === 0) throw new ProtobufDecodeError('empty data');
  if (body.length < PROTOBUF_MAGIC.length || PROTOBUF_MAGIC.some((b, i) => body[i] !== b)) {
    throw new ProtobufDecodeError(`provided data does not appear to be a protobuf message, expected prefix [${PROTOBUF_MAGIC.join(' ')}]`);
  }
  if (body.length === PROTOBUF_MAGIC.length) throw new ProtobufDecodeError('empty body');
  let unknown: JsonObject;
  try {
    unknown = decodeMessage('Unknown', body.subarray(PROTOBUF_MAGIC.length));
  } catch (e) {
    throw wireError(e);
  }
  const tm = (unknown.typeMeta ?? {}) as JsonObject;
  const typeMeta = { apiVersion: typeof tm.apiVersion === 'string' ? tm.apiVersion : defaults.apiVersion, kind: typeof tm.kind === 'string' ? tm.kind : defaults.kind };
  if (typeMeta.apiVersion !== 'v1' || !PROTOBUF_KINDS.has(typeMeta.kind)) return typeMeta;
  let object: JsonObject;
  try {
    object = decodeMessage(typeMeta.kind, Buffer.from(typeof unknown.raw === 'string' ? unknown.raw : '', 'base64'));
  } catch (e) {
    throw new ProtobufDecodeError(wireError(e).message, typeMeta);
  }
  return { ...typeMeta, object: { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...object } };
}

/** An object that the table cannot write without losing a field (the field's JSON path). */
export class ProtobufEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufEncodeError';
  }
}

const { Writer } = protobuf;
type Writer = protobuf.Writer;

/** every JSON name a message's fields take, its inline messages' included */
function jsonNames(type: string): Set<string> {
  const names = new Set<string>();
  for (const f of Object.values(MESSAGES[type])) {
    if (f.type === 'message' && f.inline) for (const n of jsonNames(f.message)) names.add(n);
    else names.add(f.name);
  }
  return names;
}

function writeTime(w: Writer, value: string, path: string): void {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ProtobufEncodeError(`${path}: not an RFC 3339 time: ${value}`);
  const frac = /\.(\d+)Z$/.exec(value)?.[1] ?? '';
  const seconds = Math.floor(ms / 1000);
  const nanos = Number(frac.padEnd(9, '0').slice(0, 9));
  if (seconds) w.uint32((1 << 3) | WIRE_VARINT).int64(seconds);
  if (nanos) w.uint32((2 << 3) | WIRE_VARINT).int32(nanos);
}

function writeQuantity(w: Writer, value: unknown, path: string): void {
  if (typeof value !== 'string' && typeof value !== 'number') throw new ProtobufEncodeError(`${path}: a quantity must be a string or a number`);
  w.uint32((1 << 3) | WIRE_BYTES).string(String(value));
}

function writeValue(w: Writer, f: FieldSpec, no: number, value: unknown, path: string): void {
  const tag = (wire: number) => w.uint32((no << 3) | wire);
  const sub = (fill: () => void) => {
    tag(WIRE_BYTES).fork();
    fill();
    w.ldelim();
  };
  const want = (type: string) => {
    if (typeof value !== type) throw new ProtobufEncodeError(`${path}: expected a ${type}, got ${JSON.stringify(value)}`);
  };
  switch (f.type) {
    case 'string':
      want('string');
      tag(WIRE_BYTES).string(value as string);
      return;
    case 'bytes':
      want('string');
      tag(WIRE_BYTES).bytes(Buffer.from(value as string, 'base64'));
      return;
    case 'bool':
      want('boolean');
      tag(WIRE_VARINT).bool(value as boolean);
      return;
    case 'int32':
    case 'int64':
      if (!Number.isInteger(value)) throw new ProtobufEncodeError(`${path}: expected an integer, got ${JSON.stringify(value)}`);
      if (f.type === 'int32') tag(WIRE_VARINT).int32(value as number);
      else tag(WIRE_VARINT).int64(value as number);
      return;
    case 'message':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtobufEncodeError(`${path}: expected an object`);
      sub(() => writeMessage(w, f.message, value as Record<string, unknown>, path));
      return;
    case 'time':
    case 'microtime':
      want('string');
      sub(() => writeTime(w, value as string, path));
      return;
    case 'fields':
      sub(() => w.uint32((1 << 3) | WIRE_BYTES).bytes(Buffer.from(JSON.stringify(value))));
      return;
    case 'quantity':
      sub(() => writeQuantity(w, value, path));
      return;
    case 'intorstr':
      if (typeof value === 'number') sub(() => w.uint32((1 << 3) | WIRE_VARINT).int64(0).uint32((2 << 3) | WIRE_VARINT).int32(value));
      else if (typeof value === 'string') sub(() => w.uint32((1 << 3) | WIRE_VARINT).int64(1).uint32((3 << 3) | WIRE_BYTES).string(value));
      else throw new ProtobufEncodeError(`${path}: expected a number or a string`);
      return;
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtobufEncodeError(`${path}: expected an object`);
      // the Go marshaller writes a map's entries sorted by key
      for (const k of Object.keys(value).sort()) {
        const v = (value as Record<string, unknown>)[k];
        sub(() => {
          w.uint32((1 << 3) | WIRE_BYTES).string(k);
          if (f.value === 'quantity') {
            w.uint32((2 << 3) | WIRE_BYTES).fork();
            writeQuantity(w, v, `${path}.${k}`);
            w.ldelim();
          } else if (f.value === 'bytes') w.uint32((2 << 3) | WIRE_BYTES).bytes(Buffer.from(String(v), 'base64'));
          else w.uint32((2 << 3) | WIRE_BYTES).string(String(v));
        });
      }
      return;
    }
  }
}

/** a JSON object as a message of the table, fields in number order; a key the table has no field for throws */
function writeMessage(w: Writer, type: string, o: Record<string, unknown>, path: string): void {
  const fields = MESSAGES[type];
  const known = jsonNames(type);
  for (const k of Object.keys(o)) {
    if (!known.has(k) && o[k] !== null && o[k] !== undefined) throw new ProtobufEncodeError(`${path ? `${path}.` : ''}${k}: no field of ${type} in the protobuf table`);
  }
  for (const no of Object.keys(fields).map(Number).sort((a, b) => a - b)) {
    const f = fields[no];
    if (f.type === 'message' && f.inline) {
      const names = jsonNames(f.message);
      const part = Object.fromEntries(Object.entries(o).filter(([k]) => names.has(k)));
      w.uint32((no << 3) | WIRE_BYTES).fork();
      writeMessage(w, f.message, part, path);
      w.ldelim();
      continue;
    }
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    const p = `${path ? `${path}.` : ''}${f.name}`;
    if (f.repeated) {
      if (!Array.isArray(v)) throw new ProtobufEncodeError(`${p}: expected a list`);
      v.forEach((x, i) => writeValue(w, f, no, x, `${p}[${i}]`));
    } else writeValue(w, f, no, v, p);
  }
}

/**
 * An object of a kind in PROTOBUF_KINDS as the body a Go client sends for it (`k8s\0`, then a runtime.Unknown with
 * the object's message as raw). Throws ProtobufEncodeError for a field the table does not have, so that nothing of an
 * object is lost unnoticed.
 */
export function encodeProtobufBody(obj: { apiVersion?: string; kind?: string } & Record<string, unknown>): Uint8Array {
  const { apiVersion = 'v1', kind = '', ...rest } = obj;
  if (apiVersion !== 'v1' || !PROTOBUF_KINDS.has(kind)) throw new ProtobufEncodeError(`${apiVersion} ${kind} is not a kind of the protobuf table`);
  const raw = Writer.create();
  writeMessage(raw, kind, rest, '');
  const w = Writer.create();
  w.uint32((1 << 3) | WIRE_BYTES).fork();
  w.uint32((1 << 3) | WIRE_BYTES).string(apiVersion);
  w.uint32((2 << 3) | WIRE_BYTES).string(kind);
  w.ldelim();
  w.uint32((2 << 3) | WIRE_BYTES).bytes(raw.finish());
  return Buffer.concat([PROTOBUF_MAGIC, w.finish()]);
}
