// The plugin's contract with a runtime, without touching the machine: what it prints and which error code it
// reports for each kind of bad input. Runs the plugin in-process, and once as the bundled executable.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlugin } from './plugin.ts';
import { parseNetConf, parseEnv } from './config.ts';
import { pluginBundle } from './test-node.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'sl-cni-cache-'));
t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

const baseEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'net1', CNI_NETNS: '/run/netns/does-not-exist', CNI_PATH: '/usr/lib/cni', SRIOV_LAB_CNI_CACHE_DIR: cacheDir, SRIOV_LAB_SYSFS_ROOT: join(cacheDir, 'no-sys') };
const sriov = { cniVersion: '1.0.0', name: 'n', type: 'sriov', deviceID: '0000:01:10.0' };

const table: Array<{ name: string; env?: Record<string, string | undefined>; stdin: string; code: number; msg: RegExp }> = [
  { name: 'no CNI_COMMAND', env: { CNI_COMMAND: undefined }, stdin: JSON.stringify(sriov), code: 4, msg: /CNI_COMMAND is not set/ },
  { name: 'unknown CNI_COMMAND', env: { CNI_COMMAND: 'UPDATE' }, stdin: JSON.stringify(sriov), code: 4, msg: /unknown CNI_COMMAND "UPDATE"/ },
  { name: 'ADD without CNI_CONTAINERID', env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: '' }, stdin: JSON.stringify(sriov), code: 4, msg: /CNI_CONTAINERID is required for ADD/ },
  { name: 'ADD without CNI_NETNS', env: { CNI_COMMAND: 'ADD', CNI_NETNS: '' }, stdin: JSON.stringify(sriov), code: 4, msg: /CNI_NETNS is required for ADD/ },
  { name: 'CNI_IFNAME too long', env: { CNI_COMMAND: 'ADD', CNI_IFNAME: 'a-very-long-ifname' }, stdin: JSON.stringify(sriov), code: 4, msg: /longer than 15/ },
  { name: 'bad CNI_ARGS', env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'IgnoreUnknown' }, stdin: JSON.stringify(sriov), code: 4, msg: /not KEY=VALUE/ },
  { name: 'stdin not JSON', env: { CNI_COMMAND: 'ADD' }, stdin: '{"cniVersion": ', code: 6, msg: /cannot decode/ },
  { name: 'unsupported cniVersion', env: { CNI_COMMAND: 'ADD' }, stdin: JSON.stringify({ ...sriov, cniVersion: '0.2.0' }), code: 1, msg: /incompatible CNI versions/ },
  { name: 'CHECK with 0.3.1', env: { CNI_COMMAND: 'CHECK' }, stdin: JSON.stringify({ ...sriov, cniVersion: '0.3.1' }), code: 1, msg: /CHECK is not defined for cniVersion 0.3.1/ },
  { name: 'GC with 1.0.0', env: { CNI_COMMAND: 'GC' }, stdin: JSON.stringify(sriov), code: 1, msg: /GC is not defined/ },
  { name: 'missing deviceID', env: { CNI_COMMAND: 'ADD' }, stdin: JSON.stringify({ ...sriov, deviceID: undefined }), code: 7, msg: /"deviceID" is required.*resourceName/ },
  { name: 'vlan out of range', env: { CNI_COMMAND: 'ADD' }, stdin: JSON.stringify({ ...sriov, vlan: 5000 }), code: 7, msg: /"vlan" must be an integer from 0 to 4094, got 5000/ },
  { name: 'host-device field in sriov', env: { CNI_COMMAND: 'ADD' }, stdin: JSON.stringify({ ...sriov, device: 'eth1' }), code: 2, msg: /"device" is a host-device field/ },
  { name: 'VF field in host-device', env: { CNI_COMMAND: 'ADD' }, stdin: JSON.stringify({ ...sriov, type: 'host-device', vlan: 3 }), code: 2, msg: /"vlan" is an SR-IOV VF setting/ },
  { name: 'unknown type', env: { CNI_COMMAND: 'ADD' }, stdin: JSON.stringify({ ...sriov, type: 'macvlan' }), code: 7, msg: /"type" "macvlan" is not handled/ },
  { name: 'ADD into a missing netns', env: { CNI_COMMAND: 'ADD' }, stdin: JSON.stringify(sriov), code: 3, msg: /CNI_NETNS \/run\/netns\/does-not-exist is not a network namespace/ },
  { name: 'CHECK of an unknown attachment', env: { CNI_COMMAND: 'CHECK' }, stdin: JSON.stringify(sriov), code: 3, msg: /no attachment c1\/net1/ },
  { name: 'STATUS with the IPAM plugin missing', env: { CNI_COMMAND: 'STATUS', CNI_PATH: cacheDir }, stdin: JSON.stringify({ ...sriov, cniVersion: '1.1.0', ipam: { type: 'host-local' } }), code: 50, msg: /IPAM plugin "host-local" not found/ },
];

t.test('error codes: CNI error JSON on stdout, exit 1', async (t) => {
  for (const row of table) {
    const env: Record<string, string | undefined> = { ...baseEnv, ...row.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const out = await runPlugin({ env, stdin: row.stdin });
    t.equal(out.exitCode, 1, `${row.name}: exit 1`);
    const j = JSON.parse(out.stdout) as { code: number; msg: string; details?: string; cniVersion: string };
    t.equal(j.code, row.code, `${row.name}: code ${row.code}`);
    t.match(`${j.msg}: ${j.details ?? ''}`, row.msg, `${row.name}: message`);
    t.type(j.cniVersion, 'string');
  }
});

t.test('VERSION answers without validating a config', async (t) => {
  for (const asked of ['0.4.0', '1.1.0']) {
    const out = await runPlugin({ env: { CNI_COMMAND: 'VERSION' }, stdin: JSON.stringify({ cniVersion: asked }) });
    t.equal(out.exitCode, 0);
    t.strictSame(JSON.parse(out.stdout), { cniVersion: asked, supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  }
});

t.test('DEL with nothing cached succeeds, prints nothing, and can repeat', async (t) => {
  for (let i = 0; i < 2; i++) {
    const out = await runPlugin({ env: { ...baseEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, stdin: JSON.stringify(sriov) });
    t.equal(out.exitCode, 0, out.stdout);
    t.equal(out.stdout, '');
  }
});

t.test('GC with no cache entries succeeds', async (t) => {
  const out = await runPlugin({ env: { ...baseEnv, CNI_COMMAND: 'GC' }, stdin: JSON.stringify({ ...sriov, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }) });
  t.equal(out.exitCode, 0, out.stdout);
});

t.test('config: MAC precedence, PCI forms, VF rules', async (t) => {
  const env = parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_IFNAME: 'net1', CNI_NETNS: '/x', CNI_ARGS: 'IgnoreUnknown=1;MAC=02:00:00:00:00:0b' });
  const conf = (o: Record<string, unknown>) => parseNetConf(JSON.stringify({ ...sriov, ...o }), env);
  t.equal(conf({ mac: '02:00:00:00:00:0c' }).mac, '02:00:00:00:00:0b', 'CNI_ARGS MAC beats mac');
  t.equal(conf({ mac: '02:00:00:00:00:0c', runtimeConfig: { mac: '02:00:00:00:00:0A' } }).mac, '02:00:00:00:00:0a', 'runtimeConfig.mac beats both');
  t.equal(conf({ mac: '02:00:00:00:00:0c' }).vf.mac, '02:00:00:00:00:0b', 'the VF admin MAC follows');
  const noArgs = parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_IFNAME: 'net1', CNI_NETNS: '/x' });
  t.equal(parseNetConf(JSON.stringify({ ...sriov, mac: '02:00:00:00:00:0C' }), noArgs).mac, '02:00:00:00:00:0c', 'mac alone');
  t.equal(conf({ deviceID: '01:10.3' }).pciAddr, '0000:01:10.3', 'short PCI address');
  t.equal(conf({ deviceID: undefined, pciBusID: '0000:01:10.2' }).pciAddr, '0000:01:10.2', 'pciBusID alone');
  t.throws(() => conf({ pciBusID: '0000:01:10.2' }), { code: 7, message: /differs from "deviceID"/ });
  t.throws(() => conf({ mac: '03:00:00:00:00:01', runtimeConfig: {} }), { code: 7, message: /multicast/ });
  t.throws(() => conf({ vlanQoS: 3 }), { code: 7, message: /"vlanQoS" needs a non-zero "vlan"/ });
  t.throws(() => conf({ vlanProto: '802.1ad' }), { code: 7, message: /needs a non-zero "vlan"/ });
  t.throws(() => conf({ vlan: 5, vlanProto: 'qinq' }), { code: 7, message: /"vlanProto" must be/ });
  t.throws(() => conf({ spoofchk: 'yes' }), { code: 7, message: /"spoofchk" must be "on" or "off"/ });
  t.throws(() => conf({ min_tx_rate: 100, max_tx_rate: 10 }), { code: 7, message: /above "max_tx_rate"/ });
  t.throws(() => conf({ link_state: 'up' }), { code: 7, message: /"link_state" must be "auto", "enable" or "disable"/ });
  t.throws(() => conf({ ipam: { type: '../x' } }), { code: 7, message: /ipam.type/ });
  const v = conf({ vlan: 7, vlanQoS: 2, vlanProto: '802.1Q', spoofchk: 'off', trust: 'on', link_state: 'disable', min_tx_rate: 1, max_tx_rate: 9 }).vf;
  t.strictSame(v, { vlan: 7, vlanQoS: 2, vlanProto: '802.1Q', spoofchk: false, trust: true, linkState: 'disable', minTxRate: 1, maxTxRate: 9, mac: '02:00:00:00:00:0b' });
  const hd = (o: Record<string, unknown>) => parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'ehost-device', ...o }), noArgs);
  t.equal(hd({ device: 'eth1' }).device, 'eth1');
  t.equal(hd({ hwaddr: '02:00:00:00:28:00' }).hwaddr, '02:00:00:00:28:00');
  t.equal(hd({ pciBusID: '0000:00:05.0', deviceID: '0000:00:05.0' }).pciAddr, '0000:00:05.0', 'Multus injects both');
  t.throws(() => hd({}), { code: 7, message: /none of "device", "hwaddr", "pciBusID" or "deviceID"/ });
  t.throws(() => hd({ device: 'eth1', hwaddr: '02:00:00:00:28:00' }), { code: 7, message: /select the device one way only/ });
});

t.test('the bundled executable: result or error JSON on stdout, exit status', async (t) => {
  const bundle = await pluginBundle();
  const run = (env: Record<string, string>, stdin: string) => spawnSync(process.execPath, [bundle], { input: stdin, env, encoding: 'utf8' });
  let r = run({ CNI_COMMAND: 'VERSION' }, '');
  t.equal(r.status, 0);
  t.match(JSON.parse(r.stdout), { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  r = run({ ...baseEnv, CNI_COMMAND: 'ADD' }, JSON.stringify({ ...sriov, vlan: -1 }));
  t.equal(r.status, 1, 'non-zero exit');
  t.match(JSON.parse(r.stdout), { cniVersion: '1.0.0', code: 7, msg: /"vlan" must be an integer/ });
  t.equal(r.stderr.includes('"vlan"'), true, 'and the error on stderr for people');
});
