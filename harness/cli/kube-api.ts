// A client of the running cluster's Kubernetes API with the kubeconfig's credentials: what `sriov-lab get`, `describe`,
// `apply` and `delete` send, so they take the same path as kubectl. The apiserver's Status errors become
// KubeApiError (printed as kubectl prints them by kubectl-errors.ts).
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { RESOURCES, groupVersion, type ResourceInfo } from '../../sim/apiserver/resources.ts';
import { decode } from '../../sim/apiserver/schema.ts';
import type { AnyObject } from '../../sim/cluster/store.ts';

/** The Status the apiserver answered a failed request with. */
export interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

/** A request the API server refused: its status code and Status. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly status: StatusBody;
  constructor(code: number, status: StatusBody) {
    super(status.message ?? `the server responded with the status code ${code}`);
    this.name = 'KubeApiError';
    this.code = code;
    this.status = status;
  }
}

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

/** The resource a name typed on the command line means: plural, singular, short name or kind, optionally `.group`. */
export function resourceFor(typed: string): ResourceInfo {
  const t = typed.toLowerCase();
  const [name, ...group] = t.split('.');
  const r = RESOURCES.find(
    (x) => (group.length === 0 || group.join('.') === x.group) && (x.resource === name || x.singular === name || x.shortNames.includes(name) || x.kind.toLowerCase() === name),
  );
  if (!r) throw new Error(`the server doesn't have a resource type "${typed}"`);
  return r;
}

/** The resource of a manifest document's apiVersion and kind. */
export function resourceOfObject(obj: AnyObject): ResourceInfo {
  const r = RESOURCES.find((x) => groupVersion(x) === obj.apiVersion && x.kind === obj.kind);
  if (!r) throw new Error(`resource mapping not found for name: "${obj.metadata?.name ?? ''}" namespace: "${obj.metadata?.namespace ?? ''}" from "": no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`);
  return r;
}

/** kubectl's name for a resource in `apply`/`delete` output and `-o name`: `pod`, `networkattachmentdefinition.k8s.cni.cncf.io`. */
export function kindRef(r: ResourceInfo): string {
  return `${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}`;
}

/** The URL path of a resource's collection (namespace '' for all namespaces) or of one object. */
export function resourcePath(r: ResourceInfo, namespace: string, name?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.resource}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

/** JSON from the API as the client-node model of the resource (timestamps as Dates), as the store holds it. */
export function asModel(r: ResourceInfo, json: unknown): AnyObject {
  if (!r.model) return json as AnyObject;
  return decode<AnyObject>({ t: 'model', name: r.model }, json, r.kind).value;
}

export interface KubeRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

export class KubeApi {
  private constructor(
    private readonly server: URL,
    private readonly tls: RequestOptions,
  ) {}

  /** A client for the current context of a kubeconfig file. */
  static async fromKubeconfig(file: string): Promise<KubeApi> {
    // client-node only to read the kubeconfig (its own chunk: the commands that use this client load it)
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`the kubeconfig ${file} has no current cluster`);
    const tls: RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    return new KubeApi(new URL(cluster.server), tls);
  }

  /** One request; a 2xx answer's JSON body, or a KubeApiError with the server's Status. */
  request<T = unknown>(req: KubeRequest): Promise<T> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query.set(k, v);
    const qs = query.toString();
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = { ...(this.tls.headers as Record<string, string> | undefined), Accept: req.accept ?? 'application/json', 'User-Agent': 'sriov-lab' };
    if (payload) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise<T>((resolve, reject) => {
      const r = httpsRequest(
        {
          ...this.tls,
          headers,
          method: req.method ?? 'GET',
          hostname: this.server.hostname,
          port: this.server.port,
          path: `${req.path}${qs ? `?${qs}` : ''}`,
          timeout: 120_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = undefined;
            }
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) resolve(body as T);
            else reject(new KubeApiError(code, (body as StatusBody | undefined)?.kind === 'Status' ? (body as StatusBody) : { message: text.trim() || `the server responded with the status code ${code}` }));
          });
        },
      );
      r.on('timeout', () => r.destroy(new Error(`the API server ${this.server.origin} did not answer ${req.method ?? 'GET'} ${req.path} within 120s`)));
      r.on('error', reject);
      r.end(payload);
    });
  }

  /** The objects of a list (one resource), as models. */
  async list(r: ResourceInfo, namespace: string, fieldSelector?: string): Promise<AnyObject[]> {
    const list = await this.request<{ items?: unknown[] }>({ path: resourcePath(r, namespace), query: { fieldSelector } });
    return (list.items ?? []).map((o) => asModel(r, o));
  }

  async get(r: ResourceInfo, namespace: string, name: string): Promise<AnyObject> {
    return asModel(r, await this.request({ path: resourcePath(r, namespace, name) }));
  }
}
