// What the kube-apiserver does to a Pod before anything schedules it: defaulting (a limit alone sets the request) and
// validation of container resources, with the apiserver's own messages.
//
// Message sources (kubernetes/kubernetes, pkg/apis/core/validation/validation.go, ValidateResourceRequirements and
// ValidateResourceQuantityValue; apimachinery util/validation/field for the "<field>: Invalid value: …" shape):
//   isNotIntegerErrorMsg = "must be an integer"
//   isNegativeErrorMsg   = "must be greater than or equal to 0"
//   fmt.Sprintf("must be equal to %s limit of %s", resourceName, limitQuantity.String())        (non-overcommitable)
//   fmt.Sprintf("must be less than or equal to %s limit of %s", resourceName, limitQuantity.String())
//   field.Required(limPath, "Limit must be set for non overcommitable resources")
//   "must be a standard resource for containers", "doesn't follow extended resource name standard"
// and apimachinery errors.NewInvalid: `<Kind> "<name>" is invalid: <aggregate>` where an aggregate of several errors is
// printed as "[e1, e2]". Defaulting of requests from limits is SetDefaults_Pod / defaults.go in pkg/apis/core/v1.
import type { V1Container, V1Pod, V1Toleration } from '@kubernetes/client-node';
import { compareQuantities, formatQuantity, isIntegerQuantity, parseQuantity, type Quantity } from '../scheduler/quantity.ts';

export type FieldPath = Array<string | number>;
export type FieldErrorType = 'Invalid' | 'Required' | 'NotSupported' | 'Forbidden' | 'Duplicate';

const TYPE_TEXT: Record<FieldErrorType, string> = {
  Invalid: 'Invalid value',
  Required: 'Required value',
  NotSupported: 'Unsupported value',
  Forbidden: 'Forbidden',
  Duplicate: 'Duplicate value',
};

/** One apiserver field error; `toString()` prints it exactly as field.Error.Error() does. */
export class FieldError {
  readonly type: FieldErrorType;
  readonly path: FieldPath;
  /** a string is printed quoted (%q); `{ goSyntax }` as it is, for values Go prints with %#v (maps, structs) */
  readonly value: string | { goSyntax: string } | undefined;
  readonly detail: string;
  constructor(type: FieldErrorType, path: FieldPath, detail: string, value?: string | { goSyntax: string }) {
    this.type = type;
    this.path = path;
    this.detail = detail;
    this.value = value;
  }
  /** Go field.Path form: `spec.containers[0].resources.limits[intel.com/sriov]` */
  get field(): string {
    return formatFieldPath(this.path);
  }
  toString(): string {
    let body = TYPE_TEXT[this.type];
    if (this.type === 'Invalid' || this.type === 'NotSupported' || this.type === 'Duplicate') body += `: ${typeof this.value === 'object' ? this.value.goSyntax : JSON.stringify(this.value ?? '')}`;
    if (this.detail) body += `: ${this.detail}`;
    return `${this.field}: ${body}`;
  }
}

/** Path segments: strings are children (`.x`), numbers are indexes (`[0]`), `[key]` strings (see `key()`) map keys. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (seg.startsWith('[') && seg.endsWith(']')) out += seg;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** A map-key path segment (`limits[intel.com/sriov]`). */
export function key(k: string): string {
  return `[${k}]`;
}

/** The error the apiserver returns for an invalid object (HTTP 422). */
export class InvalidObjectError extends Error {
  readonly kind: string;
  readonly objectName: string;
  readonly errors: FieldError[];
  constructor(kind: string, objectName: string, errors: FieldError[]) {
    const parts = errors.map(String);
    super(`${kind} ${JSON.stringify(objectName)} is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`);
    this.name = 'InvalidObjectError';
    this.kind = kind;
    this.objectName = objectName;
    this.errors = errors;
  }
}

// ---- resource names ----

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isHugePageResourceName(name: string): boolean {
  return name.startsWith('hugepages-');
}

/** Native = no domain, or a `kubernetes.io/` domain (IsNativeResource). */
export function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

/** IsExtendedResourceName: not native, not a quota `requests.` name, a valid qualified name `domain/name`. */
export function isExtendedResourceName(name: string): boolean {
  if (isNativeResource(name) || name.startsWith('requests.')) return false;
  const slash = name.indexOf('/');
  if (slash <= 0 || slash !== name.lastIndexOf('/')) return false;
  const prefix = name.slice(0, slash);
  const local = name.slice(slash + 1);
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && local.length <= 63 && QUALIFIED_NAME.test(local);
}

/** Extended resources and hugepages can never be overcommitted: request must equal limit. */
export function isOvercommitAllowed(name: string): boolean {
  return isNativeResource(name) && !isHugePageResourceName(name);
}

function isStandardContainerResourceName(name: string): boolean {
  return STANDARD_CONTAINER_RESOURCES.has(name) || isHugePageResourceName(name);
}

// ---- defaulting ----

type ResourceMap = Record<string, string>;

function quantityString(v: unknown): string {
  return typeof v === 'number' ? String(v) : String(v ?? '');
}

function defaultContainer(c: V1Container): V1Container {
  const limits: ResourceMap = {};
  const requests: ResourceMap = {};
  for (const [k, v] of Object.entries(c.resources?.limits ?? {})) limits[k] = quantityString(v);
  for (const [k, v] of Object.entries(c.resources?.requests ?? {})) requests[k] = quantityString(v);
  // a limit alone sets the request
  for (const [k, v] of Object.entries(limits)) if (!(k in requests)) requests[k] = v;
  const resources: V1Container['resources'] = {};
  if (Object.keys(limits).length) resources.limits = limits;
  if (Object.keys(requests).length) resources.requests = requests;
  return { ...c, resources, terminationMessagePath: c.terminationMessagePath ?? '/dev/termination-log' };
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A name from generateName, as the apiserver's names.SimpleNameGenerator makes it: the prefix and 5 random chars. */
export function generatedName(prefix: string, pick: (n: number) => number): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += GENERATE_ALPHABET[pick(GENERATE_ALPHABET.length)];
  return `${prefix}${suffix}`;
}

/** The tolerations the DefaultTolerationSeconds admission plugin adds to every pod. */
export const DEFAULT_TOLERATIONS: V1Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

/** A copy of the pod with the apiserver's defaults applied (namespace, requests from limits, default tolerations). */
export function defaultPod(pod: V1Pod): V1Pod {
  const spec = pod.spec ?? { containers: [] };
  const tolerations = [...(spec.tolerations ?? [])];
  for (const d of DEFAULT_TOLERATIONS) {
    if (!tolerations.some((t) => t.key === d.key && t.effect === d.effect)) tolerations.push({ ...d });
  }
  return {
    ...pod,
    apiVersion: pod.apiVersion ?? 'v1',
    kind: pod.kind ?? 'Pod',
    metadata: { ...pod.metadata, namespace: pod.metadata?.namespace || 'default' },
    spec: {
      ...spec,
      containers: (spec.containers ?? []).map(defaultContainer),
      ...(spec.initContainers ? { initContainers: spec.initContainers.map(defaultContainer) } : {}),
      restartPolicy: spec.restartPolicy ?? 'Always',
      schedulerName: spec.schedulerName ?? 'default-scheduler',
      serviceAccountName: spec.serviceAccountName ?? 'default',
      priority: spec.priority ?? 0,
      tolerations,
    },
  };
}

// ---- validation ----

function validateResourceName(name: string, path: FieldPath): FieldError[] {
  if (!name.includes('/')) {
    if (!isStandardContainerResourceName(name)) return [new FieldError('Invalid', path, 'must be a standard resource for containers', name)];
  } else if (!isNativeResource(name) && !isExtendedResourceName(name)) {
    return [new FieldError('Invalid', path, "doesn't follow extended resource name standard", name)];
  }
  return [];
}

function parseOrError(raw: string, path: FieldPath, errs: FieldError[]): Quantity | undefined {
  try {
    return parseQuantity(raw);
  } catch (e) {
    errs.push(new FieldError('Invalid', path, (e as Error).message, raw));
    return undefined;
  }
}

function validateQuantityValue(name: string, q: Quantity, path: FieldPath, errs: FieldError[]): void {
  if (q.nano < 0n) errs.push(new FieldError('Invalid', path, 'must be greater than or equal to 0', formatQuantity(q)));
  if (isExtendedResourceName(name) && !isIntegerQuantity(q)) {
    errs.push(new FieldError('Invalid', path, 'must be an integer', formatQuantity(q)));
  }
}

/** ValidateResourceRequirements for one container (after defaulting). */
export function validateContainerResources(c: V1Container, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const limPath = [...path, 'resources', 'limits'];
  const reqPath = [...path, 'resources', 'requests'];
  const limits = new Map<string, Quantity>();
  for (const name of Object.keys(c.resources?.limits ?? {}).sort()) {
    const p = [...limPath, key(name)];
    errs.push(...validateResourceName(name, p));
    const q = parseOrError(quantityString(c.resources!.limits![name]), p, errs);
    if (!q) continue;
    limits.set(name, q);
    validateQuantityValue(name, q, p, errs);
  }
  for (const name of Object.keys(c.resources?.requests ?? {}).sort()) {
    const p = [...reqPath, key(name)];
    errs.push(...validateResourceName(name, p));
    const q = parseOrError(quantityString(c.resources!.requests![name]), p, errs);
    if (!q) continue;
    validateQuantityValue(name, q, p, errs);
    const limit = limits.get(name);
    if (limit) {
      const cmp = compareQuantities(q, limit);
      if (cmp !== 0 && !isOvercommitAllowed(name)) {
        errs.push(new FieldError('Invalid', reqPath, `must be equal to ${name} limit of ${formatQuantity(limit)}`, formatQuantity(q)));
      } else if (cmp > 0) {
        errs.push(new FieldError('Invalid', reqPath, `must be less than or equal to ${name} limit of ${formatQuantity(limit)}`, formatQuantity(q)));
      }
    } else if (!(name in (c.resources?.limits ?? {})) && !isOvercommitAllowed(name)) {
      errs.push(new FieldError('Required', limPath, 'Limit must be set for non overcommitable resources'));
    }
  }
  return errs;
}

/** Field errors of a (defaulted) pod; empty when valid. Checks what the simulator relies on, not every apiserver rule. */
export function validatePod(pod: V1Pod): FieldError[] {
  const errs: FieldError[] = [];
  const name = pod.metadata?.name;
  if (!name) errs.push(new FieldError('Required', ['metadata', 'name'], 'name or generateName is required'));
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    errs.push(
      new FieldError(
        'Invalid',
        ['metadata', 'name'],
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        name,
      ),
    );
  }
  const containers = pod.spec?.containers ?? [];
  if (containers.length === 0) errs.push(new FieldError('Required', ['spec', 'containers'], ''));
  const check = (list: V1Container[], field: string): void => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      const p: FieldPath = ['spec', field, i];
      if (!c.name) errs.push(new FieldError('Required', [...p, 'name'], ''));
      else if (seen.has(c.name)) errs.push(new FieldError('Duplicate', [...p, 'name'], '', c.name));
      seen.add(c.name);
      errs.push(...validateContainerResources(c, p));
    });
  };
  check(containers, 'containers');
  check(pod.spec?.initContainers ?? [], 'initContainers');
  return errs;
}

/** Defaults then validates, as the apiserver does on create; throws InvalidObjectError with every field error. */
export function admitPodObject(pod: V1Pod): V1Pod {
  const defaulted = defaultPod(pod);
  const errs = validatePod(defaulted);
  if (errs.length) throw new InvalidObjectError('Pod', defaulted.metadata?.name ?? '', errs);
  return defaulted;
}
