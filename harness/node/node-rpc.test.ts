// node-rpc on both of its carriers: a TCP server (the qemu and host agents) and a pair of byte streams (the cluster
// backend's agent on an exec's stdin/stdout), with the node-operations handlers of a real cluster's node.
import t from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { NodeRpcClient, answerNodeRpc, serveNodeRpc, type NodeHandlers, type NodeNotification, type RpcStream } from './node-rpc.ts';
import { nodeOpsHandlers } from './node-ops.ts';

/** a client and an agent joined by two pipes, as the exec WebSocket joins them */
function streamPair(handlers: Partial<NodeHandlers>, unsupported?: string): NodeRpcClient {
  const toAgent = new PassThrough();
  const fromAgent = new PassThrough();
  answerNodeRpc(toAgent, (line) => void fromAgent.write(line), handlers, unsupported);
  let destroyed = false;
  const stream: RpcStream = {
    setEncoding: (e) => fromAgent.setEncoding(e),
    on: (ev: 'data' | 'close' | 'error', cb: ((d: string) => void) | (() => void) | ((e: Error) => void)) => void fromAgent.on(ev, cb as (d: string) => void),
    write: (s) => toAgent.write(s),
    destroy: () => {
      destroyed = true;
      fromAgent.destroy();
    },
    get destroyed() {
      return destroyed;
    },
  };
  return new NodeRpcClient('node1', stream, () => undefined);
}

t.test('over TCP: a call, its error, an unknown method and a notification, in order', async (t) => {
  const server = createServer();
  const handlers = {
    hello: async () => ({ nodeName: 'node1', kernelRelease: 'test', capacity: {}, allocatable: {} }),
    exec: async ({ argv }: { argv: string[] }) => {
      if (argv[0] === 'fail') throw Object.assign(new Error('no such thing'), { name: 'PodStartError', reason: 'Because' });
      notify({ event: 'resources', data: { capacity: { x: '1' }, allocatable: { x: '1' } } });
      return { exitCode: 0, stdout: argv.join(' '), stderr: '', durationMs: 1 };
    },
  } as unknown as NodeHandlers;
  const { notify } = serveNodeRpc(server, handlers);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => void server.close());
  const seen: NodeNotification[] = [];
  const { client, hello } = await NodeRpcClient.connect('node1', (server.address() as AddressInfo).port, 5000, (n) => seen.push(n));
  t.teardown(() => client.close());
  t.equal(hello.nodeName, 'node1');
  const r = await client.call('exec', { argv: ['echo', 'hi'] });
  t.equal(r.stdout, 'echo hi');
  t.same(seen.map((n) => n.event), ['resources'], 'the notification arrived before the reply it preceded');
  await t.rejects(client.call('exec', { argv: ['fail'] }), { name: 'PodStartError', message: 'no such thing', remote: { reason: 'Because' } });
  await t.rejects(client.call('kubelet', { action: 'restart' }), { message: 'unknown method kubelet' });
});

t.test('over a stream pair: the node-operations agent of a real cluster node', async (t) => {
  let exited = 0;
  const client = streamPair(nodeOpsHandlers({ hostNs: false, nodeName: 'node1', exit: () => exited++ }), "not served on a node of a real cluster (its kubelet is the cluster's):");
  t.teardown(() => client.close());
  const hello = await client.call('hello', {});
  t.equal(hello.nodeName, 'node1');
  t.match(hello.kernelRelease, /^\d+\.\d+/, "this machine's kernel release");
  const r = await client.call('exec', { argv: ['sh', '-c', 'read x; echo "got $x"; echo err >&2; exit 4'], input: 'line\n' });
  t.match(r, { exitCode: 4, stdout: 'got line\n', stderr: 'err\n' }, 'a command with its stdin, output and exit code');
  await t.rejects(client.call('kubelet', { action: 'restart' }), /kubelet restart needs the node's own systemd/, 'no kubelet service without the host namespaces');
  await t.rejects(client.call('admitPod', { pod: {} as never }), { message: "not served on a node of a real cluster (its kubelet is the cluster's): admitPod" });
  const c = await client.call('collect', { what: ['logs', 'checkpoint'] });
  t.match(c.errors.logs, /the kubelet log needs the node's own systemd/);
  t.ok(c.checkpoint !== undefined || c.errors.checkpoint !== undefined, 'the checkpoint, or why not');
  await client.call('shutdown', {});
  await new Promise((r) => setImmediate(r));
  t.equal(exited, 1, 'shutdown ends the agent');
});
