import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, defaultConfigJson, loadConfigFile, parseConfig, parseVfRange, parseVfRangeRef } from './config.ts';

t.test('VF ranges: 0-based, inclusive, comma lists', async (t) => {
  const table: Array<[string, number[] | RegExp]> = [
    ['0-3', [0, 1, 2, 3]],
    ['0,2-7,9', [0, 2, 3, 4, 5, 6, 7, 9]],
    ['5', [5]],
    [' 1 - 2 ', [1, 2]],
    ['3-1', /runs backwards/],
    ['a-b', /malformed VF range "a-b"/],
    ['1,,2', /malformed/],
    ['', /empty/],
    ['0-5000', /above 4095/],
  ];
  for (const [input, want] of table) {
    const got = parseVfRange(input);
    if (want instanceof RegExp) t.match(got, want, input);
    else t.same([...(got as Set<number>)].sort((a, b) => a - b), want, input);
  }
  const ref = parseVfRangeRef('ens1f0#0-1');
  t.same(typeof ref === 'string' ? ref : { ref: ref.ref, vfs: [...ref.vfs!] }, { ref: 'ens1f0', vfs: [0, 1] });
  const all = parseVfRangeRef('ens1f0');
  t.equal(typeof all === 'string' ? all : all.vfs, undefined, 'no # means every VF');
  t.match(parseVfRangeRef('#0-1'), /no name/);
});

t.test('upstream configs parse: selectors as object or list, defaults filled in', async (t) => {
  const c = parseConfig({
    resourceList: [
      { resourceName: 'sriov_net_a', selectors: { vendors: ['8086'], devices: ['154C'], drivers: ['iavf'], pfNames: ['ens1f0#0-3'] } },
      { resourceName: 'dpdk', resourcePrefix: 'example.org', excludeTopology: true, selectors: [{ drivers: ['vfio-pci'] }, { rootDevices: ['0000:86:00.0#0,2-7'] }] },
      { resourceName: 'qat', deviceType: 'accelerator', selectors: { vendors: ['8086'] }, additionalInfo: { '*': { token: 'x' } } },
    ],
  });
  t.equal(c.resources.length, 3);
  const [a, b, q] = c.resources;
  t.equal(a.fullName, 'intel.com/sriov_net_a');
  t.equal(a.deviceType, 'netDevice');
  t.same(a.selectors[0].devices, ['154c'], 'ids are lower-cased');
  t.same([...a.selectors[0].pfNames![0].vfs!], [0, 1, 2, 3]);
  t.equal(b.fullName, 'example.org/dpdk');
  t.equal(b.excludeTopology, true);
  t.equal(b.selectors.length, 2);
  t.same([...b.selectors[1].rootDevices![0].vfs!].sort((x, y) => x - y), [0, 2, 3, 4, 5, 6, 7]);
  t.equal(q.deviceType, 'accelerator');
  t.same(q.additionalInfo, { '*': { token: 'x' } });
  t.equal(a.healthCheck, 'auto');
  t.equal(a.allocationPolicy, 'spread');
  const p = parseConfig({ resourceList: [{ resourceName: 'x' }] }, { defaultPrefix: 'nvidia.com', defaultAllocationPolicy: 'packed' });
  t.equal(p.resources[0].fullName, 'nvidia.com/x', '--resource-prefix applies to resources without one');
  t.equal(p.resources[0].allocationPolicy, 'packed');
});

t.test('invalid configs fail naming the resource and the field', async (t) => {
  const table: Array<{ name: string; cfg: unknown; resource: string | null; field: string; msg: RegExp }> = [
    { name: 'not an object', cfg: [], resource: null, field: '(root)', msg: /resourceList/ },
    { name: 'no resourceList', cfg: {}, resource: null, field: 'resourceList', msg: /required/ },
    { name: 'top-level typo', cfg: { resourceLists: [] }, resource: null, field: 'resourceLists', msg: /unknown key/ },
    { name: 'missing name', cfg: { resourceList: [{ selectors: {} }] }, resource: 'resourceList[0]', field: 'resourceName', msg: /required/ },
    { name: 'bad name', cfg: { resourceList: [{ resourceName: 'sriov.net' }] }, resource: 'sriov.net', field: 'resourceName', msg: /letters, digits/ },
    {
      name: 'duplicate',
      cfg: { resourceList: [{ resourceName: 'a' }, { resourceName: 'a', resourcePrefix: 'intel.com' }] },
      resource: 'a',
      field: 'resourceName',
      msg: /duplicate: "intel.com\/a" is also resourceList\[0\]/,
    },
    { name: 'same name other prefix is fine? no: bad prefix', cfg: { resourceList: [{ resourceName: 'a', resourcePrefix: 'Intel_com' }] }, resource: 'a', field: 'resourcePrefix', msg: /DNS/ },
    { name: 'reserved prefix', cfg: { resourceList: [{ resourceName: 'a', resourcePrefix: 'kubernetes.io' }] }, resource: 'a', field: 'resourcePrefix', msg: /reserved/ },
    { name: 'unknown resource key', cfg: { resourceList: [{ resourceName: 'a', selector: {} }] }, resource: 'a', field: 'selector', msg: /unknown key/ },
    { name: 'bad deviceType', cfg: { resourceList: [{ resourceName: 'a', deviceType: 'nic' }] }, resource: 'a', field: 'deviceType', msg: /not one of/ },
    { name: 'unknown selector', cfg: { resourceList: [{ resourceName: 'a', selectors: { vendor: ['8086'] } }] }, resource: 'a', field: 'selectors.vendor', msg: /unknown selector/ },
    {
      name: 'selector of another device type',
      cfg: { resourceList: [{ resourceName: 'a', deviceType: 'accelerator', selectors: { pfNames: ['x'] } }] },
      resource: 'a',
      field: 'selectors.pfNames',
      msg: /not a selector of deviceType accelerator/,
    },
    { name: 'vendors not a list', cfg: { resourceList: [{ resourceName: 'a', selectors: { vendors: '8086' } }] }, resource: 'a', field: 'selectors.vendors', msg: /list of strings/ },
    { name: 'vendor not hex', cfg: { resourceList: [{ resourceName: 'a', selectors: { vendors: ['intel'] } }] }, resource: 'a', field: 'selectors.vendors', msg: /4 hex digits/ },
    { name: 'bad pci', cfg: { resourceList: [{ resourceName: 'a', selectors: [{}, { pciAddresses: ['03:02.1'] }] }] }, resource: 'a', field: 'selectors[1].pciAddresses', msg: /not a PCI address/ },
    { name: 'malformed range', cfg: { resourceList: [{ resourceName: 'a', selectors: { pfNames: ['ens1f0#3-1'] } }] }, resource: 'a', field: 'selectors.pfNames', msg: /backwards/ },
    { name: 'rootDevices not pci', cfg: { resourceList: [{ resourceName: 'a', selectors: { rootDevices: ['ens1f0#0'] } }] }, resource: 'a', field: 'selectors.rootDevices', msg: /not a PCI address/ },
    { name: 'isRdma not bool', cfg: { resourceList: [{ resourceName: 'a', selectors: { isRdma: 'yes' } }] }, resource: 'a', field: 'selectors.isRdma', msg: /true or false/ },
    { name: 'selectors wrong type', cfg: { resourceList: [{ resourceName: 'a', selectors: 'x' }] }, resource: 'a', field: 'selectors', msg: /object or a list/ },
    { name: 'additionalInfo key', cfg: { resourceList: [{ resourceName: 'a', additionalInfo: { eth0: {} } }] }, resource: 'a', field: 'additionalInfo.eth0', msg: /PCI address/ },
    { name: 'healthCheck', cfg: { resourceList: [{ resourceName: 'a', healthCheck: 'ping' }] }, resource: 'a', field: 'healthCheck', msg: /auto, link/ },
  ];
  for (const c of table) {
    try {
      parseConfig(c.cfg);
      t.fail(`${c.name}: accepted`);
    } catch (e) {
      t.ok(e instanceof ConfigError, `${c.name}: a ConfigError`);
      const ce = e as ConfigError;
      t.equal(ce.resource, c.resource, `${c.name}: resource`);
      t.equal(ce.field, c.field, `${c.name}: field`);
      t.match(ce.message, c.msg, `${c.name}: message`);
      if (c.resource) t.match(ce.message, `resource "${c.resource}"`, `${c.name}: message names the resource`);
    }
  }
});

t.test('loadConfigFile names the file on bad JSON', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"resourceList": [', 'ok.json': JSON.stringify(defaultConfigJson) });
  await t.rejects(loadConfigFile(join(dir, 'bad.json')), { name: 'ConfigError', message: /bad\.json.*not valid JSON/ });
  await t.rejects(loadConfigFile(join(dir, 'missing.json')), { message: /missing\.json.*cannot read/ });
  const c = await loadConfigFile(join(dir, 'ok.json'));
  t.same(c.resources.map((r) => r.fullName), ['intel.com/sriov_netdevice', 'intel.com/sriov_dpdk', 'kernel.org/virt']);
  writeFileSync(join(dir, 'x.json'), '{}');
  await t.rejects(loadConfigFile(join(dir, 'x.json')), { message: /x\.json: field "resourceList"/ });
});

// found by config.fuzz.test.ts: a message quoted a 5000-character value whole, twice (as the resource and the value)
t.test('messages quote at most 60 characters of a value', async (t) => {
  const long = 'a'.repeat(5000);
  const cut = `"${'a'.repeat(60)}"… (5000 characters)`;
  t.throws(() => parseConfig({ resourceList: [{ resourceName: `${long}!` }] }, { source: 'c.json' }), {
    message: `invalid device plugin config c.json: resource "${'a'.repeat(60)}"… (5001 characters) field "resourceName": "${'a'.repeat(60)}"… (5001 characters) is invalid: use only letters, digits, "_" and "-"`,
  });
  t.throws(() => parseConfig({ resourceList: [{ resourceName: 'r', selectors: { vendors: [long] } }] }), { message: `invalid device plugin config: resource "r" field "selectors.vendors": ${cut} is not 4 hex digits (e.g. "8086")` });
});
