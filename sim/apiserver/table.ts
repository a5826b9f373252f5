// Server-side printing: the meta.k8s.io Table a real apiserver sends when kubectl asks for `as=Table`, with the
// columns of its printers (pkg/printers/internalversion/printers.go; priority 1 = `-o wide` only). `sriov-lab get`
// prints these Tables as kubectl does (printTable in sim/cluster/kubectl.ts), so both show the same columns.
import type { CoreV1Event, V1ConfigMap, V1CustomResourceDefinition, V1DaemonSet, V1LabelSelector, V1Namespace, V1Node, V1Pod, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { nodeRow, podRow, rfc3339, since, toPlain } from '../cluster/kubectl.ts';
import type { AnyObject, Kind } from '../cluster/store.ts';
import type { PrinterColumn } from './resources.ts';

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

const NAME_DESC =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.";
const AGE_DESC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.';

const col = (name: string, description = '', priority = 0, format = ''): TableColumn => ({ name, type: 'string', format, description, priority });
const nameCol = col('Name', NAME_DESC, 0, 'name');
const ageCol = col('Age', AGE_DESC);

interface Printer {
  columns: TableColumn[];
  cells(o: AnyObject, nowMs: number): Array<string | number | boolean | null>;
}

const age = (o: AnyObject, nowMs: number): string => since(o.metadata?.creationTimestamp, nowMs);
const intCol = (name: string, description: string): TableColumn => ({ ...col(name, description), type: 'integer' });

/** labels.FormatLabels: `k=v` sorted by key, `<none>` when empty */
function formatLabels(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${m![k]}`).join(',') : '<none>';
}

/** metav1.LabelSelectorAsSelector(…).String(): requirements sorted by key */
function formatSelector(sel: V1LabelSelector | undefined): string {
  const reqs: Array<[string, string]> = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => [k, `${k}=${v}`]);
  for (const e of sel?.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    const text = e.operator === 'Exists' ? e.key : e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${e.operator.toLowerCase()} (${values})`;
    reqs.push([e.key, text]);
  }
  reqs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return reqs.length ? reqs.map((r) => r[1]).join(',') : '<none>';
}

const PRINTERS: Partial<Record<Kind, Printer>> = {
  Pod: {
    columns: [
      nameCol,
      col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      ageCol,
      col('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
      col('Node', 'NodeName indicates in which node this pod is scheduled.', 1),
      col('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', 1),
      col('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
    ],
    cells: (o, nowMs) => podRow(o as V1Pod, nowMs, true, false),
  },
  Node: {
    columns: [
      nameCol,
      col('Status', 'The status of the node'),
      col('Roles', 'The roles of the node'),
      ageCol,
      col('Version', 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
      col('External-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
      col('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
      col('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
      col('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
    ],
    cells: (o, nowMs) => nodeRow(o as V1Node, nowMs, true),
  },
  Namespace: {
    columns: [nameCol, col('Status', 'The status of the namespace'), ageCol],
    cells: (o, nowMs) => [o.metadata!.name!, (o as V1Namespace).status?.phase ?? '', age(o, nowMs)],
  },
  ConfigMap: {
    columns: [nameCol, col('Data', 'Data contains the configuration data.'), ageCol],
    cells: (o, nowMs) => {
      const cm = o as V1ConfigMap;
      return [o.metadata!.name!, Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(o, nowMs)];
    },
  },
  Secret: {
    columns: [nameCol, col('Type', 'Used to facilitate programmatic handling of secret data.'), col('Data', 'Data contains the secret data.'), ageCol],
    cells: (o, nowMs) => {
      const s = o as V1Secret;
      return [o.metadata!.name!, s.type ?? '', Object.keys(s.data ?? {}).length, age(o, nowMs)];
    },
  },
  ServiceAccount: {
    columns: [nameCol, col('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), ageCol],
    cells: (o, nowMs) => [o.metadata!.name!, (o as V1ServiceAccount).secrets?.length ?? 0, age(o, nowMs)],
  },
  Event: {
    columns: [
      col('Last Seen', 'The last time an event was observed'),
      col('Type', 'Type of this event (Normal, Warning), new types could be added in the future.'),
      col('Reason', 'This should be a short, machine understandable string that gives the reason for this event being generated.'),
      col('Object', 'The object this Event is about.'),
      col('Subobject', 'The subobject this Event is about.', 1),
      col('Source', 'The component reporting this event.', 1),
      col('Message', 'A human-readable description of the status of this operation.'),
      col('First Seen', 'The first time an event was observed', 1),
      col('Count', 'The number of times this event has occurred.', 1),
      col('Name', NAME_DESC, 1, 'name'),
    ],
    cells: (o, nowMs) => {
      const e = o as CoreV1Event;
      const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const first = e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const source = [e.source?.component, e.source?.host].filter(Boolean).join(', ');
      return [
        since(last, nowMs),
        e.type ?? '',
        e.reason ?? '',
        `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name ?? ''}`,
        e.involvedObject.fieldPath ?? '',
        source,
        (e.message ?? '').trim(),
        since(first, nowMs),
        e.count ?? 1,
        e.metadata.name ?? '',
      ];
    },
  },
  DaemonSet: {
    columns: [
      nameCol,
      intCol('Desired', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).'),
      intCol('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
      intCol('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'),
      intCol('Up-to-date', 'The total number of nodes that are running updated daemon pod'),
      intCol('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'),
      col('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
      ageCol,
      col('Containers', 'Names of each container in the template.', 1),
      col('Images', 'Images referenced by each container in the template.', 1),
      col('Selector', 'A label query over pods that are managed by the daemon set.', 1),
    ],
    cells: (o, nowMs) => {
      const ds = o as V1DaemonSet;
      const st = ds.status;
      const containers = ds.spec?.template?.spec?.containers ?? [];
      return [
        o.metadata!.name!,
        st?.desiredNumberScheduled ?? 0,
        st?.currentNumberScheduled ?? 0,
        st?.numberReady ?? 0,
        st?.updatedNumberScheduled ?? 0,
        st?.numberAvailable ?? 0,
        formatLabels(ds.spec?.template?.spec?.nodeSelector),
        age(o, nowMs),
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image ?? '').join(','),
        formatSelector(ds.spec?.selector),
      ];
    },
  },
  CustomResourceDefinition: {
    columns: [nameCol, col('Created At', AGE_DESC, 0, 'date')],
    cells: (o) => [o.metadata!.name!, (o as V1CustomResourceDefinition).metadata?.creationTimestamp ? rfc3339((o as V1CustomResourceDefinition).metadata!.creationTimestamp!) : ''],
  },
};

/** A custom resource without additionalPrinterColumns, and any kind without a printer: NAME and AGE. */
const DEFAULT_PRINTER: Printer = { columns: [nameCol, ageCol], cells: (o, nowMs) => [o.metadata!.name!, age(o, nowMs)] };

function rowObject(o: AnyObject, include: IncludeObject, tableVersion: string): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return toPlain(o);
  return { kind: 'PartialObjectMetadata', apiVersion: tableVersion, metadata: toPlain(o.metadata) };
}

/** `.spec.replicas`, `.status.conditions[0].type`: the simple JSONPath of additionalPrinterColumns. */
function valueAt(o: unknown, jsonPath: string): unknown {
  let cur: unknown = o;
  for (const m of jsonPath.matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = m[1] !== undefined ? (cur as Record<string, unknown>)[m[1]] : (cur as unknown[])[Number(m[2])];
  }
  return cur;
}

/** A CRD's additionalPrinterColumns after NAME (the apiextensions table convertor); dates print as an age. */
function customPrinter(columns: PrinterColumn[]): Printer {
  return {
    columns: [nameCol, ...columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority }))],
    cells: (o, nowMs) => {
      const plain = toPlain(o);
      return [
        o.metadata!.name!,
        ...columns.map((c) => {
          const v = valueAt(plain, c.jsonPath);
          if (v === undefined || v === null) return null;
          if (c.type === 'date' && typeof v === 'string') return since(new Date(v), nowMs);
          if (typeof v === 'object') return JSON.stringify(v);
          return v as string | number | boolean;
        }),
      ];
    },
  };
}

/** A Table of objects of one kind (a custom resource's with its CRD's printer columns). */
export function toTable(
  kind: Kind,
  objs: AnyObject[],
  opts: { nowMs: number; resourceVersion?: string; continueToken?: string; include: IncludeObject; apiVersion: string; noHeaders?: boolean; columns?: PrinterColumn[] },
): unknown {
  const p = opts.columns?.length ? customPrinter(opts.columns) : (PRINTERS[kind] ?? DEFAULT_PRINTER);
  return {
    kind: 'Table',
    apiVersion: opts.apiVersion,
    metadata: { ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}), ...(opts.continueToken ? { continue: opts.continueToken } : {}) },
    ...(opts.noHeaders ? {} : { columnDefinitions: p.columns }),
    rows: objs.map((o) => {
      const object = rowObject(o, opts.include, opts.apiVersion);
      return { cells: p.cells(o, opts.nowMs), ...(object ? { object } : {}) };
    }),
  };
}
