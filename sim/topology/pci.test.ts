import t from 'tap';
import { PciAddrError, formatPciAddr, parsePciAddr, pciAddrProblem, routingId, vfPciAddr } from './pci.ts';

t.test('parsePciAddr / formatPciAddr round trip', async (t) => {
  const cases: Array<[string, { domain: number; bus: number; dev: number; fn: number }, string]> = [
    ['0000:01:00.0', { domain: 0, bus: 1, dev: 0, fn: 0 }, '0000:01:00.0'],
    ['0000:3b:1f.7', { domain: 0, bus: 0x3b, dev: 0x1f, fn: 7 }, '0000:3b:1f.7'],
    ['ABCD:FF:0A.3', { domain: 0xabcd, bus: 0xff, dev: 0x0a, fn: 3 }, 'abcd:ff:0a.3'],
  ];
  for (const [input, parsed, formatted] of cases) {
    t.same(parsePciAddr(input), parsed, input);
    t.equal(formatPciAddr(parsePciAddr(input)), formatted, input);
  }
});

t.test('bad PCI addresses', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['01:00.0', /expected DDDD:BB:DD.F/],
    ['0000:01:00.8', /expected DDDD:BB:DD.F/],
    ['0000:01:20.0', /device 20 is above 1f/],
    ['0000:1:00.0', /expected DDDD:BB:DD.F/],
    ['0000:01:00.0 ', /expected DDDD:BB:DD.F/],
    ['', /expected DDDD:BB:DD.F/],
  ];
  for (const [input, re] of cases) {
    t.throws(() => parsePciAddr(input), PciAddrError, JSON.stringify(input));
    t.match(pciAddrProblem(input), re, JSON.stringify(input));
  }
  t.equal(pciAddrProblem('0000:00:1f.7'), undefined);
});

t.test('routingId', async (t) => {
  t.equal(routingId(parsePciAddr('0000:01:00.0')), 0x100);
  t.equal(routingId(parsePciAddr('0000:01:10.4')), 0x184);
  t.equal(routingId(parsePciAddr('0000:ff:1f.7')), 0xffff);
});

t.test('vfPciAddr: routing id = pf + offset + k*stride', async (t) => {
  const cases: Array<[string, number, number, number, string]> = [
    // I350 port 0 and port 1 (offset 128, stride 4) interleave on device 10/11
    ['0000:01:00.0', 128, 4, 0, '0000:01:10.0'],
    ['0000:01:00.0', 128, 4, 1, '0000:01:10.4'],
    ['0000:01:00.0', 128, 4, 6, '0000:01:13.0'],
    ['0000:01:00.1', 128, 4, 0, '0000:01:10.1'],
    // 82576 / 82599 stride 2
    ['0000:01:00.0', 128, 2, 3, '0000:01:10.6'],
    ['0000:01:00.0', 128, 2, 4, '0000:01:11.0'],
    // E810: crosses onto the next bus
    ['0000:3b:00.0', 8, 1, 255, '0000:3c:00.7'],
    // mlx5: right after the PF's functions
    ['0000:5e:00.0', 2, 1, 0, '0000:5e:00.2'],
    // domain is kept
    ['0001:02:00.0', 16, 1, 0, '0001:02:02.0'],
  ];
  for (const [pf, offset, stride, k, want] of cases) {
    t.equal(vfPciAddr(pf, offset, stride, k), want, `${pf} +${offset}+${k}*${stride}`);
  }
  t.throws(() => vfPciAddr('0000:ff:00.0', 8, 1, 255), /past bus ff/);
});

t.test('formatPciAddr does not wrap out-of-range fields onto another address', async (t) => {
  t.equal(formatPciAddr({ domain: 0, bus: 0, dev: 0x2c, fn: 5 }), '0000:00:2c.5');
  t.equal(pciAddrProblem(formatPciAddr({ domain: 0, bus: 0, dev: 0x2c, fn: 5 })), 'device 2c is above 1f');
});
