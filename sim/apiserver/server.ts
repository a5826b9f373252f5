// The simulated cluster's Kubernetes API: HTTPS on 127.0.0.1 with the cluster's own CA, answering only a client
// certificate signed by it or the cluster's bearer token (401 otherwise). It serves the object store of a Cluster —
// discovery, OpenAPI v3, get/list/watch/create/update/patch/delete with selectors, server-side Tables and Status
// errors worded like the apiserver's — so real kubectl and client libraries work against the simulator.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { MAX_YAML_DEPTH, yamlDepthOffset } from '../yaml-issues.ts';
import type { V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../cluster/cluster.ts';
import { toPlain } from '../cluster/kubectl.ts';
import type { AnyObject } from '../cluster/store.ts';
import { aggregatedDiscovery, AGGREGATED_CONTENT_TYPE, apiGroupDocument, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.ts';
import { groupVersionDocument, openApiRoot } from './openapi.ts';
import { generateClusterPki, kubeconfigYaml, type ClusterPki } from './pki.ts';
import { decodeProtobufBody, ProtobufDecodeError, PROTOBUF_CONTENT_TYPE, PROTOBUF_KINDS } from './protobuf.ts';
import { customResourcesOf, groupVersion, qualifiedResource, type ResourceInfo, type ResourceTable } from './resources.ts';
import { Registry, type FieldValidation, type Target, type WriteContext } from './rest.ts';
import { selectorMatcher } from './selectors.ts';
import { ApiError, badRequest, toApiError, type Status } from './status.ts';
import { toTable, type IncludeObject } from './table.ts';
import { TooOldResourceVersionError, WatchHub, type WatchEventType } from './watch.ts';
import type { PodIo } from './pod-io.ts';
import { EXEC_PROTOCOLS, execRequestOf, runExec, servePodLog } from './pod-streams.ts';
import { ServerWebSocket } from './websocket.ts';

/** The apiserver's request body limit (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** a watch whose client reads slower than this much output piles up is closed, so it cannot hold memory for others */
const MAX_WATCH_BACKLOG_BYTES = 16 * 1024 * 1024;
const DEFAULT_WATCH_TIMEOUT_S = 1800;

export interface ApiServerOptions {
  cluster: Cluster;
  /** made fresh when absent */
  pki?: ClusterPki;
  /** default 0: any free port */
  port?: number;
  log?: (line: string) => void;
  /** how often a watch that allows bookmarks gets one; default 60 s like the apiserver's */
  bookmarkIntervalMs?: number;
  /** changes kept for watches from a resourceVersion */
  watchHistory?: number;
  /** the nodes' side of pods/log and pods/exec; without it they answer 503 */
  podIo?: PodIo;
}

interface Route {
  kind: 'version' | 'api' | 'apis' | 'group' | 'resources' | 'openapi-root' | 'openapi' | 'health' | 'resource';
  group?: string;
  version?: string;
  target?: Target;
  watchPath?: boolean;
}

const NOT_FOUND = (): ApiError => new ApiError(404, 'NotFound', 'the server could not find the requested resource');

function parseRoute(pathname: string, table: ResourceTable): Route | undefined {
  const seg = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (pathname === '/version' || pathname === '/version/') return { kind: 'version' };
  if (seg.length === 1 && ['healthz', 'livez', 'readyz'].includes(seg[0])) return { kind: 'health' };
  if (seg[0] === 'openapi' && seg[1] === 'v3') {
    if (seg.length === 2) return { kind: 'openapi-root' };
    if (seg[2] === 'api' && seg.length === 4) return { kind: 'openapi', group: '', version: seg[3] };
    if (seg[2] === 'apis' && seg.length === 5) return { kind: 'openapi', group: seg[3], version: seg[4] };
    return undefined;
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    if (seg.length === 1) return { kind: 'api' };
    group = '';
    version = seg[1];
    rest = seg.slice(2);
  } else if (seg[0] === 'apis') {
    if (seg.length === 1) return { kind: 'apis' };
    if (seg.length === 2) return { kind: 'group', group: seg[1] };
    group = seg[1];
    version = seg[2];
    rest = seg.slice(3);
  } else return undefined;
  if (rest.length === 0) return { kind: 'resources', group, version };
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3 && table.find(group, version, rest[2])?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const r = table.find(group, version, rest[0]);
  if (!r || rest.length > 3) return undefined;
  if (!r.namespaced && namespace) return undefined;
  return { kind: 'resource', group, version, watchPath, target: { r, namespace, name: rest[1], subresource: rest[2] } };
}

interface Accept {
  table?: string;
  aggregated: boolean;
}

function parseAccept(header: string | undefined): Accept {
  const out: Accept = { aggregated: false };
  for (const part of (header ?? '').split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (type !== 'application/json' && type !== '*/*') continue;
    const p = Object.fromEntries(params.map((x) => x.split('=').map((s) => s.trim())));
    if (p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) {
      out.table ??= `meta.k8s.io/${p.v}`;
    } else if (p.as === 'APIGroupDiscoveryList' && p.g === 'apidiscovery.k8s.io' && p.v === 'v2') {
      out.aggregated = true;
    } else if (!p.as) break; // plain JSON is as welcome as anything after it
  }
  return out;
}

function fieldValidationOf(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation') ?? 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation parameter unsupported: ${v}`);
}

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

export class ApiServer implements AsyncDisposable {
  readonly pki: ClusterPki;
  private readonly unixServers: Array<{ server: NetServer; path: string }> = [];
  readonly registry: Registry;
  private readonly hub: WatchHub;
  private readonly server: Server;
  private readonly streams = new Set<ServerResponse>();
  private readonly sockets = new Set<ServerWebSocket>();
  private readonly token: Buffer;
  private openApiDocs = new Map<string, string>();
  private openApiFor = '';
  private closed = false;
  private readonly unwatchCrds: () => void;

  private constructor(
    private readonly opts: ApiServerOptions,
    pki: ClusterPki,
  ) {
    this.pki = pki;
    this.token = Buffer.from(pki.token);
    this.registry = new Registry(opts.cluster);
    this.registry.bootstrap();
    this.hub = new WatchHub(opts.cluster.store, opts.watchHistory);
    // a CRD's objects are watched from its creation on, so a watch from any later resourceVersion sees them all
    const crdWatch = opts.cluster.store.watch(
      'CustomResourceDefinition',
      {
        added: (crd) => {
          for (const r of customResourcesOf(crd)) this.hub.track(r.storeKind);
          this.registry.resources.all();
        },
        modified: (crd) => {
          for (const r of customResourcesOf(crd)) this.hub.track(r.storeKind);
          this.registry.resources.all();
        },
      },
      { replay: true },
    );
    this.unwatchCrds = crdWatch;
    this.server = createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.on('secureConnection', (s: TLSSocket) => s.setNoDelay(true));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
    this.server.on('tlsClientError', () => undefined);
  }

  static async start(opts: ApiServerOptions): Promise<ApiServer> {
    const s = new ApiServer(opts, opts.pki ?? (await generateClusterPki()));
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port ?? 0, '127.0.0.1', () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Also serves on a unix socket (the same TLS and credentials): what a node's relay (relay.ts) forwards to from its own
   * 127.0.0.1, since a node's network namespace cannot reach this one's loopback. Resolves once listening.
   */
  async listenUnix(path: string): Promise<void> {
    rmSync(path, { force: true });
    const unix = createNetServer((socket) => this.server.emit('connection', socket));
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(path, () => {
        unix.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    this.unixServers.push({ server: unix, path });
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** A kubeconfig for this server with the admin's client certificate; context, cluster and user named after `name`. */
  kubeconfig(name = 'sriov-lab'): string {
    return kubeconfigYaml({ name, server: this.url, pki: this.pki });
  }

  private authenticated(req: IncomingMessage): boolean {
    if ((req.socket as TLSSocket).authorized) return true;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1]);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json', warnings: string[] = []): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string | string[]> = { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private' };
    if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
    res.end(text);
  }

  private sendError(res: ServerResponse, e: ApiError): void {
    this.send(res, e.code, e.toStatus());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let ctx = { resource: '', group: '' };
    try {
      if (!this.authenticated(req)) {
        this.sendError(res, new ApiError(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const route = parseRoute(url.pathname, this.registry.resources);
      if (!route) throw NOT_FOUND();
      if (route.kind === 'resource') {
        ctx = { resource: route.target!.r.resource, group: route.target!.r.group };
        await this.resource(req, res, url, route);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      const accept = parseAccept(req.headers.accept);
      const all = this.registry.resources.all();
      switch (route.kind) {
        case 'version':
          return this.send(res, 200, SERVER_VERSION);
        case 'health':
          return this.send(res, 200, 'ok', 'text/plain; charset=utf-8');
        case 'api':
          return accept.aggregated ? this.send(res, 200, aggregatedDiscovery(true, all), AGGREGATED_CONTENT_TYPE) : this.send(res, 200, apiVersions(`127.0.0.1:${this.port}`));
        case 'apis':
          return accept.aggregated ? this.send(res, 200, aggregatedDiscovery(false, all), AGGREGATED_CONTENT_TYPE) : this.send(res, 200, apiGroupList(all));
        case 'group': {
          const doc = apiGroupDocument(route.group!, all);
          if (!doc) throw NOT_FOUND();
          return this.send(res, 200, doc);
        }
        case 'resources': {
          const doc = apiResourceList(route.group!, route.version!, all);
          if (!doc) throw NOT_FOUND();
          return this.send(res, 200, doc);
        }
        case 'openapi-root':
          return this.send(res, 200, openApiRoot((gv) => this.openApi(gv.group, gv.version), all));
        case 'openapi': {
          const doc = this.openApi(route.group!, route.version!);
          if (!doc) throw NOT_FOUND();
          return this.send(res, 200, doc);
        }
      }
    } catch (e) {
      const err = toApiError(e, ctx);
      if (err.code >= 500) this.log(`api: ${req.method} ${req.url}: ${(e as Error)?.stack ?? String(e)}`);
      this.sendError(res, err);
    }
  }

  /** The group-version's OpenAPI document, rebuilt when a CRD changed. */
  private openApi(group: string, version: string): string {
    const crdRv = this.opts.cluster.store
      .list('CustomResourceDefinition')
      .map((c) => c.metadata?.resourceVersion)
      .join(',');
    if (crdRv !== this.openApiFor) {
      this.openApiDocs = new Map();
      this.openApiFor = crdRv;
    }
    const key = `${group}/${version}`;
    let doc = this.openApiDocs.get(key);
    if (doc === undefined) {
      const d = groupVersionDocument(group, version, (r) => this.registry.crdSchema(r), this.registry.resources.all());
      doc = Object.keys(d.paths as object).length ? JSON.stringify(d) : '';
      this.openApiDocs.set(key, doc);
    }
    return doc;
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = () => new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`);
    if (declared > MAX_BODY_BYTES) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * A request body as the value it holds. `r` is the resource of a create or update: its media types are JSON, YAML and,
   * for the kinds decoded in protobuf.ts, Kubernetes protobuf. A patch (`r` absent) is JSON or YAML; its type is the
   * patch's own, checked by the registry.
   */
  private async parseBody(req: IncomingMessage, r?: ResourceInfo): Promise<unknown> {
    const buf = await this.readBody(req);
    const type = contentTypeOf(req);
    if (r && type === PROTOBUF_CONTENT_TYPE && takesProtobuf(r)) return protobufBody(buf, { apiVersion: groupVersion(r), kind: r.kind });
    const text = buf.toString('utf8');
    if (!text.trim()) throw badRequest(!r ? 'the body of the request was empty' : "couldn't get version/kind; json parse error: unexpected end of JSON input");
    if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
      // a body nested too deep would overflow the yaml package's stack and can leave the process unable to parse again
      if (yamlDepthOffset(text) !== undefined) throw badRequest(`error converting YAML to JSON: yaml: exceeded max depth of ${MAX_YAML_DEPTH}`);
      try {
        return parseYaml(text);
      } catch (e) {
        throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (r && type !== 'application/json' && type !== '*/*') {
      const accepted = ['application/json', 'application/yaml', ...(takesProtobuf(r) ? [PROTOBUF_CONTENT_TYPE] : [])];
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw badRequest(`${!r ? 'error decoding patch' : "couldn't get version/kind"}; json parse error: ${(e as Error).message}`);
    }
  }

  private mustPodIo(): PodIo {
    if (!this.opts.podIo) throw new ApiError(503, 'InternalError', 'this API server reaches no nodes: logs and exec are not served');
    return this.opts.podIo;
  }

  /** the pod of a pods/exec or pods/log request (its 404 is the pod's) */
  private podOf(t: Target): V1Pod {
    return this.registry.get({ ...t, subresource: undefined }) as V1Pod;
  }

  /** A WebSocket upgrade: pods/exec with the channel protocol; anything else is refused like a plain request. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    const refuse = (e: ApiError) => {
      const body = JSON.stringify(e.toStatus());
      socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      if (!this.authenticated(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const route = parseRoute(url.pathname, this.registry.resources);
      const t = route?.target;
      if (!t || t.r.storeKind !== 'Pod' || t.subresource !== 'exec' || !t.name || req.method !== 'GET') throw NOT_FOUND();
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      const protocol = EXEC_PROTOCOLS.find((p) => offered.includes(p));
      if (!protocol) throw badRequest(`none of the offered subprotocols (${offered.join(', ')}) is supported: ${EXEC_PROTOCOLS.join(', ')}`);
      const pod = this.podOf(t);
      const r = execRequestOf(pod, url.searchParams);
      const io = this.mustPodIo();
      this.log(`api: exec ${t.namespace}/${t.name} ${r.argv.join(' ')}`);
      const ws = ServerWebSocket.accept(req, socket, head, protocol);
      this.sockets.add(ws);
      await runExec(ws, protocol, pod, r, io).finally(() => this.sockets.delete(ws));
    } catch (e) {
      refuse(toApiError(e, { resource: 'pods', group: '' }));
    }
  }

  private async resource(req: IncomingMessage, res: ServerResponse, url: URL, route: Route): Promise<void> {
    const t = route.target!;
    const q = url.searchParams;
    const accept = parseAccept(req.headers.accept);
    const method = req.method ?? 'GET';
    if (t.subresource && !(t.r.subresources as string[]).includes(t.subresource)) throw NOT_FOUND();
    if (t.subresource === 'log') {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return servePodLog(req, res, this.podOf(t), q, this.mustPodIo(), this.streams);
    }
    if (t.subresource === 'exec') {
      // not an upgrade (SPDY, or plain HTTP): the request's own errors first, then the apiserver's demand
      execRequestOf(this.podOf(t), q);
      throw badRequest('Upgrade request required');
    }
    if (t.r.namespaced && !t.namespace && (t.name || method !== 'GET')) throw t.name ? NOT_FOUND() : new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (q.get('dryRun')) throw badRequest('dryRun is not supported by the simulated API server');
    // the manager of a write: its fieldManager, else the first part of its user agent (prefixFromUserAgent)
    const fieldManager = q.get('fieldManager') || (req.headers['user-agent'] ?? '').split('/')[0].slice(0, 128) || undefined;
    const ctx: WriteContext = { fieldValidation: 'Warn', warnings: [], fieldManager, force: bool(q, 'force') };
    const nowMs = this.opts.cluster.store.clock.now();
    const rv = () => this.opts.cluster.store.resourceVersion;
    const one = (code: number, o: AnyObject) => {
      if (accept.table) {
        return this.send(res, code, toTable(t.r.storeKind, [o], { nowMs, include: includeOf(q), apiVersion: accept.table, resourceVersion: o.metadata?.resourceVersion, columns: t.r.printerColumns }), `application/json;as=Table;v=${accept.table.split('/')[1]};g=meta.k8s.io`, ctx.warnings);
      }
      return this.send(res, code, toPlain(o), 'application/json', ctx.warnings);
    };
    if (!t.name) {
      if (method === 'GET') {
        if (route.watchPath || bool(q, 'watch')) return this.watch(req, res, t, q, accept);
        const { items, next } = page(this.registry.list(t, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined), q);
        if (accept.table) {
          return this.send(res, 200, toTable(t.r.storeKind, items, { nowMs, include: includeOf(q), apiVersion: accept.table, resourceVersion: rv(), continueToken: next, columns: t.r.printerColumns }), `application/json;as=Table;v=${accept.table.split('/')[1]};g=meta.k8s.io`);
        }
        return this.send(res, 200, { kind: `${t.r.kind}List`, apiVersion: groupVersion(t.r), metadata: { resourceVersion: rv(), ...(next ? { continue: next } : {}) }, items: items.map(toPlain) });
      }
      if (method === 'POST') {
        ctx.fieldValidation = fieldValidationOf(q);
        const body = await this.parseBody(req, t.r);
        return one(201, this.registry.create(t, body, ctx));
      }
      if (method === 'DELETE') {
        const deleted = this.registry.list(t, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined).map((o) => this.registry.delete({ ...t, namespace: o.metadata?.namespace ?? '', name: o.metadata!.name! }, (e) => this.log(`api: delete: ${String(e)}`)));
        return this.send(res, 200, { kind: `${t.r.kind}List`, apiVersion: groupVersion(t.r), metadata: { resourceVersion: rv() }, items: deleted.map(toPlain) });
      }
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    switch (method) {
      case 'GET':
        return one(200, this.registry.get(t));
      case 'PUT': {
        ctx.fieldValidation = fieldValidationOf(q);
        const body = await this.parseBody(req, t.r);
        return one(200, this.registry.update(t, body, ctx));
      }
      case 'PATCH': {
        ctx.fieldValidation = fieldValidationOf(q);
        const contentType = req.headers['content-type'] ?? '';
        const body = await this.parseBody(req);
        const { obj, created } = this.registry.patch(t, contentType, body, ctx);
        return one(created ? 201 : 200, obj);
      }
      case 'DELETE': {
        const raw = await this.readBody(req);
        // DeleteOptions, which a protobuf client sends as protobuf too: checked, and (like JSON options) not used
        if (raw.length && contentTypeOf(req) === PROTOBUF_CONTENT_TYPE) protobufBody(raw, { apiVersion: 'v1', kind: 'DeleteOptions' });
        else if (raw.length) {
          try {
            JSON.parse(raw.toString('utf8'));
          } catch (e) {
            throw badRequest(`json parse error: ${(e as Error).message}`);
          }
        }
        const gone = this.registry.delete(t, (e) => this.log(`api: delete ${qualifiedResource(t.r)} ${t.name}: ${(e as Error)?.stack ?? String(e)}`));
        if (t.r.storeKind === 'Pod' || t.r.storeKind === 'Namespace') return one(200, gone);
        const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: t.name, ...(t.r.group ? { group: t.r.group } : {}), kind: t.r.resource, uid: gone.metadata?.uid }, code: 200 };
        return this.send(res, 200, status);
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  private watch(req: IncomingMessage, res: ServerResponse, t: Target, q: URLSearchParams, accept: Accept): void {
    const match = selectorMatcher(t.r.storeKind, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined);
    const store = this.opts.cluster.store;
    const bookmarks = bool(q, 'allowWatchBookmarks');
    const initialEvents = bool(q, 'sendInitialEvents');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    this.streams.add(res);
    let stop = (): void => undefined;
    const timers: NodeJS.Timeout[] = [];
    const end = () => {
      stop();
      for (const x of timers) clearTimeout(x);
      this.streams.delete(res);
      if (!res.writableEnded) res.end();
    };
    const write = (type: WatchEventType | 'BOOKMARK' | 'ERROR', object: unknown) => {
      if (res.writableEnded || res.destroyed) return;
      if (res.writableLength > MAX_WATCH_BACKLOG_BYTES) {
        this.log(`api: closing a watch of ${qualifiedResource(t.r)} whose client stopped reading`);
        end();
        res.destroy();
        return;
      }
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const payload = (o: AnyObject) =>
      accept.table ? toTable(t.r.storeKind, [o], { nowMs: store.clock.now(), include: includeOf(q), apiVersion: accept.table, resourceVersion: o.metadata?.resourceVersion, columns: t.r.printerColumns }) : toPlain(o);
    const bookmark = (annotations?: Record<string, string>) =>
      write('BOOKMARK', { kind: t.r.kind, apiVersion: groupVersion(t.r), metadata: { resourceVersion: store.resourceVersion, ...(annotations ? { annotations } : {}) } });
    req.on('close', end);
    res.on('error', end);
    try {
      stop = this.hub.watch({ kind: t.r.storeKind, namespace: t.r.namespaced && t.namespace ? t.namespace : undefined, match, send: (type, o) => write(type, payload(o)) }, initialEvents ? undefined : (q.get('resourceVersion') ?? undefined));
    } catch (e) {
      if (e instanceof TooOldResourceVersionError) {
        write('ERROR', new ApiError(410, 'Expired', e.message).toStatus());
        end();
        return;
      }
      throw e;
    }
    if (initialEvents && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    if (bookmarks) {
      const every = this.opts.bookmarkIntervalMs ?? 60_000;
      const tick = () => {
        bookmark();
        timers[0] = setTimeout(tick, every);
      };
      timers[0] = setTimeout(tick, every);
    }
    const timeoutS = Number(q.get('timeoutSeconds') ?? DEFAULT_WATCH_TIMEOUT_S);
    timers.push(setTimeout(end, (Number.isFinite(timeoutS) && timeoutS > 0 ? timeoutS : DEFAULT_WATCH_TIMEOUT_S) * 1000));
  }

  get watchCount(): number {
    return this.hub.watcherCount;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams) s.end();
    for (const w of this.sockets) w.close(1001);
    this.unwatchCrds();
    this.hub.close();
    for (const u of this.unixServers) {
      u.server.close();
      rmSync(u.path, { force: true });
    }
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** a core v1 kind whose protobuf bodies protobuf.ts decodes */
function takesProtobuf(r: ResourceInfo): boolean {
  return r.builtin && r.group === '' && r.version === 'v1' && PROTOBUF_KINDS.has(r.kind);
}

/** the apiserver's summary of a body it could not decode (summarizeData): JSON as text, anything else as hex, 30 bytes */
function summarizeBody(buf: Buffer): string {
  if (!buf.length) return '<empty>';
  const head = buf.subarray(0, 30);
  const text = buf[0] === 0x7b ? head.toString('utf8') : head.toString('hex');
  return buf.length > 30 ? `${text} ...` : text;
}

/** the media type of a request's body, without parameters; JSON when not given */
function contentTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
}

/**
 * A protobuf body as the JSON form of its object (`type`: the kind the request takes), or the apiserver's 400 for bytes
 * that are none. A kind not decoded here keeps only its type: the registry answers a mismatch with the resource.
 */
function protobufBody(buf: Buffer, type: { apiVersion: string; kind: string }): unknown {
  try {
    const d = decodeProtobufBody(buf, type);
    return d.object ?? { apiVersion: d.apiVersion, kind: d.kind };
  } catch (e) {
    if (!(e instanceof ProtobufDecodeError)) throw e;
    if (e.typeMeta) throw badRequest(`${e.typeMeta.kind} in version ${JSON.stringify(e.typeMeta.apiVersion.split('/').pop())} cannot be handled as a ${type.kind}: ${e.message}`);
    throw badRequest(`the object provided is unrecognized (must be of type ${type.kind}): ${e.message} (${summarizeBody(buf)})`);
  }
}

function includeOf(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

/** limit/continue: the continue token is the position after the last item given (the list is kept sorted). */
function page(items: AnyObject[], q: URLSearchParams): { items: AnyObject[]; next?: string } {
  let start = 0;
  const token = q.get('continue');
  if (token) {
    try {
      start = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start: number }).start;
    } catch {
      start = NaN;
    }
    if (!Number.isInteger(start) || start < 0) throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  const limit = Number(q.get('limit') ?? 0);
  if (!(limit > 0) || start + limit >= items.length) return { items: items.slice(start) };
  return { items: items.slice(start, start + limit), next: Buffer.from(JSON.stringify({ start: start + limit })).toString('base64url') };
}

