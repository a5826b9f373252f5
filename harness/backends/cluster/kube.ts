// What the `cluster` backend asks of a Kubernetes API, through @kubernetes/client-node: a kubeconfig, objects applied
// and deleted by their apiVersion/kind (discovery finds the resource), the objects assertions look at kept current by
// list+watch informers, exec over the exec WebSocket (a command's result, or a long-lived stdin/stdout session), and
// container logs.
import { PassThrough, Readable, Writable } from 'node:stream';
import {
  ApiException,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
  Log,
  makeInformer,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1Status,
} from '@kubernetes/client-node';
import type { ExecResult, KubeObject } from '../../backend.ts';
import type { RpcStream } from '../../node/node-rpc.ts';

export type Kind = 'Pod' | 'Node' | 'NetworkAttachmentDefinition' | 'Event';

/** the resources assertions and events read, with their API paths */
const WATCHED: Record<Kind, { apiVersion: string; path: string }> = {
  Pod: { apiVersion: 'v1', path: '/api/v1/pods' },
  Node: { apiVersion: 'v1', path: '/api/v1/nodes' },
  Event: { apiVersion: 'v1', path: '/api/v1/events' },
  NetworkAttachmentDefinition: { apiVersion: 'k8s.cni.cncf.io/v1', path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions' },
};

export const apiVersionOf = (kind: Kind): string => WATCHED[kind].apiVersion;

/** The kubeconfig: the file given, else $KUBECONFIG, else ~/.kube/config; an unusable one says which and why. */
export function loadKubeConfig(file?: string): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  const source = file ?? process.env.KUBECONFIG;
  try {
    if (source) kc.loadFromFile(source);
    else kc.loadFromDefault();
  } catch (e) {
    throw new Error(`kubeconfig ${source ?? '(default)'}: ${(e as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${source ?? '~/.kube/config'}: no current cluster (give --kubeconfig FILE or set KUBECONFIG)`);
  return { kc, source: source ?? '~/.kube/config' };
}

/** An API error as the API server said it (its Status message), prefixed with what was done. */
export function apiError(what: string, e: unknown): Error {
  if (e instanceof ApiException) {
    let message = String(e.body);
    try {
      const s = JSON.parse(String(e.body)) as { message?: string };
      if (s.message) message = s.message;
    } catch {
      // not a Status: the body as it came
    }
    return Object.assign(new Error(`${what}: ${message}`), { code: e.code });
  }
  return new Error(`${what}: ${(e as Error).message}`);
}

export const apiCode = (e: unknown): number | undefined => (e instanceof ApiException ? e.code : (e as { code?: number }).code);

/** client-node's typed objects (Date fields) as the JSON the API server sent */
export const plain = (o: unknown): KubeObject => JSON.parse(JSON.stringify(o)) as KubeObject;

/** One informer per watched kind, started together; `changed` fires on every add, update and delete. */
export class ObjectCaches {
  private readonly informers = new Map<Kind, Informer<KubernetesObject> & ObjectCache<KubernetesObject>>();
  private readonly listeners = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly objects: KubernetesObjectApi,
    private readonly log: (line: string) => void,
  ) {}

  /** lists and watches each kind; a kind the cluster does not serve (no NAD CRD: no Multus) stays empty, said once */
  async start(): Promise<void> {
    await Promise.all(
      (Object.keys(WATCHED) as Kind[]).map(async (kind) => {
        const { apiVersion, path } = WATCHED[kind];
        const inf = makeInformer<KubernetesObject>(this.kc, path, () => this.objects.list(apiVersion, kind));
        for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, () => this.fire());
        inf.on('error', (e: unknown) => {
          if (this.stopped) return;
          this.log(`watch of ${path} ended (${(e as Error)?.message ?? String(e)}); watching again`);
          setTimeout(() => void (this.stopped ? undefined : inf.start().catch(() => undefined)), 500).unref();
        });
        try {
          await inf.start();
          this.informers.set(kind, inf);
        } catch (e) {
          if (kind === 'NetworkAttachmentDefinition' && [404, undefined].includes(apiCode(e))) {
            this.log(`the cluster serves no ${apiVersion} network-attachment-definitions (no Multus CRD): NADs cannot be asserted`);
            return;
          }
          throw apiError(`list ${path}`, e);
        }
      }),
    );
  }

  private fire(): void {
    for (const l of [...this.listeners]) l();
  }

  get(kind: Kind, name: string, namespace?: string): KubeObject | undefined {
    const o = this.informers.get(kind)?.get(name, kind === 'Node' ? undefined : namespace);
    return o ? plain(o) : undefined;
  }

  list(kind: Kind, namespace?: string): KubeObject[] {
    return (this.informers.get(kind)?.list(namespace) ?? []).map(plain);
  }

  /** resolves at the next add, update or delete the watches see */
  nextChange(): Promise<void> {
    return new Promise((resolve) => {
      const once = () => {
        this.listeners.delete(once);
        resolve();
      };
      this.listeners.add(once);
    });
  }

  /** resolves once `cond` holds (checked now and on every change), or rejects after timeoutMs with `what` */
  until<T>(what: string, cond: () => T | undefined | false, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (f: () => void) => {
        this.listeners.delete(check);
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        f();
      };
      const check = () => {
        const v = cond();
        if (v) done(() => resolve(v));
      };
      const aborted = () => done(() => reject(new Error(`interrupted while waiting for ${what}`)));
      timer = setTimeout(() => done(() => reject(new Error(`${what}: not reached within ${timeoutMs} ms`))), timeoutMs);
      signal?.addEventListener('abort', aborted, { once: true });
      this.listeners.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listeners.clear();
    await Promise.all([...this.informers.values()].map((i) => i.stop().catch(() => undefined)));
  }
}

/** V1Status of an exec → its exit code (0 on Success, the ExitCode cause on NonZeroExitCode, 1 otherwise) */
function exitCodeOf(s: V1Status): number {
  if (s.status === 'Success') return 0;
  const c = s.details?.causes?.find((x) => x.reason === 'ExitCode');
  return c?.message !== undefined && /^\d+$/.test(c.message) ? Number(c.message) : 1;
}

/** A command in a pod's container, to its end: exit code, stdout, stderr (exitCode null when it timed out). */
export async function podExec(kc: KubeConfig, target: { namespace: string; pod: string; container: string }, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  let status: V1Status | undefined;
  const ws = await new Exec(kc).exec(
    target.namespace,
    target.pod,
    target.container,
    argv,
    sink((s) => (stdout += s)),
    sink((s) => (stderr += s)),
    opts.input !== undefined ? Readable.from([opts.input]) : null,
    false,
    (s) => (status = s),
  ).catch((e: unknown) => {
    throw apiError(`exec in pod ${target.namespace}/${target.pod}`, e);
  });
  const timedOut = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      ws.close();
      resolve(true);
    }, opts.timeoutMs ?? 120_000);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  const exitCode = timedOut || !status ? null : exitCodeOf(status);
  if (!timedOut && status && status.status !== 'Success' && status.reason !== 'NonZeroExitCode') stderr += status.message ?? '';
  return { exitCode, stdout, stderr, durationMs: Date.now() - started };
}

/**
 * A long-lived command in a pod whose stdin and stdout are a line stream (node-rpc to the agent), as the stream
 * node-rpc's client reads and writes; its stderr goes to `onStderr`.
 */
export async function podExecStream(kc: KubeConfig, target: { namespace: string; pod: string; container: string }, argv: string[], onStderr: (s: string) => void): Promise<RpcStream> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new Writable({ write: (c: Buffer, _e, cb) => (onStderr(c.toString()), cb()) });
  const ws = await new Exec(kc).exec(target.namespace, target.pod, target.container, argv, stdout, stderr, stdin, false).catch((e: unknown) => {
    throw apiError(`exec in pod ${target.namespace}/${target.pod}`, e);
  });
  let destroyed = false;
  const closeListeners: Array<() => void> = [];
  ws.on('close', () => {
    destroyed = true;
    stdout.end();
    for (const l of closeListeners) l();
  });
  ws.on('error', () => undefined);
  return {
    setEncoding: (e: BufferEncoding) => stdout.setEncoding(e),
    on(ev: 'data' | 'close' | 'error', cb: ((d: string) => void) | (() => void) | ((e: Error) => void)) {
      if (ev === 'data') stdout.on('data', cb as (d: string) => void);
      else if (ev === 'close') closeListeners.push(cb as () => void);
      // errors of the exec WebSocket end it: its close is what the client sees
    },
    write: (s: string) => (destroyed ? false : stdin.write(s)),
    destroy: () => {
      destroyed = true;
      stdin.end();
      ws.close();
    },
    get destroyed() {
      return destroyed;
    },
  };
}

/** a container's log (the last tailLines lines), or the API's reason it has none */
export async function podLog(kc: KubeConfig, namespace: string, pod: string, container: string, tailLines = 2000): Promise<string> {
  let text = '';
  const sink = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
  const finished = new Promise<void>((resolve) => sink.on('finish', () => resolve()));
  const ac = await new Log(kc).log(namespace, pod, container, sink, { follow: false, tailLines }).catch((e: unknown) => {
    throw apiError(`logs of ${namespace}/${pod}`, e);
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 15_000))]);
  ac.abort();
  return text;
}

export { KubeConfig, KubernetesObjectApi };
