import t from 'tap';
import { canonicalQuantity, isIntegerQuantity, parseQuantity, quantityMilliValue, quantityValue, QuantityError } from './quantity.ts';

t.test('canonical form as Quantity.String() prints it', async (t) => {
  const cases: Array<[string | number, string]> = [
    ['1', '1'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['0.5', '500m'],
    ['1.5', '1500m'],
    ['1000m', '1'],
    ['100m', '100m'],
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['512', '512'],
    ['1Ki', '1Ki'],
    ['1e3', '1e3'],
    ['0', '0'],
    [2, '2'],
    ['8Gi', '8Gi'],
    ['-1', '-1'],
  ];
  for (const [input, want] of cases) t.equal(canonicalQuantity(input), want, `${input}`);
});

t.test('values', async (t) => {
  t.equal(quantityMilliValue(parseQuantity('500m')), 500);
  t.equal(quantityMilliValue(parseQuantity('2')), 2000);
  t.equal(quantityValue(parseQuantity('1Gi')), 1073741824);
  t.equal(quantityValue(parseQuantity('100m')), 1, 'Value() rounds up');
  t.ok(isIntegerQuantity(parseQuantity('1k')));
  t.notOk(isIntegerQuantity(parseQuantity('500m')));
  t.throws(() => parseQuantity('1.2.3'), QuantityError);
  t.match(t.throws(() => parseQuantity('abc')), { input: 'abc' });
});
