// An in-memory object store of Kubernetes-shaped objects with watches, like a tiny apiserver + etcd:
// objects keyed by kind/namespace/name, a cluster-wide resourceVersion counter, uid and creationTimestamp assigned on
// create (from an injectable clock and the run's seed), add/modify/delete watch callbacks.
//
// Objects handed out are the stored ones, shared: treat them as read-only and write through update()/modify().
import type {
  CoreV1Event,
  V1ConfigMap,
  V1CustomResourceDefinition,
  V1DaemonSet,
  V1Namespace,
  V1Node,
  V1ObjectMeta,
  V1Pod,
  V1Secret,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { createRng, type Rng } from '../scheduler/prng.ts';

/** `k8s.cni.cncf.io/v1` NetworkAttachmentDefinition (a CRD: no generated model in client-node). */
export interface NetworkAttachmentDefinition {
  apiVersion: 'k8s.cni.cncf.io/v1';
  kind: 'NetworkAttachmentDefinition';
  metadata: V1ObjectMeta;
  spec?: { config?: string };
}

export interface KindMap {
  Pod: V1Pod;
  Node: V1Node;
  Event: CoreV1Event;
  NetworkAttachmentDefinition: NetworkAttachmentDefinition;
  Namespace: V1Namespace;
  ConfigMap: V1ConfigMap;
  Secret: V1Secret;
  ServiceAccount: V1ServiceAccount;
  CustomResourceDefinition: V1CustomResourceDefinition;
  DaemonSet: V1DaemonSet;
}
export type Kind = keyof KindMap;
export type AnyObject = KindMap[Kind];

export const CLUSTER_SCOPED: ReadonlySet<Kind> = new Set<Kind>(['Node', 'Namespace', 'CustomResourceDefinition']);

export interface StoreClock {
  /** milliseconds since the epoch */
  now(): number;
}

export interface WatchHandlers<T> {
  added?(obj: T): void;
  modified?(obj: T, old: T): void;
  deleted?(obj: T): void;
}

export type StoreErrorReason = 'AlreadyExists' | 'NotFound' | 'Conflict' | 'Invalid';

/** An apiserver-style status error; messages are the apiserver's (`pods "x" not found`). */
export class StoreError extends Error {
  readonly reason: StoreErrorReason;
  readonly kind: Kind;
  readonly namespace: string;
  readonly objectName: string;
  constructor(reason: StoreErrorReason, kind: Kind, namespace: string, name: string, message: string) {
    super(message);
    this.name = 'StoreError';
    this.reason = reason;
    this.kind = kind;
    this.namespace = namespace;
    this.objectName = name;
  }
}

/** Lower-case plural resource names, as apiserver messages use them. */
export const RESOURCE_OF: Record<Kind, string> = {
  Pod: 'pods',
  Node: 'nodes',
  Event: 'events',
  NetworkAttachmentDefinition: 'network-attachment-definitions.k8s.cni.cncf.io',
  Namespace: 'namespaces',
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  ServiceAccount: 'serviceaccounts',
  CustomResourceDefinition: 'customresourcedefinitions.apiextensions.k8s.io',
  DaemonSet: 'daemonsets.apps',
};

/** Every kind the store holds. */
export const KINDS = Object.keys(RESOURCE_OF) as Kind[];

export interface ObjectStoreOptions {
  clock?: StoreClock;
  /** uids derive from it, so a run's objects are the same every time */
  seed?: number | string;
}

const HEX_CODES = [...'0123456789abcdef'].map((c) => c.charCodeAt(0));
const VARIANT_CODES = [...'89ab'].map((c) => c.charCodeAt(0));
/** scratch for newUid: the uid's character codes, turned into one string (not one string per digit) */
const UID_CODES: number[] = new Array<number>(36).fill(0);

/** n hex digits from the stream, one draw each (the same draws and digits as intn(16).toString(16)) */
export function hexDigits(rng: Rng, n: number): string {
  const codes = new Array<number>(n);
  for (let i = 0; i < n; i++) codes[i] = HEX_CODES[rng.intn(16)];
  return String.fromCharCode.apply(null, codes);
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class ObjectStore {
  readonly clock: StoreClock;
  private readonly objects = new Map<Kind, Map<string, AnyObject>>();
  private readonly watchers = new Map<Kind, Set<WatchHandlers<AnyObject>>>();
  /** kinds beyond the built-in ones (custom resources): their resource name for messages, their scope */
  private readonly custom = new Map<Kind, { resource: string; clusterScoped: boolean }>();
  private rv = 0;
  private readonly uidRng: Rng;
  private change?: { promise: Promise<void>; resolve: () => void };

  constructor(opts: ObjectStoreOptions = {}) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.uidRng = createRng(`uid:${opts.seed ?? 0}`);
  }

  private bucket(kind: Kind): Map<string, AnyObject> {
    let b = this.objects.get(kind);
    if (!b) this.objects.set(kind, (b = new Map()));
    return b;
  }

  /** Makes a kind of custom resource known: its objects are cluster-scoped or not, messages name its resource. */
  defineKind(kind: Kind, o: { resource: string; clusterScoped: boolean }): void {
    if (!(kind in RESOURCE_OF)) this.custom.set(kind, o);
  }

  /** the kinds made known by defineKind */
  customKinds(): Kind[] {
    return [...this.custom.keys()];
  }

  private clusterScoped(kind: Kind): boolean {
    return CLUSTER_SCOPED.has(kind) || this.custom.get(kind)?.clusterScoped === true;
  }

  private resourceOf(kind: Kind): string {
    return RESOURCE_OF[kind] ?? this.custom.get(kind)?.resource ?? kind;
  }

  /** The latest resourceVersion handed out. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** A v4-shaped uid from the seeded stream. */
  newUid(): string {
    // 8-4-4-4-12 hex digits; the third group starts with the version 4, the fourth with the variant (8, 9, a or b)
    const r = this.uidRng;
    const c = UID_CODES;
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) c[i] = 0x2d; // '-'
      else if (i === 14) c[i] = 0x34; // '4'
      else if (i === 19) c[i] = VARIANT_CODES[r.intn(4)];
      else c[i] = HEX_CODES[r.intn(16)];
    }
    return String.fromCharCode.apply(null, c);
  }

  private ns(kind: Kind, obj: { metadata?: V1ObjectMeta }): string {
    return this.clusterScoped(kind) ? '' : obj.metadata?.namespace || 'default';
  }

  get<K extends Kind>(kind: K, namespace: string, name: string): KindMap[K] | undefined {
    return this.bucket(kind).get(keyOf(this.clusterScoped(kind) ? '' : namespace, name)) as KindMap[K] | undefined;
  }

  /** Like get, but a missing object is a NotFound error with the apiserver's message. */
  mustGet<K extends Kind>(kind: K, namespace: string, name: string): KindMap[K] {
    const o = this.get(kind, namespace, name);
    if (!o) throw new StoreError('NotFound', kind, namespace, name, `${this.resourceOf(kind)} ${JSON.stringify(name)} not found`);
    return o;
  }

  /** Objects of a kind (optionally one namespace), ordered by namespace then name like `kubectl get`. */
  list<K extends Kind>(kind: K, namespace?: string): KindMap[K][] {
    const out: KindMap[K][] = [];
    for (const o of this.bucket(kind).values()) {
      if (namespace === undefined || this.clusterScoped(kind) || o.metadata?.namespace === namespace) out.push(o as KindMap[K]);
    }
    return out.sort((a, b) => {
      const ka = keyOf(a.metadata?.namespace ?? '', a.metadata?.name ?? '');
      const kb = keyOf(b.metadata?.namespace ?? '', b.metadata?.name ?? '');
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }

  count(kind: Kind): number {
    return this.bucket(kind).size;
  }

  /** Stores a new object: sets namespace, uid, resourceVersion and creationTimestamp. Returns the stored object. */
  create<K extends Kind>(kind: K, obj: KindMap[K]): KindMap[K] {
    const name = obj.metadata?.name;
    if (!name) throw new StoreError('Invalid', kind, '', '', `${kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    const namespace = this.ns(kind, obj);
    const b = this.bucket(kind);
    const k = keyOf(namespace, name);
    if (b.has(k)) throw new StoreError('AlreadyExists', kind, namespace, name, `${this.resourceOf(kind)} ${JSON.stringify(name)} already exists`);
    const stored = {
      ...obj,
      metadata: {
        ...obj.metadata,
        ...(namespace ? { namespace } : {}),
        uid: obj.metadata?.uid ?? this.newUid(),
        resourceVersion: String(++this.rv),
        creationTimestamp: new Date(this.clock.now()),
      },
    } as KindMap[K];
    if (!namespace) delete stored.metadata!.namespace;
    b.set(k, stored);
    this.emit(kind, 'added', stored);
    return stored;
  }

  /**
   * Replaces a stored object. If `obj.metadata.resourceVersion` is set it must match (optimistic concurrency, like a
   * PUT); uid and creationTimestamp are kept from the stored object.
   */
  update<K extends Kind>(kind: K, obj: KindMap[K]): KindMap[K] {
    return this.replace(kind, obj, false);
  }

  /** update(); `owned`: obj is a draft of modify()'s, nobody else's, so it is stored as it is (its metadata copied). */
  private replace<K extends Kind>(kind: K, obj: KindMap[K], owned: boolean): KindMap[K] {
    const name = obj.metadata?.name ?? '';
    const namespace = this.ns(kind, obj);
    const b = this.bucket(kind);
    const k = keyOf(namespace, name);
    const old = b.get(k) as KindMap[K] | undefined;
    if (!old) throw new StoreError('NotFound', kind, namespace, name, `${this.resourceOf(kind)} ${JSON.stringify(name)} not found`);
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && rv !== old.metadata?.resourceVersion) {
      throw new StoreError(
        'Conflict',
        kind,
        namespace,
        name,
        `Operation cannot be fulfilled on ${this.resourceOf(kind)} ${JSON.stringify(name)}: the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const metadata = {
      ...obj.metadata,
      uid: old.metadata?.uid,
      creationTimestamp: old.metadata?.creationTimestamp,
      resourceVersion: String(++this.rv),
    };
    let stored: KindMap[K];
    if (owned) {
      stored = obj;
      stored.metadata = metadata;
    } else stored = { ...obj, metadata } as KindMap[K];
    b.set(k, stored);
    this.emit(kind, 'modified', stored, old);
    return stored;
  }

  /** Read-modify-write: `fn` gets a copy of the stored object (top level and metadata/spec/status copied) to change. */
  modify<K extends Kind>(kind: K, namespace: string, name: string, fn: (draft: KindMap[K]) => void): KindMap[K] {
    const cur = this.mustGet(kind, namespace, name);
    const draft = shallowCopy(cur);
    fn(draft);
    // the draft's resourceVersion is the one read, whatever fn left there: the key keeps its place, as in a PUT of it
    if (draft.metadata?.resourceVersion !== cur.metadata?.resourceVersion) draft.metadata = { ...draft.metadata, resourceVersion: cur.metadata?.resourceVersion };
    return this.replace(kind, draft, true);
  }

  delete<K extends Kind>(kind: K, namespace: string, name: string): KindMap[K] {
    const ns = this.clusterScoped(kind) ? '' : namespace;
    const b = this.bucket(kind);
    const k = keyOf(ns, name);
    const old = b.get(k) as KindMap[K] | undefined;
    if (!old) throw new StoreError('NotFound', kind, ns, name, `${this.resourceOf(kind)} ${JSON.stringify(name)} not found`);
    b.delete(k);
    ++this.rv;
    this.emit(kind, 'deleted', old);
    return old;
  }

  /** Calls the handlers for every later change of a kind; with `replay`, first `added` for every existing object. */
  watch<K extends Kind>(kind: K, handlers: WatchHandlers<KindMap[K]>, opts: { replay?: boolean } = {}): () => void {
    let set = this.watchers.get(kind);
    if (!set) this.watchers.set(kind, (set = new Set()));
    const h = handlers as WatchHandlers<AnyObject>;
    set.add(h);
    if (opts.replay) for (const o of this.list(kind)) h.added?.(o);
    return () => {
      set!.delete(h);
    };
  }

  /** Resolves at the next add, modify or delete of any object after the call. */
  nextChange(): Promise<void> {
    if (!this.change) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.change = { promise, resolve };
    }
    return this.change.promise;
  }

  private emit(kind: Kind, type: 'added' | 'modified' | 'deleted', obj: AnyObject, old?: AnyObject): void {
    if (this.change) {
      this.change.resolve();
      this.change = undefined;
    }
    const set = this.watchers.get(kind);
    if (!set) return;
    for (const h of [...set]) {
      if (type === 'added') h.added?.(obj);
      else if (type === 'modified') h.modified?.(obj, old!);
      else h.deleted?.(obj);
    }
  }
}

function shallowCopy<T>(obj: T): T {
  const o = { ...(obj as Record<string, unknown>) };
  for (const f of ['metadata', 'spec', 'status']) {
    const v = o[f];
    if (v && typeof v === 'object') o[f] = { ...(v as Record<string, unknown>) };
  }
  return o as T;
}
