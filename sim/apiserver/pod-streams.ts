// pods/log and pods/exec: a container's output as text/plain (streamed with follow=true until the container ends or
// the client goes), and commands in a container over WebSocket with the channel protocol (v5.channel.k8s.io; v4
// without the close message): one stream byte ahead of each binary message — 0 stdin, 1 stdout, 2 stderr, 3 the
// error channel's Status that ends the command (ExitCode cause when it exits non-zero), 4 resize, 255 close.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { V1Pod } from '@kubernetes/client-node';
import type { PodIo } from './pod-io.ts';
import { ApiError, badRequest } from './status.ts';
import type { ServerWebSocket } from './websocket.ts';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
/** how long one long poll of the node waits for output */
const POLL_MS = 10_000;

/** The container a request means: the named one, or the only one (the apiserver's messages otherwise). */
export function containerOf(pod: V1Pod, name: string | null): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  const podName = pod.metadata?.name ?? '';
  if (!name) {
    if (names.length === 1) return names[0];
    if (names.length === 0) throw badRequest(`a container name must be specified for pod ${podName}`);
    const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
    throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]${init.length ? ` or one of the init containers: [${init.join(' ')}]` : ''}`);
  }
  if (!names.includes(name)) throw badRequest(`container ${name} is not valid for pod ${podName}`);
  return name;
}

function nodeOf(pod: V1Pod): void {
  if (!pod.spec?.nodeName) throw badRequest(`pod ${pod.metadata?.name} does not have a host assigned`);
}

/** The kubelet's answer for a container that has no output to give (yet). */
function notStarted(pod: V1Pod, container: string): ApiError | undefined {
  const st = pod.status?.containerStatuses?.find((c) => c.name === container);
  if (st?.containerID) return undefined;
  const reason = st?.state?.waiting?.reason ?? 'ContainerCreating';
  return badRequest(`container ${JSON.stringify(container)} in pod ${JSON.stringify(pod.metadata?.name)} is waiting to start: ${reason}`);
}

function nonNegativeInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return n;
}

/** GET pods/NAME/log */
export async function servePodLog(req: IncomingMessage, res: ServerResponse, pod: V1Pod, q: URLSearchParams, io: PodIo, streams: Set<ServerResponse>): Promise<void> {
  const container = containerOf(pod, q.get('container'));
  nodeOf(pod);
  const previous = q.get('previous') === 'true';
  const follow = q.get('follow') === 'true';
  const tailLines = nonNegativeInt(q, 'tailLines');
  if (tailLines !== undefined && tailLines < 0) throw badRequest('tailLines: Invalid value: ' + tailLines + ': must be greater than or equal to 0');
  if (!previous) {
    const e = notStarted(pod, container);
    if (e) throw e;
  }
  let first;
  try {
    first = await io.readLog(pod, container, { previous, tailLines, waitMs: 0 });
  } catch (e) {
    if (previous) throw badRequest(`previous terminated container ${JSON.stringify(container)} in pod ${JSON.stringify(pod.metadata?.name)} not found`);
    throw e;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', ...(follow ? { 'Transfer-Encoding': 'chunked' } : {}) });
  const write = (b64: string) => {
    if (b64) res.write(Buffer.from(b64, 'base64'));
  };
  write(first.data);
  if (!follow || first.ended) {
    res.end();
    return;
  }
  streams.add(res);
  let gone = false;
  req.once('close', () => (gone = true));
  res.once('close', () => (gone = true));
  try {
    let offset = first.offset;
    while (!gone && !res.writableEnded) {
      const r = await io.readLog(pod, container, { previous, offset, waitMs: POLL_MS });
      write(r.data);
      offset = r.offset;
      if (r.ended) break;
    }
  } catch {
    /* the pod went away: its log ends */
  } finally {
    streams.delete(res);
    if (!res.writableEnded) res.end();
  }
}

/** What a pods/exec request asks for, checked before the upgrade (its errors are plain Status replies). */
export interface ExecRequest {
  container: string;
  argv: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function execRequestOf(pod: V1Pod, q: URLSearchParams): ExecRequest {
  const container = containerOf(pod, q.get('container'));
  nodeOf(pod);
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  const e = notStarted(pod, container);
  if (e) throw e;
  const argv = q.getAll('command');
  if (argv.length === 0) throw badRequest('you must specify at least 1 command');
  const bool = (n: string) => q.get(n) === 'true' || q.get(n) === '1';
  const r = { container, argv, stdin: bool('stdin'), stdout: bool('stdout'), stderr: bool('stderr'), tty: bool('tty') };
  if (!r.stdin && !r.stdout && !r.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (r.tty && r.stderr) r.stderr = false; // a terminal has one output
  return r;
}

/** the error channel's Status for an exit code, as the kubelet writes it */
export function exitStatus(argv: string[], exitCode: number): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

const CH = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** Runs the command of an accepted exec WebSocket until it ends or the client goes. */
export async function runExec(ws: ServerWebSocket, protocol: string, pod: V1Pod, r: ExecRequest, io: PodIo): Promise<void> {
  const frame = (ch: number, data: Buffer) => ws.send(Buffer.concat([Buffer.from([ch]), data]));
  let id: string;
  try {
    id = await io.execStart(pod, r.container, r.argv, { stdin: r.stdin, tty: r.tty });
  } catch (e) {
    frame(CH.error, Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message: (e as Error).message, reason: 'InternalError', code: 500 })));
    ws.close();
    return;
  }
  // stdin goes to the node in order, one call after the other
  let input: Promise<void> = Promise.resolve();
  const send = (data: string | undefined, close: boolean) => {
    input = input.then(() => io.execInput(pod, id, data, close)).catch(() => undefined);
  };
  let clientGone = false;
  ws.on({
    message(m) {
      if (m.length === 0) return;
      const ch = m[0];
      if (ch === CH.stdin && r.stdin && m.length > 1) send(m.subarray(1).toString('base64'), false);
      else if (ch === CH.close && protocol.startsWith('v5') && m[1] === CH.stdin) send(undefined, true);
      // resize (4): script(1) keeps the size it started with
    },
    close() {
      clientGone = true;
    },
  });
  try {
    for (;;) {
      if (clientGone) {
        await io.execKill(pod, id);
        return;
      }
      const out = await io.execRead(pod, id, 1000);
      if (out.stdout && r.stdout) frame(CH.stdout, Buffer.from(out.stdout, 'base64'));
      if (out.stderr && r.stderr) frame(CH.stderr, Buffer.from(out.stderr, 'base64'));
      else if (out.stderr && r.tty && r.stdout) frame(CH.stdout, Buffer.from(out.stderr, 'base64'));
      if (out.exit) {
        frame(CH.error, Buffer.from(JSON.stringify(exitStatus(r.argv, out.exit.exitCode))));
        break;
      }
    }
  } catch (e) {
    if (ws.isOpen) frame(CH.error, Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message: (e as Error).message, reason: 'InternalError', code: 500 })));
  }
  ws.close();
}
