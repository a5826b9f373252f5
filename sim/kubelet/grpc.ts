// Typed gRPC plumbing for the kubelet's three APIs (device plugin v1beta1, plugin registration, pod resources v1).
// The .proto files live in the top-level api/ folder; they are loaded once, with field case kept.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  AllocatableResourcesRequest,
  AllocatableResourcesResponse,
  AllocateRequest,
  AllocateResponse,
  ContainerAllocateResponse,
  DevicePluginOptions,
  Empty,
  GetPodResourcesRequest,
  GetPodResourcesResponse,
  InfoRequest,
  ListAndWatchResponse,
  ListPodResourcesRequest,
  ListPodResourcesResponse,
  PluginInfo,
  PreferredAllocationRequest,
  PreferredAllocationResponse,
  PreStartContainerRequest,
  PreStartContainerResponse,
  RegisterRequest,
  RegistrationStatus,
  RegistrationStatusResponse,
} from './types.ts';

export const API_FILES = {
  devicePlugin: 'deviceplugin/v1beta1/api.proto',
  pluginRegistration: 'pluginregistration/v1/api.proto',
  podResources: 'podresources/v1/api.proto',
} as const;

/** Method paths, as the real components use them. */
export const METHODS = {
  register: '/v1beta1.Registration/Register',
  getDevicePluginOptions: '/v1beta1.DevicePlugin/GetDevicePluginOptions',
  listAndWatch: '/v1beta1.DevicePlugin/ListAndWatch',
  getPreferredAllocation: '/v1beta1.DevicePlugin/GetPreferredAllocation',
  allocate: '/v1beta1.DevicePlugin/Allocate',
  preStartContainer: '/v1beta1.DevicePlugin/PreStartContainer',
  getInfo: '/pluginregistration.Registration/GetInfo',
  notifyRegistrationStatus: '/pluginregistration.Registration/NotifyRegistrationStatus',
  podResourcesList: '/v1.PodResourcesLister/List',
  podResourcesGetAllocatable: '/v1.PodResourcesLister/GetAllocatableResources',
  podResourcesGet: '/v1.PodResourcesLister/Get',
} as const;

/**
 * The api/ folder: found by walking up from this file (works from sim/kubelet/ and from a bundle in dist/), or given
 * by SRIOV_LAB_API_DIR.
 */
export function findApiDir(): string {
  const fromEnv = process.env.SRIOV_LAB_API_DIR;
  if (fromEnv) return fromEnv;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'api');
    if (existsSync(join(candidate, API_FILES.devicePlugin))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(
    `cannot find the api/ folder with ${API_FILES.devicePlugin} above ${dirname(fileURLToPath(import.meta.url))}; set SRIOV_LAB_API_DIR`,
  );
}

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

export interface LoadedProtos {
  registrationService: grpc.ServiceDefinition;
  devicePluginService: grpc.ServiceDefinition;
  pluginRegistrationService: grpc.ServiceDefinition;
  podResourcesService: grpc.ServiceDefinition;
  containerAllocateResponse: protoLoader.MessageTypeDefinition<object, object>;
}

let loaded: LoadedProtos | undefined;

function pick<T>(pkg: protoLoader.PackageDefinition, name: string): T {
  const def = pkg[name];
  if (!def) throw new Error(`proto definition ${name} missing from ${Object.keys(pkg).join(', ')}`);
  return def as unknown as T;
}

/** Load the protos once per process. */
export function protos(): LoadedProtos {
  if (loaded) return loaded;
  const dir = findApiDir();
  const dp = protoLoader.loadSync(join(dir, API_FILES.devicePlugin), LOADER_OPTIONS);
  const pr = protoLoader.loadSync(join(dir, API_FILES.pluginRegistration), LOADER_OPTIONS);
  const pod = protoLoader.loadSync(join(dir, API_FILES.podResources), LOADER_OPTIONS);
  loaded = {
    registrationService: pick(dp, 'v1beta1.Registration'),
    devicePluginService: pick(dp, 'v1beta1.DevicePlugin'),
    pluginRegistrationService: pick(pr, 'pluginregistration.Registration'),
    podResourcesService: pick(pod, 'v1.PodResourcesLister'),
    containerAllocateResponse: pick(dp, 'v1beta1.ContainerAllocateResponse'),
  };
  return loaded;
}

// ---- ContainerAllocateResponse bytes (checkpoint AllocResp) ----

function sortedRecord(r: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r ?? {}).sort()) out[k] = (r ?? {})[k];
  return out;
}

/** Drop proto3 default scalars so they are not written, like Go's marshaller. */
function withoutDefaults<T extends object>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== '' && v !== false && v !== 0 && v != null) out[k] = v;
  return out as Partial<T>;
}

/**
 * Protobuf bytes of a ContainerAllocateResponse. Map keys are sorted and default scalars omitted, as the kubelet's
 * generated Go marshaller does, so the bytes match a real checkpoint's AllocResp for the same content.
 */
export function encodeContainerAllocateResponse(r: ContainerAllocateResponse): Buffer {
  const msg = {
    envs: sortedRecord(r.envs),
    mounts: (r.mounts ?? []).map(withoutDefaults),
    devices: (r.devices ?? []).map(withoutDefaults),
    annotations: sortedRecord(r.annotations),
    cdi_devices: (r.cdi_devices ?? []).map(withoutDefaults),
  };
  return protos().containerAllocateResponse.serialize(msg);
}

export function decodeContainerAllocateResponse(bytes: Buffer): ContainerAllocateResponse {
  return normalizeAllocateResponse(protos().containerAllocateResponse.deserialize(bytes) as Partial<ContainerAllocateResponse>);
}

export function emptyContainerAllocateResponse(): ContainerAllocateResponse {
  return { envs: {}, mounts: [], devices: [], annotations: {}, cdi_devices: [] };
}

export function normalizeAllocateResponse(r: Partial<ContainerAllocateResponse> | undefined): ContainerAllocateResponse {
  return {
    envs: { ...(r?.envs ?? {}) },
    mounts: (r?.mounts ?? []).map((m) => ({ container_path: m.container_path ?? '', host_path: m.host_path ?? '', read_only: !!m.read_only })),
    devices: (r?.devices ?? []).map((d) => ({ container_path: d.container_path ?? '', host_path: d.host_path ?? '', permissions: d.permissions ?? '' })),
    annotations: { ...(r?.annotations ?? {}) },
    cdi_devices: (r?.cdi_devices ?? []).map((c) => ({ name: c.name ?? '' })),
  };
}

// ---- errors, formatted the way the Go kubelet prints them ----

const GO_CODE_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'Canceled',
  2: 'Unknown',
  3: 'InvalidArgument',
  4: 'DeadlineExceeded',
  5: 'NotFound',
  6: 'AlreadyExists',
  7: 'PermissionDenied',
  8: 'ResourceExhausted',
  9: 'FailedPrecondition',
  10: 'Aborted',
  11: 'OutOfRange',
  12: 'Unimplemented',
  13: 'Internal',
  14: 'Unavailable',
  15: 'DataLoss',
  16: 'Unauthenticated',
};

export function isServiceError(e: unknown): e is grpc.ServiceError {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number' && 'details' in e;
}

/** A gRPC failure as Go's status error prints it: `rpc error: code = Unknown desc = boom`. */
export function goRpcError(e: unknown): string {
  if (isServiceError(e)) return `rpc error: code = ${GO_CODE_NAMES[e.code] ?? `Code(${e.code})`} desc = ${e.details}`;
  return e instanceof Error ? e.message : String(e);
}

/** A server-side error with a gRPC status; a plain Go `error` returned by a handler arrives as Unknown. */
export function statusError(code: grpc.status, details: string): Partial<grpc.StatusObject> & Error {
  const err = new Error(details) as Partial<grpc.StatusObject> & Error;
  err.code = code;
  err.details = details;
  return err;
}

// ---- clients ----

export function unixTarget(socketPath: string): string {
  return `unix:${socketPath}`;
}

const CLIENT_OPTIONS: grpc.ChannelOptions = {
  // fail fast on a vanished socket instead of reconnecting behind our back
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
};

function methodDef(service: grpc.ServiceDefinition, path: string): grpc.MethodDefinition<object, object> {
  for (const m of Object.values(service)) if (m.path === path) return m as grpc.MethodDefinition<object, object>;
  throw new Error(`method ${path} not in service`);
}

/** Base for the typed clients below: one channel to one unix socket. */
export class UnixClient {
  readonly socketPath: string;
  protected readonly client: grpc.Client;
  readonly #service: grpc.ServiceDefinition;

  constructor(service: grpc.ServiceDefinition, socketPath: string) {
    this.socketPath = socketPath;
    this.#service = service;
    this.client = new grpc.Client(unixTarget(socketPath), grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  }

  /** Wait until connected, like Go's grpc.WithBlock dial; rejects with "context deadline exceeded". */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(new Error('context deadline exceeded')) : resolve()));
    });
  }

  protected unary<Req, Res>(path: string, req: Req, timeoutMs?: number): Promise<Res> {
    const m = methodDef(this.#service, path);
    return new Promise((resolve, reject) => {
      const opts: grpc.CallOptions = timeoutMs ? { deadline: Date.now() + timeoutMs } : {};
      this.client.makeUnaryRequest(
        path,
        m.requestSerialize as (v: Req) => Buffer,
        m.responseDeserialize as (b: Buffer) => Res,
        req,
        new grpc.Metadata(),
        opts,
        (err, res) => (err ? reject(err) : resolve(res as Res)),
      );
    });
  }

  protected serverStream<Req, Res>(path: string, req: Req): grpc.ClientReadableStream<Res> {
    const m = methodDef(this.#service, path);
    return this.client.makeServerStreamRequest(
      path,
      m.requestSerialize as (v: Req) => Buffer,
      m.responseDeserialize as (b: Buffer) => Res,
      req,
      new grpc.Metadata(),
      {},
    );
  }

  close(): void {
    this.client.close();
  }
}

/** What the kubelet calls on a device plugin. */
export class DevicePluginClient extends UnixClient {
  constructor(socketPath: string) {
    super(protos().devicePluginService, socketPath);
  }
  getDevicePluginOptions(timeoutMs?: number): Promise<DevicePluginOptions> {
    return this.unary<Empty, DevicePluginOptions>(METHODS.getDevicePluginOptions, {}, timeoutMs);
  }
  listAndWatch(): grpc.ClientReadableStream<ListAndWatchResponse> {
    return this.serverStream<Empty, ListAndWatchResponse>(METHODS.listAndWatch, {});
  }
  getPreferredAllocation(req: PreferredAllocationRequest, timeoutMs?: number): Promise<PreferredAllocationResponse> {
    return this.unary(METHODS.getPreferredAllocation, req, timeoutMs);
  }
  allocate(req: AllocateRequest, timeoutMs?: number): Promise<AllocateResponse> {
    return this.unary(METHODS.allocate, req, timeoutMs);
  }
  preStartContainer(req: PreStartContainerRequest, timeoutMs?: number): Promise<PreStartContainerResponse> {
    return this.unary(METHODS.preStartContainer, req, timeoutMs);
  }
}

/** What a device plugin calls on the kubelet's kubelet.sock. */
export class RegistrationClient extends UnixClient {
  constructor(socketPath: string) {
    super(protos().registrationService, socketPath);
  }
  register(req: RegisterRequest, timeoutMs?: number): Promise<Empty> {
    return this.unary(METHODS.register, req, timeoutMs);
  }
}

/** What the kubelet's plugin watcher calls on a socket in plugins_registry. */
export class PluginRegistrationClient extends UnixClient {
  constructor(socketPath: string) {
    super(protos().pluginRegistrationService, socketPath);
  }
  getInfo(timeoutMs?: number): Promise<PluginInfo> {
    return this.unary<InfoRequest, PluginInfo>(METHODS.getInfo, {}, timeoutMs);
  }
  notifyRegistrationStatus(status: RegistrationStatus, timeoutMs?: number): Promise<RegistrationStatusResponse> {
    return this.unary(METHODS.notifyRegistrationStatus, status, timeoutMs);
  }
}

/** A client of the pod-resources API (as Multus or a monitoring agent uses it). */
export class PodResourcesClient extends UnixClient {
  constructor(socketPath: string) {
    super(protos().podResourcesService, socketPath);
  }
  list(timeoutMs?: number): Promise<ListPodResourcesResponse> {
    return this.unary<ListPodResourcesRequest, ListPodResourcesResponse>(METHODS.podResourcesList, {}, timeoutMs);
  }
  getAllocatableResources(timeoutMs?: number): Promise<AllocatableResourcesResponse> {
    return this.unary<AllocatableResourcesRequest, AllocatableResourcesResponse>(METHODS.podResourcesGetAllocatable, {}, timeoutMs);
  }
  get(req: GetPodResourcesRequest, timeoutMs?: number): Promise<GetPodResourcesResponse> {
    return this.unary(METHODS.podResourcesGet, req, timeoutMs);
  }
}

// ---- servers ----

export type UnaryHandler<Req, Res> = (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>;

/** Wrap an async handler: a thrown error with a `code` keeps it, any other error becomes Unknown (as in Go). */
export function unaryHandler<Req, Res>(h: UnaryHandler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    h(call.request, call).then(
      (res) => callback(null, res),
      (e: unknown) => {
        const code = isServiceError(e) || (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number')
          ? (e as { code: number }).code
          : grpc.status.UNKNOWN;
        const details = (e as { details?: string }).details ?? (e instanceof Error ? e.message : String(e));
        callback({ code, details, metadata: new grpc.Metadata() }, null);
      },
    );
  };
}

/** Start a gRPC server on a unix socket; resolves when it is listening. */
export function listenUnix(server: grpc.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(unixTarget(socketPath), grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
}

/** Stop a server now: open streams are cancelled, as when the process dies. */
export function stopServer(server: grpc.Server): void {
  server.forceShutdown();
}

export { grpc };
