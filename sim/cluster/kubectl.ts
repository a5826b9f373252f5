// kubectl's printers, client side: a server-side Table (`get`), objects as JSON or YAML (`get -o json|yaml`) and
// `describe node|pod`, laid out with Go's tabwriter settings so columns match kubectl's byte for byte; plus the
// cells of the pod and node rows, which the API server's Tables print (sim/apiserver/table.ts).
// Layouts follow kubectl's printers (pkg/printers/internalversion) and describers (pkg/describe/describe.go).
import type { CoreV1Event, V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { addQuantities, formatQuantity, parseQuantity, quantityMilliValue, quantityValue, type Quantity } from '../scheduler/quantity.ts';
import { isHugePageResourceName } from '../apiserver/validation.ts';
import type { AnyObject } from './store.ts';
import { describeWriter, tableWriter, type TabWriter } from './tabwriter.ts';

/** What `describe` shows besides the object: the events about it, and for a node the pods bound to it. */
export interface DescribeContext {
  events: CoreV1Event[];
  /** "now" for ages */
  nowMs: number;
}

// ---- time ----

/** apimachinery duration.HumanDuration, as AGE columns print it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export function since(t: Date | undefined, nowMs: number): string {
  return t ? humanDuration(nowMs - t.getTime()) : '<unknown>';
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Go time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
export function rfc1123z(d: Date): string {
  return `${DAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

/** metav1.Time JSON form: RFC3339 in UTC, seconds precision. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- -o json / -o yaml ----

/** Plain JSON shape of an object: Dates as RFC3339, undefined dropped, keys sorted (as kubectl prints them). */
export function toPlain(v: unknown): unknown {
  if (v instanceof Date) return rfc3339(v);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = toPlain(x);
    }
    return out;
  }
  return v;
}

/** `-o json` / `-o yaml`: one object as itself, several (or a list asked for by type) as a v1 List. */
export function printObjects(objs: AnyObject[], output: 'yaml' | 'json', single: boolean): string {
  const body = single && objs.length === 1 ? toPlain(objs[0]) : toPlain({ apiVersion: 'v1', items: objs, kind: 'List', metadata: { resourceVersion: '' } });
  if (output === 'json') return JSON.stringify(body, null, 4) + '\n';
  return stringify(body, { indentSeq: false, lineWidth: 0 });
}

// ---- get ----

/** A meta.k8s.io/v1 Table, as the API server prints objects for kubectl (sim/apiserver/table.ts). */
export interface Table {
  columnDefinitions?: Array<{ name: string; priority: number }>;
  rows: Array<{ cells: Array<string | number | boolean>; object?: { metadata?: { namespace?: string } } }>;
}

/**
 * kubectl's human-readable printer over a server-side Table: column names upper-cased, priority-1 columns only with
 * `-o wide`, and a NAMESPACE column first for `-A` (from the rows' object metadata).
 */
export function printTable(table: Table, opts: { wide?: boolean; withNamespace?: boolean } = {}): string {
  const cols = (table.columnDefinitions ?? []).map((c, i) => ({ ...c, i })).filter((c) => opts.wide || c.priority === 0);
  const w = tableWriter();
  const line = (cells: string[]) => w.write(cells.join('\t') + '\n');
  line([...(opts.withNamespace ? ['NAMESPACE'] : []), ...cols.map((c) => c.name.toUpperCase())]);
  for (const r of table.rows) line([...(opts.withNamespace ? [r.object?.metadata?.namespace ?? ''] : []), ...cols.map((c) => String(r.cells[c.i] ?? ''))]);
  return w.toString();
}

/** What kubectl says on stderr for an empty list. */
export function noResourcesFound(namespace: string | undefined): string {
  return namespace ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n';
}

/** The STATUS column of `kubectl get pods` (printPod). */
export function podStatusText(pod: V1Pod): string {
  let reason = pod.status?.reason || pod.status?.phase || 'Pending';
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
  }
  if (pod.metadata?.deletionTimestamp) reason = 'Terminating';
  return reason;
}

export function podRow(pod: V1Pod, nowMs: number, wide: boolean, withNs: boolean): string[] {
  const total = pod.spec?.containers?.length ?? 0;
  const ready = (pod.status?.containerStatuses ?? []).filter((c) => c.ready).length;
  const restarts = (pod.status?.containerStatuses ?? []).reduce((a, c) => a + (c.restartCount ?? 0), 0);
  const row = [pod.metadata!.name!, `${ready}/${total}`, podStatusText(pod), String(restarts), since(pod.metadata?.creationTimestamp, nowMs)];
  if (wide) row.push(pod.status?.podIP || '<none>', pod.spec?.nodeName || '<none>', pod.status?.nominatedNodeName || '<none>', '<none>');
  return withNs ? [pod.metadata?.namespace ?? '', ...row] : row;
}

function nodeRoles(node: V1Node): string {
  const roles = Object.keys(node.metadata?.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean)
    .sort();
  return roles.length ? roles.join(',') : '<none>';
}

function nodeStatusText(node: V1Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  let s = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  if (node.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

export function nodeRow(node: V1Node, nowMs: number, wide: boolean): string[] {
  const row = [node.metadata!.name!, nodeStatusText(node), nodeRoles(node), since(node.metadata?.creationTimestamp, nowMs), node.status?.nodeInfo?.kubeletVersion ?? ''];
  if (wide) {
    const addr = (t: string): string => node.status?.addresses?.find((a) => a.type === t)?.address ?? '<none>';
    const info = node.status?.nodeInfo;
    row.push(addr('InternalIP'), addr('ExternalIP'), info?.osImage ?? '', info?.kernelVersion ?? '', info?.containerRuntimeVersion ?? '');
  }
  return row;
}

// ---- describe ----

const LEVEL = ['', '  ', '    ', '      '];

class Describer {
  readonly w: TabWriter = describeWriter();
  line(level: number, text: string): void {
    this.w.write(LEVEL[level] + text + '\n');
  }
  /** printLabelsMultiline / printAnnotationsMultiline: first entry on the title line, the rest indented under it */
  multiline(title: string, m: Record<string, string> | undefined, skip: (k: string) => boolean = () => false): void {
    const keys = Object.keys(m ?? {})
      .filter((k) => !skip(k))
      .sort();
    if (keys.length === 0) {
      this.line(0, `${title}:\t<none>`);
      return;
    }
    keys.forEach((k, i) => {
      const text = `${k}=${m![k]}`;
      if (i === 0) this.line(0, `${title}:\t${text}`);
      else this.w.write(`\t${text}\n`);
    });
  }
  events(events: CoreV1Event[], nowMs: number): void {
    if (events.length === 0) {
      this.line(0, 'Events:\t<none>');
      return;
    }
    this.w.flush();
    this.line(0, 'Events:');
    this.line(1, 'Type\tReason\tAge\tFrom\tMessage');
    this.line(1, '----\t------\t----\t----\t-------');
    for (const e of [...events].sort((a, b) => (a.lastTimestamp?.getTime() ?? 0) - (b.lastTimestamp?.getTime() ?? 0))) {
      const first = since(e.firstTimestamp, nowMs);
      const interval = (e.count ?? 1) > 1 ? `${since(e.lastTimestamp, nowMs)} (x${e.count} over ${first})` : first;
      const source = e.source?.component || e.reportingComponent || '';
      this.line(1, `${e.type}\t${e.reason}\t${interval}\t${source}\t${(e.message ?? '').trim()}`);
    }
  }
  toString(): string {
    return this.w.toString();
  }
}

function q(raw: string | undefined): Quantity {
  return parseQuantity(raw ?? '0');
}

function sortedKeys(m: Record<string, string> | undefined): string[] {
  return Object.keys(m ?? {}).sort();
}

/** resourcehelper.PodRequestsAndLimits: containers summed, init containers as a max (sidecars added). */
function podRequestsAndLimits(pod: V1Pod): { req: Map<string, Quantity>; lim: Map<string, Quantity> } {
  const sum = (field: 'requests' | 'limits'): Map<string, Quantity> => {
    const acc = new Map<string, Quantity>();
    const add = (m: Map<string, Quantity>, c: V1Container): void => {
      for (const [k, v] of Object.entries(c.resources?.[field] ?? {})) {
        const x = parseQuantity(String(v));
        m.set(k, m.has(k) ? addQuantities(m.get(k)!, x) : x);
      }
    };
    for (const c of pod.spec?.containers ?? []) add(acc, c);
    const sidecars = new Map<string, Quantity>();
    for (const c of pod.spec?.initContainers ?? []) {
      const own = new Map<string, Quantity>();
      add(own, c);
      if (c.restartPolicy === 'Always') {
        for (const [k, v] of own) {
          acc.set(k, acc.has(k) ? addQuantities(acc.get(k)!, v) : v);
          sidecars.set(k, sidecars.has(k) ? addQuantities(sidecars.get(k)!, v) : v);
        }
      } else {
        for (const [k, v] of own) {
          const withSidecars = sidecars.has(k) ? addQuantities(v, sidecars.get(k)!) : v;
          if (!acc.has(k) || withSidecars.nano > acc.get(k)!.nano) acc.set(k, withSidecars);
        }
      }
    }
    return acc;
  };
  return { req: sum('requests'), lim: sum('limits') };
}

function percent(part: Quantity | undefined, whole: Quantity | undefined, milli: boolean): number {
  const w = whole ? (milli ? quantityMilliValue(whole) : quantityValue(whole)) : 0;
  if (!w) return 0;
  const p = part ? (milli ? quantityMilliValue(part) : quantityValue(part)) : 0;
  return Math.trunc((p / w) * 100);
}

const qs = (x: Quantity | undefined): string => (x ? formatQuantity(x) : '0');

/** `kubectl describe node`: `pods` are those bound to the node (spec.nodeName). */
export function describeNode(node: V1Node, ctx: DescribeContext & { pods: V1Pod[] }): string {
  const name = node.metadata!.name!;
  const nowMs = ctx.nowMs;
  const d = new Describer();
  d.line(0, `Name:\t${name}`);
  d.line(0, `Roles:\t${nodeRoles(node)}`);
  d.multiline('Labels', node.metadata?.labels);
  d.multiline('Annotations', node.metadata?.annotations);
  d.line(0, `CreationTimestamp:\t${node.metadata?.creationTimestamp ? rfc1123z(node.metadata.creationTimestamp) : ''}`);
  const taints = node.spec?.taints ?? [];
  if (taints.length === 0) d.line(0, 'Taints:\t<none>');
  taints.forEach((t, i) => {
    const text = `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
    if (i === 0) d.line(0, `Taints:\t${text}`);
    else d.w.write(`\t${text}\n`);
  });
  d.line(0, `Unschedulable:\t${node.spec?.unschedulable ? 'true' : 'false'}`);
  const conds = node.status?.conditions ?? [];
  if (conds.length) {
    d.line(0, 'Conditions:');
    d.line(1, 'Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage');
    d.line(1, '----\t------\t-----------------\t------------------\t------\t-------');
    for (const c of conds) {
      const hb = c.lastHeartbeatTime ? rfc1123z(c.lastHeartbeatTime) : '';
      const tr = c.lastTransitionTime ? rfc1123z(c.lastTransitionTime) : '';
      d.line(1, `${c.type} \t${c.status} \t${hb} \t${tr} \t${c.reason ?? ''} \t${c.message ?? ''}`);
    }
  }
  d.line(0, 'Addresses:');
  for (const a of node.status?.addresses ?? []) d.line(1, `${a.type}:\t${a.address}`);
  const printList = (title: string, list: Record<string, string> | undefined): void => {
    if (!list || Object.keys(list).length === 0) return;
    d.line(0, `${title}:`);
    for (const k of sortedKeys(list)) d.line(1, `${k}:\t${formatQuantity(q(list[k]))}`);
  };
  printList('Capacity', node.status?.capacity);
  printList('Allocatable', node.status?.allocatable);
  const info = node.status?.nodeInfo;
  d.line(0, 'System Info:');
  d.line(1, `Machine ID:\t${info?.machineID ?? ''}`);
  d.line(1, `System UUID:\t${info?.systemUUID ?? ''}`);
  d.line(1, `Boot ID:\t${info?.bootID ?? ''}`);
  d.line(1, `Kernel Version:\t${info?.kernelVersion ?? ''}`);
  d.line(1, `OS Image:\t${info?.osImage ?? ''}`);
  d.line(1, `Operating System:\t${info?.operatingSystem ?? ''}`);
  d.line(1, `Architecture:\t${info?.architecture ?? ''}`);
  d.line(1, `Container Runtime Version:\t${info?.containerRuntimeVersion ?? ''}`);
  d.line(1, `Kubelet Version:\t${info?.kubeletVersion ?? ''}`);
  d.line(1, `Kube-Proxy Version:\t${info?.kubeProxyVersion ?? ''}`);
  if (node.spec?.podCIDR) d.line(0, `PodCIDR:\t${node.spec.podCIDR}`);

  // describeNodeResource
  const pods = ctx.pods.filter((p) => p.spec?.nodeName === name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const allocatable = node.status?.allocatable && Object.keys(node.status.allocatable).length ? node.status.allocatable : (node.status?.capacity ?? {});
  const allocCpu = allocatable.cpu !== undefined ? q(allocatable.cpu) : undefined;
  const allocMem = allocatable.memory !== undefined ? q(allocatable.memory) : undefined;
  d.line(0, `Non-terminated Pods:\t(${pods.length} in total)`);
  d.line(1, 'Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge');
  d.line(1, '---------\t----\t\t------------\t----------\t---------------\t-------------\t---');
  const totalReq = new Map<string, Quantity>();
  const totalLim = new Map<string, Quantity>();
  for (const p of pods) {
    const { req, lim } = podRequestsAndLimits(p);
    for (const [m, total] of [
      [req, totalReq],
      [lim, totalLim],
    ] as const) {
      for (const [k, v] of m) total.set(k, total.has(k) ? addQuantities(total.get(k)!, v) : v);
    }
    d.line(
      1,
      `${p.metadata?.namespace}\t${p.metadata?.name}\t\t${qs(req.get('cpu'))} (${percent(req.get('cpu'), allocCpu, true)}%)\t${qs(lim.get('cpu'))} (${percent(lim.get('cpu'), allocCpu, true)}%)\t${qs(req.get('memory'))} (${percent(req.get('memory'), allocMem, false)}%)\t${qs(lim.get('memory'))} (${percent(lim.get('memory'), allocMem, false)}%)\t${since(p.metadata?.creationTimestamp, nowMs)}`,
    );
  }
  d.line(0, 'Allocated resources:');
  d.line(1, '(Total limits may be over 100 percent, i.e., overcommitted.)');
  d.line(1, 'Resource\tRequests\tLimits');
  d.line(1, '--------\t--------\t------');
  const allocStorage = allocatable['ephemeral-storage'] !== undefined ? q(allocatable['ephemeral-storage']) : undefined;
  for (const [r, whole, milli] of [
    ['cpu', allocCpu, true],
    ['memory', allocMem, false],
    ['ephemeral-storage', allocStorage, false],
  ] as const) {
    d.line(1, `${r}\t${qs(totalReq.get(r))} (${percent(totalReq.get(r), whole, milli)}%)\t${qs(totalLim.get(r))} (${percent(totalLim.get(r), whole, milli)}%)`);
  }
  const keys = Object.keys(allocatable).sort();
  for (const r of keys.filter(isHugePageResourceName)) {
    const whole = q(allocatable[r]);
    d.line(1, `${r}\t${qs(totalReq.get(r))} (${percent(totalReq.get(r), whole, false)}%)\t${qs(totalLim.get(r))} (${percent(totalLim.get(r), whole, false)}%)`);
  }
  for (const r of keys.filter((k) => !isHugePageResourceName(k) && !['cpu', 'memory', 'ephemeral-storage', 'pods'].includes(k))) {
    d.line(1, `${r}\t${qs(totalReq.get(r))}\t${qs(totalLim.get(r))}`);
  }
  d.events(ctx.events, nowMs);
  return d.toString();
}

function describeContainers(d: Describer, title: string, containers: V1Container[], pod: V1Pod, init: boolean): void {
  if (containers.length === 0) return;
  d.line(0, `${title}:`);
  const statuses = init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
  for (const c of containers) {
    const st = statuses?.find((s) => s.name === c.name);
    d.line(1, `${c.name}:`);
    if (st?.containerID) d.line(2, `Container ID:\t${st.containerID}`);
    d.line(2, `Image:\t${c.image ?? ''}`);
    if (st) d.line(2, `Image ID:\t${st.imageID ?? ''}`);
    d.line(2, `Port:\t<none>`);
    d.line(2, `Host Port:\t<none>`);
    if (st?.state?.running) {
      d.line(2, `State:\tRunning`);
      if (st.state.running.startedAt) d.line(3, `Started:\t${rfc1123z(st.state.running.startedAt)}`);
    } else if (st?.state?.terminated) {
      const t = st.state.terminated;
      d.line(2, `State:\tTerminated`);
      d.line(3, `Reason:\t${t.reason ?? ''}`);
      d.line(3, `Exit Code:\t${t.exitCode}`);
      if (t.startedAt) d.line(3, `Started:\t${rfc1123z(t.startedAt)}`);
      if (t.finishedAt) d.line(3, `Finished:\t${rfc1123z(t.finishedAt)}`);
    } else if (st?.state?.waiting) {
      d.line(2, `State:\tWaiting`);
      d.line(3, `Reason:\t${st.state.waiting.reason ?? ''}`);
    }
    if (st) {
      d.line(2, `Ready:\t${st.ready ? 'True' : 'False'}`);
      d.line(2, `Restart Count:\t${st.restartCount ?? 0}`);
    }
    for (const [title2, m] of [
      ['Limits', c.resources?.limits],
      ['Requests', c.resources?.requests],
    ] as const) {
      if (!m || Object.keys(m).length === 0) continue;
      d.line(2, `${title2}:`);
      for (const k of sortedKeys(m as Record<string, string>)) d.line(3, `${k}:\t${formatQuantity(q(String(m[k])))}`);
    }
    d.line(2, `Environment:\t<none>`);
    d.line(2, `Mounts:\t<none>`);
  }
}

/** `kubectl describe pod`. */
export function describePod(pod: V1Pod, ctx: DescribeContext): string {
  const name = pod.metadata!.name!;
  const nowMs = ctx.nowMs;
  const d = new Describer();
  d.line(0, `Name:\t${name}`);
  d.line(0, `Namespace:\t${pod.metadata?.namespace}`);
  d.line(0, `Priority:\t${pod.spec?.priority ?? 0}`);
  d.line(0, `Service Account:\t${pod.spec?.serviceAccountName ?? 'default'}`);
  const nodeName = pod.spec?.nodeName;
  d.line(0, `Node:\t${nodeName ? `${nodeName}/${pod.status?.hostIP ?? ''}` : '<none>'}`);
  if (pod.status?.startTime) d.line(0, `Start Time:\t${rfc1123z(pod.status.startTime)}`);
  d.multiline('Labels', pod.metadata?.labels);
  d.multiline('Annotations', pod.metadata?.annotations);
  if (pod.metadata?.deletionTimestamp) {
    d.line(0, `Status:\tTerminating (lasts ${since(pod.metadata.deletionTimestamp, nowMs)})`);
    d.line(0, `Termination Grace Period:\t${pod.metadata.deletionGracePeriodSeconds ?? 30}s`);
  } else d.line(0, `Status:\t${pod.status?.phase ?? 'Pending'}`);
  if (pod.status?.reason) d.line(0, `Reason:\t${pod.status.reason}`);
  if (pod.status?.message) d.line(0, `Message:\t${pod.status.message}`);
  d.line(0, `IP:\t${pod.status?.podIP ?? ''}`);
  const ips = pod.status?.podIPs ?? [];
  if (ips.length === 0) d.line(0, 'IPs:\t<none>');
  else {
    d.line(0, 'IPs:');
    for (const ip of ips) d.line(1, `IP:\t${ip.ip}`);
  }
  describeContainers(d, 'Init Containers', pod.spec?.initContainers ?? [], pod, true);
  describeContainers(d, 'Containers', pod.spec?.containers ?? [], pod, false);
  const conds = pod.status?.conditions ?? [];
  if (conds.length) {
    d.line(0, 'Conditions:');
    d.line(1, 'Type\tStatus');
    for (const c of conds) d.line(1, `${c.type} \t${c.status} `);
  }
  d.line(0, 'Volumes:\t<none>');
  d.line(0, `QoS Class:\t${pod.status?.qosClass ?? 'BestEffort'}`);
  const sel = pod.spec?.nodeSelector ?? {};
  d.line(0, `Node-Selectors:\t${Object.keys(sel).length ? sortedKeys(sel).map((k) => `${k}=${sel[k]}`).join('\n\t') : '<none>'}`);
  const tols = pod.spec?.tolerations ?? [];
  const tolText = (t: NonNullable<V1Pod['spec']>['tolerations'] extends (infer T)[] | undefined ? T : never): string => {
    let s = t.key ?? '';
    if (t.value) s += `=${t.value}`;
    if (t.effect) s += `:${t.effect}`;
    if (t.operator === 'Exists' && !t.value) s += ' op=Exists';
    if (t.tolerationSeconds !== undefined) s += ` for ${t.tolerationSeconds}s`;
    return s;
  };
  if (tols.length === 0) d.line(0, 'Tolerations:\t<none>');
  tols.forEach((t, i) => {
    if (i === 0) d.line(0, `Tolerations:\t${tolText(t)}`);
    else d.w.write(`\t${tolText(t)}\n`);
  });
  d.events(ctx.events, nowMs);
  return d.toString();
}
