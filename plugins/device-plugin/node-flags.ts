// The node flags the bundled device plugin is started with, wherever it is started (the harness's nodes, the
// container image's ENTRYPOINT (harness/images/manifests.test.ts checks the Dockerfile), bench/device-plugin.ts).
// Measured at 1,024 VFs (bench/device-plugin.ts, RSS after start-up, Allocate and the change tests): defaults
// ~95-104 MiB, of which heapTotal ~50 MiB with ~25 MiB used: discovery's surviving objects grow the young generation
// to its default 16 MiB semi-spaces and it stays there. --max-semi-space-size=1 keeps it at 1 MiB (~83 MiB RSS; more
// frequent, shorter scavenges), and --v8-pool-size=1 one V8 worker thread instead of one per core with its own
// malloc arena (~78 MiB). They cannot be set from inside the process: V8 sizes the heap when it starts.
// The cost: any V8 heap flag changes V8's flag hash, so node's embedded code cache of its built-in modules no longer
// applies and the ones loaded after bootstrap (http2, tls, zlib, dns, … which grpc-js requires) compile from source:
// `require` of those took 79 -> 103 ms (median of 15, interleaved), the bundle's start to exit 126 -> 157 ms.
// --v8-pool-size (a node option) alone costs nothing measurable but saves nothing either (~96 MiB).
export const DEVICE_PLUGIN_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1'];

/** `argv` (a node command line: node first) with the flags right after node. */
export function withDevicePluginNodeFlags(argv: readonly string[]): string[] {
  return [argv[0], ...DEVICE_PLUGIN_NODE_FLAGS, ...argv.slice(1)];
}
