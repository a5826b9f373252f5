// host-device mode (types "ehost-device" and "host-device"): a netdev chosen by PCI address, name or MAC moves
// into the pod as CNI_IFNAME with IPAM, and comes back under its own name, MAC and MTU.
import t from 'tap';
import { missingCaps, missingCniPlugins, startTestNode } from './test-node.ts';

const skip = missingCaps ? `simulated nodes need ${missingCaps.name}: ${missingCaps.detail}` : missingCniPlugins ? `IPAM needs ${missingCniPlugins.detail}` : false;

interface Link {
  ifname: string;
  address: string;
  mtu: number;
  flags: string[];
}

t.test('host-device mode in a simulated node', { skip }, async (t) => {
  const tn = await startTestNode({ numVfs: 2 });
  t.teardown(() => tn.stop());
  const hostLink = async (name: string) => (await tn.ipJson<Link[]>(['link', 'show'])).find((l) => l.ifname === name);
  const eth1 = await hostLink('eth1');
  const vf1 = await hostLink('ens1f0v1');
  t.ok(eth1 && vf1, 'eth1 (virtio-net) and ens1f0v1 exist');

  const selectors: Array<[string, Record<string, unknown>, string, Link]> = [
    ['pciBusID + deviceID (as Multus injects them)', { pciBusID: '0000:01:10.4', deviceID: '0000:01:10.4' }, 'ens1f0v1', vf1!],
    ['pciBusID of a virtio-net function (netdev under virtioN/)', { pciBusID: '0000:00:05.0' }, 'eth1', eth1!],
    ['device', { device: 'eth1' }, 'eth1', eth1!],
    ['hwaddr', { hwaddr: eth1!.address.toUpperCase() }, 'eth1', eth1!],
  ];
  for (const [type, version] of [['ehost-device', '1.0.0'], ['host-device', '0.4.0'], ['ehost-device', '1.1.0']] as const) {
    for (const [how, sel, name, orig] of selectors) {
      const label = `${type} ${version} by ${how}`;
      const pod = tn.addPod(`hd${Math.random().toString(36).slice(2, 7)}`);
      const c = { cniVersion: version, name: 'hd-net', type, ...sel, ipam: { type: 'host-local', subnet: '10.77.0.0/24' } };
      const add = await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'hd', args: 'IgnoreUnknown=1;MAC=02:cc:00:00:00:01' });
      t.equal(add.exitCode, 0, `${label} ADD: ${add.stdout}${add.stderr}`);
      t.match(add.json, { interfaces: [{ name: 'net1', mac: '02:cc:00:00:00:01', sandbox: pod }], ips: [{ interface: 0, address: /^10\.77\.0\./ }] }, label);
      t.notOk(await hostLink(name), `${label}: ${name} left the node namespace`);
      const inPod = (await tn.ipJson<Link[]>(['link', 'show'], pod)).find((l) => l.ifname === 'net1');
      t.match(inPod, { address: '02:cc:00:00:00:01' }, `${label}: net1 in the pod with the CNI_ARGS MAC`);
      const check = await tn.cni({ command: 'CHECK', netns: pod, config: { ...c, prevResult: add.json }, containerId: 'hd', args: 'IgnoreUnknown=1;MAC=02:cc:00:00:00:01' });
      t.equal(check.exitCode, 0, `${label} CHECK: ${check.stdout}`);
      for (let i = 0; i < 2; i++) {
        const del = await tn.cni({ command: 'DEL', netns: pod, config: c, containerId: 'hd' });
        t.equal(del.exitCode, 0, `${label} DEL #${i + 1}: ${del.stdout}`);
      }
      t.match(await hostLink(name), { ifname: name, address: orig.address, mtu: orig.mtu }, `${label}: back under its name with its MAC and MTU`);
      tn.delPod(pod);
    }
  }

  t.test('the device came home on its own (as the kernel does when a pod netns dies): DEL renames it back', async (t) => {
    const pod = tn.addPod('home');
    const c = { cniVersion: '1.0.0', name: 'hd-net', type: 'ehost-device', device: 'eth1', mtu: 1300 };
    t.equal((await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'home' })).exitCode, 0);
    // into the node namespace, named by the shell's pid (the shell runs in it)
    const back = await tn.sh(`nsenter --net=${pod} ip link set dev net1 netns /proc/$$/ns/net && ip -br link show net1`);
    t.equal(back.exitCode, 0, back.stderr);
    const del = await tn.cni({ command: 'DEL', netns: pod, config: c, containerId: 'home' });
    t.equal(del.exitCode, 0, del.stdout);
    t.match(await hostLink('eth1'), { address: eth1!.address, mtu: eth1!.mtu }, 'eth1 again, MAC and MTU restored');
    t.notOk(await hostLink('net1'));
    tn.delPod(pod);
  });
});
