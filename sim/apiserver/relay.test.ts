// The node relay to the API server's unix socket (relay.ts), here in this namespace on a port of its own: the real
// kubectl reaches the server through it (TLS end to end: the serving certificate for 127.0.0.1 holds on any port), it
// refuses a bad command line, and it exits when its stdin closes, as when the process that started it is gone.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../cluster/cluster.ts';
import { FakeAgent } from '../cluster/fake-agent.ts';
import { entryCommand } from '../paths.ts';
import { kubeconfigYaml } from './pki.ts';
import { ApiServer } from './server.ts';
import { KUBECTL, kubectlRunner } from './fixtures/kubectl.ts';

const RELAY = entryCommand('api-relay', 'sim/apiserver/relay.ts');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function startRelay(args: string[]) {
  const [cmd, ...rest] = [...RELAY, ...args];
  const c = spawn(cmd, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    c.stdout.on('data', () => out.includes('READY\n') && resolve());
    void exited.then((code) => reject(new Error(`relay exited ${code}: ${err}`)));
  });
  // a relay that is meant to fail is never awaited ready
  ready.catch(() => undefined);
  return { c, ready, exited, stderr: () => err };
}

t.test('kubectl through the relay; the relay ends with its stdin', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'sl-relay-'));
  const cluster = new Cluster({ seed: 5 });
  cluster.addNode(new FakeAgent('node1'));
  const api = await ApiServer.start({ cluster });
  const socket = join(work, 'api.sock');
  await api.listenUnix(socket);
  t.teardown(async () => {
    await api.close();
    cluster.close();
    rmSync(work, { recursive: true, force: true });
  });
  t.ok(existsSync(socket), 'the unix socket exists');

  const port = await freePort();
  const relay = startRelay([String(port), socket]);
  t.teardown(() => relay.c.kill('SIGKILL'));
  await relay.ready;
  if (existsSync(KUBECTL)) {
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml({ name: 'sriov-lab', server: `https://127.0.0.1:${port}`, pki: api.pki }), { mode: 0o600 });
    const kubectl = kubectlRunner(kubeconfig, work);
    const nodes = await kubectl(['get', 'nodes']);
    t.equal(nodes.code, 0, `kubectl get nodes through the relay: ${nodes.stderr}`);
    t.match(nodes.stdout, /^node1\s+Ready\s/m);
    const created = await kubectl(['create', 'configmap', 'via-relay', '--from-literal=k=v']);
    t.equal(created.code, 0, created.stderr);
    t.same(cluster.store.get('ConfigMap', 'default', 'via-relay')?.data, { k: 'v' }, 'a write through it too');
  } else t.comment(`no kubectl at ${KUBECTL}: the kubectl part is left out`);

  relay.c.stdin.end();
  t.equal(await relay.exited, 0, 'its stdin closed (its parent gone): the relay exits 0');
  t.equal(api.watchCount, 0, 'and nothing of it is left in the server');

  const bad = startRelay(['0x', socket]);
  t.equal(await bad.exited, 2, 'a bad port: exit 2');
  t.match(bad.stderr(), /^usage: relay <port> <unix socket path>/);
});
