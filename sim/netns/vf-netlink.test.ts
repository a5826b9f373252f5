// VF netlink parsing and rendering as iproute2 6.1 does it. Parse errors are also checked against the real
// `ip` binary on a veth (this kernel has no SR-IOV, so the real tool fails only after parsing, with EOPNOTSUPP).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { caps } from '../caps.ts';
import type { VfAttrs } from '../kernel/types.ts';
import {
  IpCliError, getInteger, getUnsigned, iprouteJson, parseLinkSetVf, renderVfText, vfInfoJson, vfOpToPatch,
  type VfSetCommand, type VfView,
} from './vf-netlink.ts';

const split = (s: string): string[] => s.split(' ').filter(Boolean);

t.test('number parsing follows strtoul/strtol with base 0', async (t) => {
  const table: Array<[string, number | null, number | null]> = [
    // arg, get_unsigned, get_integer
    ['0', 0, 0], ['7', 7, 7], ['0x10', 16, 16], ['010', 8, 8], ['08', null, null], ['0x', null, null],
    ['-1', null, -1], ['-0', 0, 0], ['+5', 5, 5], [' 5', 5, 5], ['5 ', null, null], ['', null, null],
    ['4294967295', 4294967295, null], ['4294967296', null, null], ['2147483647', 2147483647, 2147483647],
    ['99999999999', null, null], ['1e3', null, null], ['abc', null, null],
  ];
  for (const [arg, u, i] of table) {
    t.equal(getUnsigned(arg), u, `get_unsigned(${JSON.stringify(arg)})`);
    t.equal(getInteger(arg), i, `get_integer(${JSON.stringify(arg)})`);
  }
});

type Expect = { ok: Omit<VfSetCommand, 'dev'> & { dev?: string } } | { err: [string, number] };

const PF = 'ens1f0';
// `ip link set …` argument lists (after "set") and what iproute2 6.1 makes of them
const parseTable: Array<[string, Expect]> = [
  [`${PF} vf 0 mac 02:00:00:00:00:01`, { ok: { vfs: [{ vf: 0, ops: [{ attr: 'mac', mac: '02:00:00:00:00:01' }] }], rest: [] } }],
  [`dev ${PF} vf 0 vlan 100 mac 02:00:00:00:00:01`, {
    ok: { vfs: [{ vf: 0, ops: [{ attr: 'mac', mac: '02:00:00:00:00:01' }, { attr: 'vlan', vlan: 100, qos: 0, vlanProto: '802.1Q' }] }], rest: [] },
  }],
  [`${PF} vf 1 vlan 10 qos 3 proto 802.1ad`, { ok: { vfs: [{ vf: 1, ops: [{ attr: 'vlan', vlan: 10, qos: 3, vlanProto: '802.1ad' }] }], rest: [] } }],
  [`${PF} vf 1 vlan 10 proto 0x88a8`, { ok: { vfs: [{ vf: 1, ops: [{ attr: 'vlan', vlan: 10, qos: 0, vlanProto: '802.1ad' }] }], rest: [] } }],
  [`${PF} vf 1 vlan 10 qos 9`, { ok: { vfs: [{ vf: 1, ops: [{ attr: 'vlan', vlan: 10, qos: 9, vlanProto: '802.1Q' }] }], rest: [] } }],
  [`${PF} vf 0x1 sp on`, { ok: { vfs: [{ vf: 1, ops: [{ attr: 'spoofchk', on: true }] }], rest: [] } }],
  [`${PF} vf 2 st e t on`, { ok: { vfs: [{ vf: 2, ops: [{ attr: 'linkState', linkState: 'enable' }, { attr: 'trust', on: true }] }], rest: [] } }],
  // the kernel applies attributes in its own order, not the command line's
  [`${PF} vf 2 trust off state disable spoofchk off mac 0:1:2:3:4:5`, {
    ok: {
      vfs: [{ vf: 2, ops: [{ attr: 'mac', mac: '00:01:02:03:04:05' }, { attr: 'spoofchk', on: false }, { attr: 'linkState', linkState: 'disable' }, { attr: 'trust', on: false }] }],
      rest: [],
    },
  }],
  [`${PF} vf 0 rate 100`, { ok: { vfs: [{ vf: 0, ops: [{ attr: 'txRate', maxTxRate: 100 }] }], rest: [] } }],
  [`${PF} vf 0 max_tx_rate 100 min_tx_rate 10`, { ok: { vfs: [{ vf: 0, ops: [{ attr: 'rate', minTxRate: 10, maxTxRate: 100 }] }], rest: [] } }],
  // with the new API, legacy `rate` is the max unless max_tx_rate is given too
  [`${PF} vf 0 min_tx_rate 5 rate 10`, { ok: { vfs: [{ vf: 0, ops: [{ attr: 'rate', minTxRate: 5, maxTxRate: 10 }] }], rest: [] } }],
  [`${PF} vf 0 rate 10 max_tx_rate 20 min_tx_rate 0`, { ok: { vfs: [{ vf: 0, ops: [{ attr: 'rate', minTxRate: 0, maxTxRate: 20 }] }], rest: [] } }],
  [`${PF} vf 0 max_tx_rate 0 min_tx_rate 20`, { ok: { vfs: [{ vf: 0, ops: [{ attr: 'rate', minTxRate: 20, maxTxRate: 0 }] }], rest: [] } }],
  [`${PF} vf 0 trust on vf 3 mac 02:00:00:00:00:03`, {
    ok: { vfs: [{ vf: 0, ops: [{ attr: 'trust', on: true }] }, { vf: 3, ops: [{ attr: 'mac', mac: '02:00:00:00:00:03' }] }], rest: [] },
  }],
  [`${PF} mtu 1400 vf 1 trust on up`, { ok: { vfs: [{ vf: 1, ops: [{ attr: 'trust', on: true }] }], rest: ['mtu', '1400', 'up'] } }],
  [`${PF} vf -1 trust on`, { ok: { vfs: [{ vf: -1, ops: [{ attr: 'trust', on: true }] }], rest: [] } }],
  [`${PF} vf 0 query_rss on`, { ok: { vfs: [{ vf: 0, ops: [{ attr: 'queryRss', on: true }] }], rest: [] } }],
  // errors, with iproute2's exact text and exit status
  [`${PF} vf x mac 00:11:22:33:44:55`, { err: ['Error: argument "x" is wrong: Invalid "vf" value\n\n', 255] }],
  [`${PF} vf 99999999999 trust on`, { err: ['Error: argument "99999999999" is wrong: Invalid "vf" value\n\n', 255] }],
  [`${PF} vf 0 mac zz:11:22:33:44:55`, { err: ['"zz" is invalid lladdr.\n', 1] }],
  [`${PF} vf 0 mac 00:11:22:33:44`, { err: ['Invalid address length 5 - must be 6 bytes\n', 1] }],
  [`${PF} vf 0 mac 00:11:22:33:44:55:66`, { err: ['Invalid address length 7 - must be 6 bytes\n', 1] }],
  [`${PF} vf 0 mac 1.2.3.4`, { err: ['Invalid address length 4 - must be 6 bytes\n', 1] }],
  [`${PF} vf 0 mac 00-11-22-33-44-55`, { err: ['Invalid address length 1 - must be 6 bytes\n', 1] }],
  [`${PF} vf 0 mac 100:11:22:33:44:55`, { err: ['"100" is invalid lladdr.\n', 1] }],
  [`${PF} vf 0 mac :::::`, { err: ['"" is invalid lladdr.\n', 1] }],
  [`${PF} vf 0 vlan x`, { err: ['Error: argument "x" is wrong: Invalid "vlan" value\n\n', 255] }],
  [`${PF} vf 0 vlan 4096`, { err: ['Error: argument "4096" is wrong: Invalid "vlan" value\n\n', 255] }],
  [`${PF} vf 0 vlan -1`, { err: ['Error: argument "-1" is wrong: Invalid "vlan" value\n\n', 255] }],
  [`${PF} vf 0 vlan 10 qos x`, { err: ['Error: argument "x" is wrong: Invalid "qos" value\n\n', 255] }],
  [`${PF} vf 0 vlan 10 qos 3 proto x`, { err: ['Error: argument "x" is wrong: protocol is invalid\n\n', 255] }],
  [`${PF} vf 0 vlan 10 proto ipv4`, { err: ['Error: argument "ipv4" is wrong: Invalid "vlan protocol" value - supported 802.1Q, 802.1ad\n\n', 255] }],
  [`${PF} vf 0 vlan 10 proto 0x800`, { err: ['Error: argument "0x800" is wrong: Invalid "vlan protocol" value - supported 802.1Q, 802.1ad\n\n', 255] }],
  [`${PF} vf 0 rate x`, { err: ['Error: argument "x" is wrong: Invalid "rate" value\n\n', 255] }],
  [`${PF} vf 0 rate -5`, { err: ['Error: argument "-5" is wrong: Invalid "rate" value\n\n', 255] }],
  [`${PF} vf 0 max_tx_rate x`, { err: ['Error: argument "x" is wrong: Invalid "max tx rate" value\n\n', 255] }],
  [`${PF} vf 0 min_tx_rate x`, { err: ['Error: argument "x" is wrong: Invalid "min tx rate" value\n\n', 255] }],
  [`${PF} vf 0 min_tx_rate 100 max_tx_rate 10`, { err: ['Invalid min_tx_rate 100 - must be <= max_tx_rate 10\n', 1] }],
  [`${PF} vf 0 spoofchk maybe`, { err: ['Error: argument of "spoofchk" must be one of "off", "on", not "maybe"\n', 1] }],
  [`${PF} vf 0 trust On`, { err: ['Error: argument of "trust" must be one of "off", "on", not "On"\n', 1] }],
  [`${PF} vf 0 state foo`, { err: ['Error: argument "foo" is wrong: Invalid "state" value\n\n', 255] }],
  [`${PF} vf 0 node_guid 1`, { err: ['Error: argument "1" is wrong: Invalid GUID format\n\n', 255] }],
  [`${PF} vf 0`, { err: ['Command line is not complete. Try option "help"\n', 255] }],
  [`${PF} vf`, { err: ['Command line is not complete. Try option "help"\n', 255] }],
  [`${PF} vf 0 bogus 1`, { err: ['Command line is not complete. Try option "help"\n', 255] }],
  [`${PF} vf 0 mac`, { err: ['Command line is not complete. Try option "help"\n', 255] }],
  [`${PF} vf 0 vlan 10 qos`, { err: ['Command line is not complete. Try option "help"\n', 255] }],
  [`${PF} vf 0 trust`, { err: ['Command line is not complete. Try option "help"\n', 255] }],
  ['vf 0 mac 00:11:22:33:44:55', { err: ['Error: argument "dev" is required\n', 255] }],
];

t.test('parseLinkSetVf: what iproute2 sends and what it rejects', async (t) => {
  for (const [line, expect] of parseTable) {
    const r = parseLinkSetVf(split(line));
    if ('err' in expect) {
      t.type(r, IpCliError, line);
      if (r instanceof IpCliError) t.same([r.stderr, r.exitCode], expect.err, line);
    } else {
      t.same(r, { dev: PF, ...expect.ok }, line);
    }
  }
  t.equal(parseLinkSetVf(split(`${PF} mtu 1400 up`)), null, 'no vf: not ours');
});

t.test('a single min or max rate is completed from the VF’s current rates', async (t) => {
  const current = (vf: number) => (vf === 0 ? { minTxRate: 10, maxTxRate: 100 } : undefined);
  t.same(parseLinkSetVf(split(`${PF} vf 0 min_tx_rate 20`), { currentRates: current }), {
    dev: PF, vfs: [{ vf: 0, ops: [{ attr: 'rate', minTxRate: 20, maxTxRate: 100 }] }], rest: [],
  });
  const tooHigh = parseLinkSetVf(split(`${PF} vf 0 min_tx_rate 200`), { currentRates: current });
  t.same(tooHigh instanceof IpCliError && [tooHigh.stderr, tooHigh.exitCode], ['Invalid min_tx_rate 200 - must be <= max_tx_rate 100\n', 1]);
  const missing = parseLinkSetVf(split(`${PF} vf 7 max_tx_rate 5`), { currentRates: current });
  t.same(missing instanceof IpCliError && [missing.stderr, missing.exitCode], ['Cannot find VF 7\n', 1]);
});

t.test('ops become model patches; rss query and GUIDs are not Ethernet VF features', async (t) => {
  t.same(vfOpToPatch({ attr: 'vlan', vlan: 5, qos: 1, vlanProto: '802.1Q' }), { vlan: 5, qos: 1, vlanProto: '802.1Q' });
  t.same(vfOpToPatch({ attr: 'txRate', maxTxRate: 7 }), { maxTxRate: 7 });
  t.same(vfOpToPatch({ attr: 'rate', minTxRate: 1, maxTxRate: 7 }), { minTxRate: 1, maxTxRate: 7 });
  t.same(vfOpToPatch({ attr: 'linkState', linkState: 'disable' }), { linkState: 'disable' });
  t.equal(vfOpToPatch({ attr: 'queryRss', on: true }), null);
  t.equal(vfOpToPatch({ attr: 'nodeGuid', guid: '00:00:00:00:00:00:00:01' }), null);
});

const base: VfAttrs = {
  mac: '00:00:00:00:00:00', vlan: 0, qos: 0, vlanProto: '802.1Q', spoofchk: true, trust: false, linkState: 'auto', minTxRate: 0, maxTxRate: 0,
};
const vf = (index: number, a: Partial<VfAttrs> = {}): VfView => ({ ...base, ...a, index });

t.test('VF text lines as print_vfinfo prints them', async (t) => {
  const table: Array<[VfView, string]> = [
    [vf(0), '    vf 0     link/ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff, spoof checking on, link-state auto, trust off'],
    [vf(0, { mac: '02:00:00:00:00:01', vlan: 100 }), '    vf 0     link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff, vlan 100, spoof checking on, link-state auto, trust off'],
    [vf(3, { mac: '02:AB:00:00:00:03', vlan: 10, qos: 3, vlanProto: '802.1ad', spoofchk: false, trust: true, linkState: 'disable' }),
      '    vf 3     link/ether 02:ab:00:00:00:03 brd ff:ff:ff:ff:ff:ff, vlan 10, qos 3, vlan protocol 802.1ad, spoof checking off, link-state disable, trust on'],
    [vf(1, { maxTxRate: 1000, minTxRate: 100 }),
      '    vf 1     link/ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff, tx rate 1000 (Mbps), max_tx_rate 1000Mbps, min_tx_rate 100Mbps, spoof checking on, link-state auto, trust off'],
    [vf(2, { minTxRate: 50, linkState: 'enable' }),
      '    vf 2     link/ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff, min_tx_rate 50Mbps, spoof checking on, link-state enable, trust off'],
  ];
  for (const [v, line] of table) t.equal(renderVfText(v), line, line);
  t.equal(
    renderVfText(vf(0), { queryRss: false }),
    '    vf 0     link/ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff, spoof checking on, link-state auto, trust off, query_rss off',
    'drivers that report rss query (ixgbe, mlx5)',
  );
  t.equal(
    renderVfText(vf(0), { stats: true }),
    [
      '    vf 0     link/ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff, spoof checking on, link-state auto, trust off',
      '    RX: bytes  packets  mcast   bcast   dropped ',
      '    0          0        0       0       0       ',
      '    TX: bytes  packets   dropped ',
      '    0          0        0       ',
    ].join('\n'),
    'ip -s: zero counters in print_num columns',
  );
});

t.test('VF JSON entries with iproute2’s keys and order', async (t) => {
  t.equal(
    JSON.stringify(vfInfoJson(vf(0))),
    '{"vf":0,"link_type":"ether","address":"00:00:00:00:00:00","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":true,"link_state":"auto","trust":false}',
  );
  t.equal(
    JSON.stringify(vfInfoJson(vf(2, { mac: '02:00:00:00:00:02', vlan: 7, qos: 2, vlanProto: '802.1ad', maxTxRate: 500, minTxRate: 10, trust: true }), { queryRss: true })),
    '{"vf":2,"link_type":"ether","address":"02:00:00:00:00:02","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{"vlan":7,"qos":2,"protocol":"802.1ad"}],"tx_rate":500,"rate":{"max_tx":500,"min_tx":10},"spoofchk":true,"link_state":"auto","trust":true,"query_rss_en":true}',
  );
});

t.test('ip -s -j: VF counters as the last key', async (t) => {
  const o = vfInfoJson(vf(1), { stats: true });
  t.equal(Object.keys(o).at(-1), 'stats');
  t.same(o.stats, { rx: { bytes: 0, packets: 0, multicast: 0, broadcast: 0, dropped: 0 }, tx: { tx_bytes: 0, tx_packets: 0, dropped: 0 } });
});

t.test('iprouteJson writes like json_writer (compact and pretty)', async (t) => {
  const v = { a: 1, l: [{}], e: [], f: ['X', 'Y'], o: { x: true, y: 'z' } };
  t.equal(iprouteJson(v, false), '{"a":1,"l":[{}],"e":[],"f":["X","Y"],"o":{"x":true,"y":"z"}}');
  t.equal(
    iprouteJson([v], true),
    '[ {\n        "a": 1,\n        "l": [ {} ],\n        "e": [ ],\n        "f": [ "X","Y" ],\n        "o": {\n            "x": true,\n            "y": "z"\n        }\n    } ]',
  );
});

const netns = caps.netns();
const iproute = caps.iproute2();
t.test('parse errors and accepted commands agree with the real iproute2', { skip: !netns.ok ? netns.detail : !iproute.ok ? iproute.detail : false }, async (t) => {
  const ns = `vfparse-${process.pid}`;
  const run = (args: string[]) => spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  t.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  t.teardown(() => void spawnSync('ip', ['netns', 'del', ns]));
  t.equal(run(['link', 'add', PF, 'type', 'veth', 'peer', 'name', 'peer0']).status, 0);
  for (const [line, expect] of parseTable) {
    // real ip completes one-sided rates from the kernel, which a veth cannot answer
    if (/(?:min|max)_tx_rate/.test(line) && !/max_tx_rate.*min_tx_rate|min_tx_rate.*max_tx_rate/.test(line)) continue;
    const r = run(['link', 'set', ...split(line)]);
    if ('err' in expect) {
      t.same([r.stderr, r.status], expect.err, `real ip: ${line}`);
    } else {
      // parsed fine; only the kernel refuses (no SR-IOV here; -1 is out of the kernel's range)
      t.match(r.stderr, /^RTNETLINK answers: (Operation not supported|Invalid argument)\n$/, `real ip accepts: ${line}`);
      t.equal(r.status, 2);
    }
  }
});
