import t from 'tap';
import { compareVersions, convertResult, negotiateVersion, parseResult, requireSupportedVersion, versionAllows, SUPPORTED_VERSIONS, type CniResult } from './version.ts';

const internal: CniResult = {
  interfaces: [{ name: 'net1', mac: '02:aa:00:00:00:01', mtu: 1400, sandbox: '/run/netns/p1', pciID: '0000:01:10.0' }],
  ips: [
    { address: '10.56.0.2/24', gateway: '10.56.0.1', interface: 0 },
    { address: 'fd00::2/64', interface: 0 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.56.0.1', mtu: 1300 }],
  dns: { nameservers: ['10.56.0.53'] },
};

const expected: Record<string, unknown> = {
  '1.1.0': {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'net1', mac: '02:aa:00:00:00:01', mtu: 1400, sandbox: '/run/netns/p1', pciID: '0000:01:10.0' }],
    ips: [
      { interface: 0, address: '10.56.0.2/24', gateway: '10.56.0.1' },
      { interface: 0, address: 'fd00::2/64' },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.56.0.1', mtu: 1300 }],
    dns: { nameservers: ['10.56.0.53'] },
  },
  '1.0.0': {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'net1', mac: '02:aa:00:00:00:01', sandbox: '/run/netns/p1' }],
    ips: [
      { interface: 0, address: '10.56.0.2/24', gateway: '10.56.0.1' },
      { interface: 0, address: 'fd00::2/64' },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.56.0.1' }],
    dns: { nameservers: ['10.56.0.53'] },
  },
  '0.4.0': {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'net1', mac: '02:aa:00:00:00:01', sandbox: '/run/netns/p1' }],
    ips: [
      { version: '4', interface: 0, address: '10.56.0.2/24', gateway: '10.56.0.1' },
      { version: '6', interface: 0, address: 'fd00::2/64' },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.56.0.1' }],
    dns: { nameservers: ['10.56.0.53'] },
  },
};
expected['0.3.1'] = { ...(expected['0.4.0'] as object), cniVersion: '0.3.1' };
expected['0.3.0'] = { ...(expected['0.4.0'] as object), cniVersion: '0.3.0' };

t.test('a result in each supported version', async (t) => {
  for (const v of SUPPORTED_VERSIONS) {
    const out = convertResult(internal, v);
    t.strictSame(out, expected[v], `as ${v}`);
    // reading any version back gives the same result, minus what that version cannot carry
    const back = convertResult(parseResult(JSON.parse(JSON.stringify(out))), v);
    t.strictSame(back, out, `${v} round-trips`);
  }
});

t.test('old versions always carry a dns object; 1.x omit an empty one', async (t) => {
  t.strictSame(convertResult({ interfaces: [{ name: 'x' }] }, '0.3.1'), { cniVersion: '0.3.1', interfaces: [{ name: 'x' }], dns: {} });
  t.strictSame(convertResult({ interfaces: [{ name: 'x' }] }, '1.0.0'), { cniVersion: '1.0.0', interfaces: [{ name: 'x' }] });
});

t.test('0.2.0 results and malformed entries are rejected with the decode/version codes', async (t) => {
  t.throws(() => parseResult({ ip4: { ip: '10.0.0.2/24' } }), { code: 1 });
  t.throws(() => parseResult({ ips: [{ gateway: '10.0.0.1' }] }), { code: 6 });
  t.throws(() => parseResult('nope'), { code: 6 });
});

t.test('versions: comparison, support, commands per version, negotiation with a delegate', async (t) => {
  t.ok(compareVersions('0.4.0', '1.0.0') < 0);
  t.ok(compareVersions('1.1.0', '1.0.0') > 0);
  t.equal(compareVersions('0.3.1', '0.3.1'), 0);
  const table: Array<[string, string, boolean]> = [
    ['0.3.1', 'CHECK', false],
    ['0.4.0', 'CHECK', true],
    ['1.0.0', 'STATUS', false],
    ['1.0.0', 'GC', false],
    ['1.1.0', 'STATUS', true],
    ['1.1.0', 'GC', true],
    ['0.3.0', 'ADD', true],
  ];
  for (const [v, cmd, ok] of table) t.equal(versionAllows(v as '1.0.0', cmd), ok, `${cmd} in ${v}`);
  t.throws(() => requireSupportedVersion('0.2.0'), { code: 1, msg: 'incompatible CNI versions', details: /config is "0.2.0"/ });
  t.throws(() => requireSupportedVersion(undefined), { code: 7 });
  // Debian's host-local 1.1.1 stops at 1.0.0
  t.equal(negotiateVersion('1.1.0', ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0']), '1.0.0');
  t.equal(negotiateVersion('0.4.0', ['0.3.1', '0.4.0', '1.0.0']), '0.4.0');
  t.equal(negotiateVersion('1.0.0', ['0.1.0', '0.2.0']), undefined);
});
