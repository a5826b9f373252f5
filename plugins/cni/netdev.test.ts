// The way back from a pod (returnNetdev), command by command: a netdev that was up before the pod comes back up in
// the same netlink request that moves it, so the node never sees it down in between (a device plugin polling
// operstate would report it Unhealthy for as long as a second ip call takes).
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError } from './errors.ts';
import { Runner, type RunOptions, type RunResult } from './exec.ts';
import { Logger } from './log.ts';
import { returnNetdev } from './netdev.ts';
import { Sysfs } from './sysfs.ts';

/** a Runner that runs nothing: records each command (with its batch input) and answers from `answer` */
class RecordingRunner extends Runner {
  readonly calls: string[] = [];
  constructor(private readonly answer: (cmd: string) => RunResult | CommandError) {
    super(new Logger(), { PATH: '/usr/bin' });
  }
  override run(argv: readonly string[], opts: RunOptions = {}): RunResult {
    const cmd = `${argv.join(' ')}${opts.input ? ` <<< ${opts.input.trim()}` : ''}`;
    this.calls.push(cmd);
    const r = this.answer(cmd);
    if (r instanceof CommandError) throw r;
    return r;
  }
}

const ok = (stdout = ''): RunResult => ({ stdout, stderr: '', exitCode: 0, durationMs: 1 });
const link = (mac: string, up: boolean) => ok(JSON.stringify([{ ifindex: 3, ifname: 'eth1', address: mac, mtu: 1500, flags: up ? ['BROADCAST', 'UP'] : ['BROADCAST'] }]));

t.test('returnNetdev: moved, renamed and brought up in one request; MAC restored after', async (t) => {
  const root = t.testdir({});
  mkdirSync(join(root, 'bus/pci/devices/0000:00:05.0'), { recursive: true }); // no net/: the netdev is not here
  const sysfs = new Sysfs(root);
  const original = { name: 'eth1', mac: '52:54:00:12:34:56', mtu: 1500, up: true, altnames: [] };
  const args = { pciAddr: '0000:00:05.0', original, ifname: 'net1', netns: '/proc/self/ns/net' };

  let r = new RecordingRunner((cmd) => (cmd.includes('-j link show') ? link('52:54:00:12:34:56', true) : ok()));
  t.equal(returnNetdev(r, sysfs, new Logger(), args), 'returned');
  t.same(r.calls, [
    `nsenter --net=/proc/self/ns/net -- ip -batch - <<< link set dev net1 netns /proc/${process.pid}/ns/net name eth1 mtu 1500 up`,
    'ip link set dev eth1 address 52:54:00:12:34:56',
  ], 'one ip request moves it and brings it up, one sets the MAC (setting the MAC it has changes nothing); no later "link set up"');

  r = new RecordingRunner((cmd) => (cmd.includes('-j link show') ? link('02:aa:00:00:00:01', true) : ok()));
  returnNetdev(r, sysfs, new Logger(), args);
  t.same(r.calls.slice(1), ['ip link set dev eth1 address 52:54:00:12:34:56'], 'a MAC the pod changed is set back while up');

  // refused while up: the one-call attempt, then setAddress (look, set), then down, MAC, up
  let busy = 2;
  r = new RecordingRunner((cmd) => {
    if (cmd.includes('-j link show')) return link('02:aa:00:00:00:01', !cmd.includes('after-down'));
    if (cmd.endsWith('address 52:54:00:12:34:56') && busy > 0) {
      busy--;
      return new CommandError(cmd.split(' '), 2, 'RTNETLINK answers: Device or resource busy\n', 1);
    }
    return ok();
  });
  returnNetdev(r, sysfs, new Logger(), args);
  t.same(r.calls.slice(1), [
    'ip link set dev eth1 address 52:54:00:12:34:56',
    'ip -j link show dev eth1',
    'ip link set dev eth1 address 52:54:00:12:34:56',
    'ip link set dev eth1 down',
    'ip -j link show dev eth1',
    'ip link set dev eth1 address 52:54:00:12:34:56',
    'ip link set dev eth1 up',
  ], 'a driver that cannot change its MAC while up: down, MAC, up');

  r = new RecordingRunner((cmd) => (cmd.includes('-j link show') ? link('52:54:00:12:34:56', false) : ok()));
  returnNetdev(r, sysfs, new Logger(), { ...args, original: { ...original, up: false } });
  t.match(r.calls[0], /name eth1 mtu 1500$/, 'a netdev that was down before the pod comes back down');
});
