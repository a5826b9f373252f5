// Watches: every change of the store, numbered by the resourceVersion it made, kept in a bounded history (the watch
// cache), so a watch from resourceVersion N replays what came after N, and one older than the history gets 410 Gone
// ("too old resource version"), as from the apiserver. A selector is applied to the object before and after a change:
// an object that starts to match arrives as ADDED, one that stops matching as DELETED.
import { KINDS, type AnyObject, type Kind, type ObjectStore } from '../cluster/store.ts';
import type { Matcher } from './selectors.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Change {
  rv: number;
  kind: Kind;
  type: WatchEventType;
  obj: AnyObject;
  old?: AnyObject;
}

export interface WatchSpec {
  kind: Kind;
  namespace?: string;
  match: Matcher;
  send(type: WatchEventType, obj: AnyObject): void;
}

export class TooOldResourceVersionError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`too old resource version: ${requested} (${oldest})`);
    this.name = 'TooOldResourceVersionError';
  }
}

export class WatchHub {
  private readonly history: Change[] = [];
  private readonly watchers = new Set<WatchSpec>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly tracked = new Set<Kind>();
  /** the resourceVersion before the oldest change kept */
  private horizon: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly capacity = 10_000,
  ) {
    this.horizon = Number(store.resourceVersion);
    for (const kind of KINDS) this.track(kind);
  }

  /** Records the changes of a kind from now on (every built-in kind is; a custom resource's from its CRD on). */
  track(kind: Kind): void {
    if (this.tracked.has(kind)) return;
    this.tracked.add(kind);
    const store = this.store;
    this.unsubscribe.push(
      store.watch(kind, {
        added: (obj) => this.record({ rv: Number(store.resourceVersion), kind, type: 'ADDED', obj }),
        modified: (obj, old) => this.record({ rv: Number(store.resourceVersion), kind, type: 'MODIFIED', obj, old }),
        // the store counts a delete as a change: the DELETED object carries that resourceVersion
        deleted: (obj) => {
          const rv = store.resourceVersion;
          this.record({ rv: Number(rv), kind, type: 'DELETED', obj: { ...obj, metadata: { ...obj.metadata, resourceVersion: rv } } as AnyObject });
        },
      }),
    );
  }

  private record(c: Change): void {
    this.history.push(c);
    if (this.history.length > this.capacity) this.horizon = this.history.splice(0, this.history.length - this.capacity).at(-1)!.rv;
    for (const w of [...this.watchers]) if (w.kind === c.kind) deliver(w, c);
  }

  /**
   * Starts a watch. Without a resourceVersion (or "0") it begins with ADDED for every matching object; from N it
   * replays the changes after N. Returns the stop function.
   */
  watch(spec: WatchSpec, resourceVersion: string | undefined): () => void {
    const rv = resourceVersion ? Number(resourceVersion) : 0;
    if (!Number.isInteger(rv) || rv < 0) throw new Error(`invalid resource version "${resourceVersion}"`);
    if (rv === 0) {
      for (const o of this.store.list(spec.kind, spec.namespace)) if (spec.match(o)) spec.send('ADDED', o);
    } else {
      if (rv < this.horizon) throw new TooOldResourceVersionError(rv, this.horizon + 1);
      for (const c of this.history) if (c.rv > rv && c.kind === spec.kind) deliver(spec, c);
    }
    this.watchers.add(spec);
    return () => this.watchers.delete(spec);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    this.watchers.clear();
  }
}

function inNamespace(w: WatchSpec, o: AnyObject): boolean {
  return w.namespace === undefined || (o.metadata?.namespace ?? '') === w.namespace;
}

function deliver(w: WatchSpec, c: Change): void {
  const now = inNamespace(w, c.obj) && w.match(c.obj);
  if (c.type !== 'MODIFIED') {
    if (now) w.send(c.type, c.obj);
    return;
  }
  const before = !!c.old && inNamespace(w, c.old) && w.match(c.old);
  if (now && before) w.send('MODIFIED', c.obj);
  else if (now) w.send('ADDED', c.obj);
  else if (before) w.send('DELETED', c.obj);
}
