// Kubernetes resource quantities ("500m", "1Gi", "4", "1e3"): exact parsing and the canonical string form that the
// apiserver and kubectl print (Quantity.String()). Values are kept as BigInt nano-units so that "1.5Gi" or "100m" are
// exact; the scheduler works on plain numbers derived once per object.

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** value × 10^9, rounded up like Kubernetes rounds below nano precision */
  readonly nano: bigint;
  readonly format: QuantityFormat;
}

export class QuantityError extends Error {
  readonly input: string;
  constructor(input: string) {
    // the apiserver's wording for an unparsable quantity
    super(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
    this.name = 'QuantityError';
    this.input = input;
  }
}

const NANO = 1_000_000_000n;
const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const QUANTITY_RE = /^([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)(|[numkMGTPE]|Ki|Mi|Gi|Ti|Pi|Ei|[eE][-+]?[0-9]+)$/;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function divCeil(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b === a ? q : a > 0n ? q + 1n : q;
}

/**
 * Parsed quantities by their text: a cluster parses the same few strings ("1", "8", "32Gi") for every pod and node, and
 * a Quantity is immutable, so one parse serves every later one. Bounded: emptied once it holds QUANTITY_CACHE_MAX.
 */
const quantityCache = new Map<string, Quantity>();
const QUANTITY_CACHE_MAX = 4096;

export function parseQuantity(input: string | number): Quantity {
  const text = typeof input === 'number' ? String(input) : input.trim();
  const cached = quantityCache.get(text);
  if (cached) return cached;
  const q = parseQuantityText(text, input);
  if (quantityCache.size >= QUANTITY_CACHE_MAX) quantityCache.clear();
  quantityCache.set(text, q);
  return q;
}

function parseQuantityText(text: string, input: string | number): Quantity {
  const m = QUANTITY_RE.exec(text);
  if (!m) throw new QuantityError(String(input));
  const [, sign, num, suffix] = m;
  const [intPart, fracPart = ''] = num.split('.');
  const digits = BigInt((intPart || '0') + fracPart);
  const fracDigits = fracPart.length;
  let format: QuantityFormat;
  let nano: bigint;
  if (suffix in BINARY_SUFFIX) {
    format = 'BinarySI';
    nano = divCeil(digits * (1n << BigInt(BINARY_SUFFIX[suffix])) * NANO, pow10(fracDigits));
  } else if (suffix in DECIMAL_SUFFIX) {
    format = 'DecimalSI';
    const exp = DECIMAL_SUFFIX[suffix] + 9 - fracDigits;
    nano = exp >= 0 ? digits * pow10(exp) : divCeil(digits, pow10(-exp));
  } else {
    format = 'DecimalExponent';
    const exp = Number(suffix.slice(1)) + 9 - fracDigits;
    nano = exp >= 0 ? digits * pow10(exp) : divCeil(digits, pow10(-exp));
  }
  return Object.freeze({ nano: sign === '-' ? -nano : nano, format });
}

export function isValidQuantity(input: string | number): boolean {
  try {
    parseQuantity(input);
    return true;
  } catch {
    return false;
  }
}

/** Value rounded up to an integer (Quantity.Value()). */
export function quantityValue(q: Quantity): number {
  return Number(divCeil(q.nano, NANO));
}

/** Value × 1000 rounded up (Quantity.MilliValue()). */
export function quantityMilliValue(q: Quantity): number {
  return Number(divCeil(q.nano, 1_000_000n));
}

export function isIntegerQuantity(q: Quantity): boolean {
  return q.nano % NANO === 0n;
}

export function quantityFromMilli(milli: number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { nano: BigInt(Math.round(milli)) * 1_000_000n, format };
}

export function quantityFromValue(value: number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { nano: BigInt(Math.round(value)) * NANO, format };
}

export function addQuantities(a: Quantity, b: Quantity): Quantity {
  // like resource.Quantity.Add, the left operand's format wins (zero takes the other's)
  return { nano: a.nano + b.nano, format: a.nano === 0n ? b.format : a.format };
}

export function compareQuantities(a: Quantity, b: Quantity): number {
  return a.nano === b.nano ? 0 : a.nano < b.nano ? -1 : 1;
}

const DECIMAL_BY_EXP: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const BINARY_BY_SHIFT: Record<number, string> = { 0: '', 10: 'Ki', 20: 'Mi', 30: 'Gi', 40: 'Ti', 50: 'Pi', 60: 'Ei' };

/** Canonical form, as Quantity.String() prints it: "1000" → "1k", "0.5" → "500m", "1024Mi" → "1Gi". */
export function formatQuantity(q: Quantity): string {
  if (q.nano === 0n) return '0';
  const neg = q.nano < 0n;
  const abs = neg ? -q.nano : q.nano;
  const sign = neg ? '-' : '';
  let format = q.format;
  if (format === 'BinarySI' && (abs < 1024n * NANO || abs % NANO !== 0n)) format = 'DecimalSI';
  if (format === 'BinarySI') {
    let value = abs / NANO;
    let shift = 0;
    while (shift < 60 && value % 1024n === 0n) {
      value /= 1024n;
      shift += 10;
    }
    return `${sign}${value}${BINARY_BY_SHIFT[shift]}`;
  }
  // mantissa × 10^exp with exp a multiple of 3 as large as keeps the mantissa integral
  let mantissa = abs;
  let exp = -9;
  while (exp < 18 && mantissa % 1000n === 0n) {
    mantissa /= 1000n;
    exp += 3;
  }
  if (format === 'DecimalExponent') return exp === 0 ? `${sign}${mantissa}` : `${sign}${mantissa}e${exp}`;
  return `${sign}${mantissa}${DECIMAL_BY_EXP[exp]}`;
}

/** Re-prints a quantity string in canonical form; an unparsable one is returned unchanged. */
export function canonicalQuantity(input: string | number): string {
  try {
    return formatQuantity(parseQuantity(input));
  } catch {
    return String(input);
  }
}
