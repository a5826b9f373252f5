// Fuzzing the device plugin's config.json: an upstream-style config with every selector, mutated (fields dropped,
// retyped, swapped, renamed, huge values), random JSON values, and the file's text broken or binary. parseConfig and
// loadConfigFile either succeed or throw a ConfigError naming the field (and the file); nothing else, no hang.
// 1000 values and 300 files take about 5 s on a loaded 2-core machine; FUZZ_RUNS raises the counts
// (docs/architecture.md#fuzzing).
import t from 'tap';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, parseConfig, quote } from './config.ts';
import { binaryText, brokenText, fuzzParams, mutatedValue, oddValue, type Json } from '../../sim/fuzz.ts';

const valid: Json = {
  resourceList: [
    {
      resourceName: 'sriov_netdevice',
      resourcePrefix: 'intel.com',
      deviceType: 'netDevice',
      excludeTopology: false,
      healthCheck: 'link',
      allocationPolicy: 'packed',
      selectors: [
        { vendors: ['8086'], devices: ['1520', '10ca'], drivers: ['igbvf'], pfNames: ['ens1f0#0-3', 'ens1f1'], linkTypes: ['ether'], isRdma: false, needVhostNet: false },
        { pciAddresses: ['0000:01:10.0'], rootDevices: ['0000:01:00.0#0,2-3'], acpiIndexes: ['101'], ddpProfiles: ['gtp'], vdpaType: 'virtio' },
      ],
      additionalInfo: { '*': { token: '3e49019f' }, '0000:01:10.0': { role: 'uplink' } },
    },
    { resourceName: 'dpdk', deviceType: 'accelerator', selectors: { vendors: ['8086'], drivers: ['vfio-pci'] } },
    { resourceName: 'aux', deviceType: 'auxNetDevice', selectors: { auxTypes: ['sf'], pfNames: ['p0'] } },
  ],
};
const HANG_MS = 10_000;
const SOURCE = 'config.json';

/** what a ConfigError must say: the field, in a message that names it (and the file) and quotes nothing huge */
function problem(e: unknown): string | undefined {
  if (!(e instanceof ConfigError)) return `not a ConfigError: ${(e as Error).stack ?? String(e)}`;
  // the field is the key as written: "" for a key that is the empty string
  if (typeof e.field !== 'string' || (!e.field && !/unknown (key|selector)/.test(e.message))) return `no field: ${e.message}`;
  if (!e.message.includes(`field ${quote(e.field)}`)) return `the message does not name the field ${e.field}: ${e.message}`;
  if (e.source !== SOURCE || !e.message.includes(SOURCE)) return `the message does not name the file: ${e.message}`;
  if (e.message.length > 2000) return `a message of ${e.message.length} characters quotes too much: ${e.message.slice(0, 200)}…`;
  return undefined;
}

t.test('the config the fuzzer starts from is valid', async (t) => {
  t.equal(parseConfig(valid).resources.length, 3);
});

t.test('a mutated or random config.json value is a ConfigError naming the field', async (t) => {
  let errors = 0;
  fc.assert(
    fc.property(fc.oneof({ arbitrary: mutatedValue(valid), weight: 6 }, { arbitrary: oddValue, weight: 1 }, { arbitrary: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>, weight: 1 }), (raw) => {
      const t0 = Date.now();
      try {
        parseConfig(raw, { source: SOURCE });
      } catch (e) {
        const p = problem(e);
        if (p) throw new Error(p);
        errors++;
      }
      if (Date.now() - t0 > HANG_MS) throw new Error(`took ${Date.now() - t0}ms`);
    }),
    fuzzParams(1000),
  );
  t.ok(errors > 0, `${errors} values were rejected`);
});

t.test('a broken or binary config.json file is a ConfigError naming the file', async (t) => {
  const dir = t.testdir();
  const file = join(dir, SOURCE);
  const text = JSON.stringify(valid, null, 2);
  await fc.assert(
    fc.asyncProperty(fc.oneof(brokenText(text), binaryText, fc.string()), async (content) => {
      writeFileSync(file, content);
      try {
        await loadConfigFile(file);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${(e as Error).stack ?? String(e)}`);
        if (!e.field || e.source !== file || !e.message.includes(file)) throw new Error(`the file or field is not named: ${e.message}`);
      }
    }),
    fuzzParams(300),
  );
  t.pass('every file loaded or was a ConfigError');
});
