// A control socket backed by an in-memory map of PFs and VF attributes: the part of the protocol the ip wrapper
// uses (pf.list, vf.list, vf.set), for the wrapper's tests and benchmark without the kernel model.
import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { ControlRequest, ControlResponse, PfSummary, VfAttrs } from '../kernel/types.ts';

export interface MemoryPf {
  ifname: string;
  pciAddr: string;
  totalVfs: number;
  vfs: VfAttrs[];
}

export const defaultVfAttrs = (): VfAttrs => ({
  mac: '00:00:00:00:00:00', vlan: 0, qos: 0, vlanProto: '802.1Q', spoofchk: true, trust: false, linkState: 'auto', minTxRate: 0, maxTxRate: 0,
});

export interface MemoryControlServer {
  socketPath: string;
  pfs: Map<string, MemoryPf>;
  /** every request received, in order */
  requests: ControlRequest[];
  close(): Promise<void>;
}

function handle(pfs: Map<string, MemoryPf>, req: ControlRequest): ControlResponse {
  switch (req.op) {
    case 'pf.list': {
      const list: PfSummary[] = [...pfs.values()].map((p) => ({ ifname: p.ifname, pciAddr: p.pciAddr, numVfs: p.vfs.length, totalVfs: p.totalVfs }));
      return { ok: true, pfs: list };
    }
    case 'vf.list': {
      const pf = pfs.get(req.pf);
      if (!pf) return { ok: false, errno: 'ENODEV', message: `no PF ${req.pf}` };
      return { ok: true, vfs: pf.vfs.map((a, index) => ({ ...a, index, pciAddr: `${pf.pciAddr.slice(0, -3)}${(16 + index).toString(16)}.0` })) };
    }
    case 'vf.set': {
      const pf = pfs.get(req.pf);
      if (!pf) return { ok: false, errno: 'ENODEV', message: `no PF ${req.pf}` };
      if (!Number.isInteger(req.vf) || req.vf < 0 || req.vf >= pf.vfs.length) return { ok: false, errno: 'EINVAL', message: `no VF ${req.vf}` };
      const next = { ...pf.vfs[req.vf], ...req.attrs };
      if (next.vlan > 4095 || next.qos > 7) return { ok: false, errno: 'EINVAL', message: 'vlan/qos out of range' };
      pf.vfs[req.vf] = next;
      return { ok: true };
    }
    default:
      return { ok: false, errno: 'EOPNOTSUPP', message: `${req.op} is not implemented by the memory control server` };
  }
}

export async function startMemoryControlServer(socketPath: string, pfs: MemoryPf[]): Promise<MemoryControlServer> {
  rmSync(socketPath, { force: true });
  const state = new Map(pfs.map((p) => [p.ifname, p]));
  const requests: ControlRequest[] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const req = JSON.parse(line) as ControlRequest;
        requests.push(req);
        sock.write(`${JSON.stringify(handle(state, req))}\n`);
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    pfs: state,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}
