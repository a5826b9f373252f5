// A device plugin as the kubelet sees it over gRPC: one client per registration, one ListAndWatch stream, never
// reopened. Every message in and out is reported to the trace.
import { DevicePluginClient, METHODS, goRpcError, type grpc } from './grpc.ts';
import type { DeviceEndpoint } from './device-manager.ts';
import type {
  AllocateRequest,
  AllocateResponse,
  Clock,
  Device,
  DevicePluginOptions,
  KubeletEvent,
  ListAndWatchResponse,
  PreferredAllocationRequest,
  PreferredAllocationResponse,
  PreStartContainerRequest,
  PreStartContainerResponse,
  RegistrationMode,
} from './types.ts';

export interface EndpointHooks {
  nodeName: string;
  clock: Clock;
  emit(e: KubeletEvent): void;
  /** per-call deadline for Allocate & co (the kubelet uses none; we bound it so a hung plugin cannot hang a test) */
  callTimeoutMs: number;
}

export class GrpcEndpoint implements DeviceEndpoint {
  readonly resource: string;
  readonly socketPath: string;
  readonly mode: RegistrationMode;
  readonly #client: DevicePluginClient;
  readonly #hooks: EndpointHooks;
  #stream: grpc.ClientReadableStream<ListAndWatchResponse> | undefined;
  #closed = false;

  constructor(resource: string, socketPath: string, mode: RegistrationMode, client: DevicePluginClient, hooks: EndpointHooks) {
    this.resource = resource;
    this.socketPath = socketPath;
    this.mode = mode;
    this.#client = client;
    this.#hooks = hooks;
  }

  /** Dial (blocking, like grpc.WithBlock) and ask for the options; errors carry the kubelet's wording. */
  static async connect(
    resource: string,
    socketPath: string,
    mode: RegistrationMode,
    hooks: EndpointHooks,
    dialTimeoutMs: number,
  ): Promise<{ endpoint: GrpcEndpoint; options: DevicePluginOptions }> {
    const client = new DevicePluginClient(socketPath);
    try {
      await client.waitForReady(dialTimeoutMs);
    } catch (e) {
      client.close();
      throw new Error(`failed to dial device plugin: ${(e as Error).message}`);
    }
    const endpoint = new GrpcEndpoint(resource, socketPath, mode, client, hooks);
    let options: DevicePluginOptions;
    try {
      options = await endpoint.#call(METHODS.getDevicePluginOptions, {}, () => client.getDevicePluginOptions(hooks.callTimeoutMs));
    } catch (e) {
      client.close();
      throw new Error(`failed to get device plugin options: ${goRpcError(e)}`);
    }
    return { endpoint, options };
  }

  async #call<Req, Res>(method: string, request: Req, f: () => Promise<Res>): Promise<Res> {
    const h = this.#hooks;
    try {
      const response = await f();
      h.emit({ kind: 'grpc', node: h.nodeName, socket: this.socketPath, direction: 'out', method, request, response, atMs: h.clock.now() });
      return response;
    } catch (e) {
      h.emit({ kind: 'grpc', node: h.nodeName, socket: this.socketPath, direction: 'out', method, request, error: goRpcError(e), atMs: h.clock.now() });
      throw e;
    }
  }

  /** Open the one ListAndWatch stream. `onEnd` runs once when it ends for any reason other than close(). */
  listAndWatch(onDevices: (devices: Device[]) => void, onEnd: (error?: string) => void): void {
    const h = this.#hooks;
    const stream = this.#client.listAndWatch();
    this.#stream = stream;
    h.emit({ kind: 'grpc', node: h.nodeName, socket: this.socketPath, direction: 'out', method: METHODS.listAndWatch, request: {}, atMs: h.clock.now() });
    let ended = false;
    const end = (error?: string) => {
      if (ended) return;
      ended = true;
      if (this.#closed) return;
      h.emit({ kind: 'grpc', node: h.nodeName, socket: this.socketPath, direction: 'out', method: METHODS.listAndWatch, error: error ?? 'stream ended', atMs: h.clock.now() });
      this.#client.close();
      onEnd(error);
    };
    stream.on('data', (msg: ListAndWatchResponse) => {
      if (this.#closed || ended) return;
      h.emit({ kind: 'grpc', node: h.nodeName, socket: this.socketPath, direction: 'out', method: METHODS.listAndWatch, message: msg, atMs: h.clock.now() });
      onDevices(msg.devices ?? []);
    });
    stream.on('error', (e: Error) => end(goRpcError(e)));
    stream.on('end', () => end());
  }

  allocate(req: AllocateRequest): Promise<AllocateResponse> {
    return this.#call(METHODS.allocate, req, () => this.#client.allocate(req, this.#hooks.callTimeoutMs));
  }
  getPreferredAllocation(req: PreferredAllocationRequest): Promise<PreferredAllocationResponse> {
    return this.#call(METHODS.getPreferredAllocation, req, () => this.#client.getPreferredAllocation(req, this.#hooks.callTimeoutMs));
  }
  preStartContainer(req: PreStartContainerRequest): Promise<PreStartContainerResponse> {
    return this.#call(METHODS.preStartContainer, req, () => this.#client.preStartContainer(req, this.#hooks.callTimeoutMs));
  }

  /** The kubelet goes away: cancel the stream without reporting a disconnect. */
  close(): void {
    this.#closed = true;
    this.#stream?.cancel();
    this.#client.close();
  }
}
