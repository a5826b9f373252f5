// Pod Resources API v1 server (/var/lib/kubelet/pod-resources/kubelet.sock): List, GetAllocatableResources, Get,
// behind the kubelet's rate limit (100 requests/s, burst 10; over it: ResourceExhausted "rejected by rate limit").
import { grpc, listenUnix, METHODS, protos, statusError, stopServer, unaryHandler } from './grpc.ts';
import type {
  AllocatableResourcesResponse,
  Clock,
  ContainerDevices,
  GetPodResourcesRequest,
  GetPodResourcesResponse,
  KubeletEvent,
  ListPodResourcesResponse,
  PodResources,
  PodSpecLite,
} from './types.ts';

export const POD_RESOURCES_QPS = 100;
export const POD_RESOURCES_BURST = 10;

/** Token bucket on an injectable clock (like golang.org/x/time/rate's Allow). */
export class TokenBucket {
  readonly #clock: Clock;
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #lastMs: number;
  constructor(clock: Clock, qps: number, burst: number) {
    this.#clock = clock;
    this.#ratePerMs = qps / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#lastMs = clock.now();
  }
  allow(): boolean {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#lastMs) * this.#ratePerMs);
    this.#lastMs = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }
}

export interface PodResourcesProvider {
  nodeName: string;
  clock: Clock;
  emit(e: KubeletEvent): void;
  /** active pods, in admission order */
  activePods(): PodSpecLite[];
  /** any pod the kubelet knows by namespace/name */
  podByName(namespace: string, name: string): PodSpecLite | undefined;
  /** forget devices of inactive pods before answering */
  updateAllocatedDevices(): void;
  containerDevices(podUid: string, container: string): ContainerDevices[];
  allocatableDevices(): ContainerDevices[];
}

function podResources(p: PodResourcesProvider, pod: PodSpecLite): PodResources {
  // restartable (sidecar) init containers are listed first, then app containers
  const containers = [...pod.initContainers.filter((c) => c.restartPolicy === 'Always'), ...pod.containers];
  return {
    name: pod.name,
    namespace: pod.namespace,
    containers: containers.map((c) => ({ name: c.name, devices: p.containerDevices(pod.uid, c.name), cpu_ids: [], memory: [] })),
  };
}

export class PodResourcesServer {
  readonly socketPath: string;
  readonly #server = new grpc.Server();
  readonly #limiter: TokenBucket;

  constructor(socketPath: string, provider: PodResourcesProvider) {
    this.socketPath = socketPath;
    this.#limiter = new TokenBucket(provider.clock, POD_RESOURCES_QPS, POD_RESOURCES_BURST);
    const traced = <Req, Res>(method: string, f: (req: Req) => Res) =>
      unaryHandler<Req, Res>(async (req) => {
        const at = provider.clock.now();
        try {
          if (!this.#limiter.allow()) throw statusError(grpc.status.RESOURCE_EXHAUSTED, 'rejected by rate limit');
          const response = f(req);
          provider.emit({ kind: 'grpc', node: provider.nodeName, direction: 'in', method, request: req, response, atMs: at });
          return response;
        } catch (e) {
          provider.emit({ kind: 'grpc', node: provider.nodeName, direction: 'in', method, request: req, error: (e as Error).message, atMs: at });
          throw e;
        }
      });
    this.#server.addService(protos().podResourcesService, {
      List: traced(METHODS.podResourcesList, (): ListPodResourcesResponse => {
        provider.updateAllocatedDevices();
        return { pod_resources: provider.activePods().map((pod) => podResources(provider, pod)) };
      }),
      GetAllocatableResources: traced(
        METHODS.podResourcesGetAllocatable,
        (): AllocatableResourcesResponse => ({ devices: provider.allocatableDevices(), cpu_ids: [], memory: [] }),
      ),
      Get: traced(METHODS.podResourcesGet, (req: GetPodResourcesRequest): GetPodResourcesResponse => {
        const pod = provider.podByName(req.pod_namespace, req.pod_name);
        if (!pod) throw new Error(`pod ${req.pod_name} in namespace ${req.pod_namespace} not found`);
        provider.updateAllocatedDevices();
        return { pod_resources: podResources(provider, pod) };
      }),
    });
  }

  listen(): Promise<void> {
    return listenUnix(this.#server, this.socketPath);
  }

  stop(): void {
    stopServer(this.#server);
  }
}
