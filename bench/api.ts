// The Kubernetes API of the simulated cluster: latency of the real `kubectl get pods -o wide` with 100 pods, the
// delay from a store change to a watching client, and list requests/s over HTTPS with the client certificate.
// Run: node --import tsx bench/api.ts [pods] [listSeconds]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { Cluster } from '../sim/cluster/cluster.ts';
import { FakeAgent } from '../sim/cluster/fake-agent.ts';
import { ApiServer } from '../sim/apiserver/server.ts';

const PODS = Number(process.argv[2] ?? 100);
const LIST_SECONDS = Number(process.argv[3] ?? 3);
const KUBECTL = '/usr/bin/kubectl';

const cluster = new Cluster({ seed: 42 });
cluster.addNode(new FakeAgent('node1', { 'intel.com/vf': PODS }));
const api = await ApiServer.start({ cluster });
const pod = (i: number): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `pod-${String(i).padStart(3, '0')}`, namespace: 'default', labels: { app: 'bench' } },
  spec: { containers: [{ name: 'app', image: 'busybox', resources: { limits: { 'intel.com/vf': '1' } } }] },
});
for (let i = 0; i < PODS; i++) cluster.createPod(pod(i));
await cluster.settle();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const work = mkdtempSync(join(tmpdir(), 'sl-bench-api-'));
try {
  // 1. kubectl get pods -o wide (a process each time: discovery from its cache after the first run)
  if (existsSync(KUBECTL)) {
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeconfig(), { mode: 0o600 });
    const times: number[] = [];
    for (let i = 0; i < 11; i++) {
      const t0 = performance.now();
      // the server runs in this process: the client must not block its event loop
      const r = await promisify(execFile)(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(work, 'cache'), 'get', 'pods', '-o', 'wide'], { encoding: 'utf8' });
      const ms = performance.now() - t0;
      if (r.stdout.trim().split('\n').length !== PODS + 1) throw new Error(`kubectl get pods printed ${r.stdout}`);
      if (i > 0) times.push(ms); // the first fills the discovery cache
    }
    console.log(`kubectl get pods -o wide, ${PODS} pods: median ${median(times).toFixed(1)} ms, min ${Math.min(...times).toFixed(1)} ms (10 runs, warm discovery cache)`);
  } else console.log(`kubectl get pods -o wide: skipped (no kubectl at ${KUBECTL})`);

  const agent = new Agent({ ca: api.pki.caCert, cert: api.pki.clientCert, key: api.pki.clientKey, keepAlive: true, maxSockets: 8 });
  const get = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const req = request(`${api.url}${path}`, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode} ${body}`))));
      });
      req.on('error', reject);
      req.end();
    });

  // 2. watch delay: a label change in the store → the MODIFIED line read by the client
  const delays: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const sentAt = new Map<string, number>();
    let n = 0;
    const req = request(`${api.url}/api/v1/namespaces/default/pods?watch=1&resourceVersion=${cluster.store.resourceVersion}`, { agent }, (res) => {
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const ev = JSON.parse(buf.slice(0, nl)) as { type: string; object: V1Pod };
          buf = buf.slice(nl + 1);
          const at = sentAt.get(ev.object.metadata?.labels?.round ?? '');
          if (ev.type === 'MODIFIED' && at !== undefined) delays.push(performance.now() - at);
        }
        if (delays.length === 200) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (e) => (delays.length === 200 ? undefined : reject(e)));
    req.end();
    const tick = () => {
      if (n >= 200) return;
      const round = String(n++);
      sentAt.set(round, performance.now());
      cluster.store.modify('Pod', 'default', 'pod-000', (p) => void (p.metadata = { ...p.metadata, labels: { ...p.metadata?.labels, round } }));
      setTimeout(tick, 2);
    };
    setTimeout(tick, 50);
  });
  console.log(`watch event delay (store change → client): median ${median(delays).toFixed(2)} ms, p99 ${[...delays].sort((a, b) => a - b)[197].toFixed(2)} ms (200 events)`);

  // 3. list requests/s: GET of the 100 pods as JSON, 8 in flight
  let count = 0;
  const until = performance.now() + LIST_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (performance.now() < until) {
        await get('/api/v1/namespaces/default/pods?limit=500');
        count++;
      }
    }),
  );
  console.log(`list of ${PODS} pods (JSON, 8 concurrent, keep-alive): ${(count / LIST_SECONDS).toFixed(0)} requests/s`);
  agent.destroy();
} finally {
  await api.close();
  cluster.close();
  rmSync(work, { recursive: true, force: true });
}
