// Where VF info goes in `ip` output, checked on real iproute2 output from a namespace with a PF-like veth
// (altname and address included, since VFs go before both), and how argv is classified.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { caps } from '../caps.ts';
import { classifyIpArgv } from './ip-argv.ts';
import { addVfsToJson, addVfsToText, type PfVfInfo } from './ip-show.ts';
import { iprouteJson, renderVfText, vfInfoJson, type VfView } from './vf-netlink.ts';
import { defaultVfAttrs } from '../kernel/model.ts';

t.test('classifyIpArgv reads options, objects and verbs like ip.c', async (t) => {
  const kind = (s: string) => {
    const r = classifyIpArgv(s.split(' ').filter(Boolean));
    return r.kind === 'other' ? 'other' : `${r.kind}${r.options.json ? '+j' : ''}${r.options.pretty ? '+p' : ''}${r.options.details ? '+d' : ''}${r.options.oneline ? '+o' : ''}${r.options.brief ? '+br' : ''}`;
  };
  const table: Array<[string, string]> = [
    ['link', 'link-show'], ['l', 'link-show'], ['link show ens1f0', 'link-show'], ['-d link show dev ens1f0', 'link-show+d'],
    ['-j -p -d l sh ens1f0', 'link-show+j+p+d'], ['-json -details link list', 'link-show+j+d'], ['--json link', 'link-show+j'],
    ['-o link', 'link-show+o'], ['-br link', 'link-show+br'], ['-b file', 'other'], ['-d a', 'addr-show+d'], ['addr show lo', 'addr-show'],
    ['a', 'addr-show'], ['-d address list', 'addr-show+d'], ['-n ns1 link show', 'other'], ['-netns ns1 -d link', 'other'],
    ['-c link', 'other'], ['-color=always link', 'other'], ['route', 'other'], ['r', 'other'], ['link add x type veth', 'other'],
    ['link set ens1f0 up', 'other'], ['link s ens1f0 vf 0 trust on', 'vf-set'], ['link set dev ens1f0 vf 0 mac 02:00:00:00:00:01', 'vf-set'],
    ['-4 link change ens1f0 vf 1 trust on', 'vf-set'], ['link del ens1f0', 'other'], ['addr add 10.0.0.1/24 dev x', 'other'],
    ['-x link', 'other'], ['-dj link', 'other'], ['--', 'other'], ['', 'other'], ['-V', 'other'],
  ];
  for (const [argv, want] of table) t.equal(kind(argv), want, argv);
  const set = classifyIpArgv(['-s', '-family', 'inet', 'link', 'set', 'ens1f0', 'vf', '0', 'trust', 'on']);
  t.same(set, {
    kind: 'vf-set',
    options: { json: false, pretty: false, details: false, oneline: false, brief: false, stats: 1, passThrough: false },
    globalArgs: ['-s', '-family', 'inet'],
    setArgs: ['ens1f0', 'vf', '0', 'trust', 'on'],
  });
});

const vfs: VfView[] = [
  { ...defaultVfAttrs(), index: 0, mac: '02:00:00:00:00:01', vlan: 100 },
  { ...defaultVfAttrs(), index: 1, trust: true, maxTxRate: 1000 },
];
const pfMap = new Map<string, PfVfInfo>([['ens1f0', { vfs }]]);

t.test('text: VF lines after the link details, before altnames (synthetic)', async (t) => {
  const out = [
    '1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000',
    '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
    '2: ens1f0@peer: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000',
    '    link/ether 16:0a:44:e0:1a:54 brd ff:ff:ff:ff:ff:ff',
    '    altname pf0',
    '',
  ].join('\n');
  const got = addVfsToText(out, pfMap, false).split('\n');
  t.same(got.slice(3, 7), ['    link/ether 16:0a:44:e0:1a:54 brd ff:ff:ff:ff:ff:ff', renderVfText(vfs[0]), renderVfText(vfs[1]), '    altname pf0']);
  t.equal(addVfsToText(out, new Map(), false), out, 'no PFs: unchanged');
  t.equal(addVfsToText(out, new Map([['ens1f0', { vfs: [] }]]), false), out, 'a PF without VFs: unchanged');
});

const netns = caps.netns();
const skip = !netns.ok ? `needs network namespaces: ${netns.detail}` : !caps.iproute2().ok ? caps.iproute2().detail : false;

t.test('splicing into real iproute2 output', { skip }, async (t) => {
  const ns = `ipshow-${process.pid}`;
  const sh = (args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    t.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  sh(['netns', 'add', ns]);
  t.teardown(() => void spawnSync('ip', ['netns', 'del', ns]));
  sh(['-n', ns, 'link', 'add', 'ens1f0', 'type', 'veth', 'peer', 'name', 'p0']);
  sh(['-n', ns, 'link', 'property', 'add', 'dev', 'ens1f0', 'altname', 'pfalt0']);
  sh(['-n', ns, 'addr', 'add', '10.9.0.1/24', 'dev', 'ens1f0']);
  sh(['-n', ns, 'link', 'set', 'ens1f0', 'up']);
  const ipn = (...a: string[]) => sh(['-n', ns, ...a]);

  // our writer reproduces iproute2's own JSON byte for byte, compact and pretty
  for (const args of [['-j', '-d', 'link', 'show'], ['-j', '-p', '-d', 'link', 'show'], ['-j', '-p', '-d', 'addr', 'show'], ['-j', 'addr', 'show']]) {
    const real = ipn(...args);
    t.equal(`${iprouteJson(JSON.parse(real), args.includes('-p'))}\n`, real, `iprouteJson matches ip ${args.join(' ')}`);
  }

  for (const args of [['-j', '-d', 'link', 'show'], ['-j', '-p', 'link', 'show'], ['-j', '-p', '-d', 'addr', 'show']]) {
    const real = ipn(...args);
    const pretty = args.includes('-p');
    const got = addVfsToJson(real, pfMap, pretty);
    const parsed = JSON.parse(got) as Array<Record<string, unknown>>;
    const pf = parsed.find((l) => l.ifname === 'ens1f0')!;
    t.same(pf.vfinfo_list, vfs.map((v) => vfInfoJson(v)), `vfinfo_list (${args.join(' ')})`);
    const keys = Object.keys(pf);
    const after = keys.includes('altnames') ? 'altnames' : 'addr_info';
    t.equal(keys[keys.indexOf('vfinfo_list') + 1], after, `vfinfo_list right before ${after}`);
    // everything else untouched, and the layout is iproute2's
    const { vfinfo_list: _drop, ...rest } = pf;
    t.same(rest, (JSON.parse(real) as Array<Record<string, unknown>>).find((l) => l.ifname === 'ens1f0'));
    t.equal(got, `${iprouteJson(parsed, pretty)}\n`, `layout as ip ${args.join(' ')} would print it`);
  }
  const empty = JSON.parse(addVfsToJson(ipn('-j', 'link', 'show', 'ens1f0'), new Map([['ens1f0', { vfs: [] }]]), false)) as Array<Record<string, unknown>>;
  t.same(empty[0].vfinfo_list, [], 'an SR-IOV PF with no VFs shows an empty list');

  for (const args of [['-d', 'link', 'show'], ['link', 'show', 'ens1f0'], ['-d', 'addr', 'show'], ['-s', 'link', 'show', 'ens1f0']]) {
    const real = ipn(...args);
    const got = addVfsToText(real, pfMap, false);
    const realLines = real.split('\n');
    const gotLines = got.split('\n');
    const at = gotLines.indexOf(renderVfText(vfs[0]));
    t.ok(at > 0, `vf lines present (${args.join(' ')})`);
    t.equal(gotLines[at + 1], renderVfText(vfs[1]));
    t.match(gotLines[at + 2], /^ {4}altname pfalt0$/, 'followed by the altname');
    t.same(gotLines.filter((l) => !l.startsWith('    vf ')), realLines, 'nothing else changed');
  }
  const one = ipn('-o', 'link', 'show');
  const gotOne = addVfsToText(one, pfMap, true);
  t.match(gotOne, new RegExp(`${escape(`\\${renderVfText(vfs[0])}\\${renderVfText(vfs[1])}\\    altname pfalt0`)}\n`));
  t.equal(gotOne.split('\n').length, one.split('\n').length, 'oneline stays one line per link');
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
