// The shape of every built-in kind, taken from @kubernetes/client-node's generated models (each model class lists its
// fields with their JSON names and types; k8s-models.json holds those lists, written by scripts/k8s-models.mjs, so
// that serving the API does not load client-node itself), and of custom resources from their CRD's
// openAPIV3Schema. One walker over either serves the decoder (JSON → the store's shapes: date-time strings become
// Dates, unknown fields are found and dropped, as the apiserver's strict decoder reports and prunes them), the
// OpenAPI documents and the strategic-merge patch (which needs each field's type to find lists merged by key).
import k8sModels from './k8s-models.json' with { type: 'json' };

/** model name → its fields: [JSON name, TypeScript type as client-node writes it] */
const registry = new Map<string, ReadonlyArray<readonly string[]>>(Object.entries(k8sModels.models));

/** A CRD's openAPIV3Schema as it is on the wire (client-node's model renames the x-kubernetes-… fields). */
export interface JsonSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [extension: string]: unknown;
}
type V1JSONSchemaProps = JsonSchema;

/** A field's type: a model by name, a list, a map, or a scalar. */
export type FieldType =
  | { t: 'model'; name: string }
  | { t: 'array'; items: FieldType }
  | { t: 'map'; values: FieldType }
  | { t: 'date' }
  | { t: 'string' | 'number' | 'boolean' | 'intOrString' | 'any' }
  | { t: 'crd'; schema: V1JSONSchemaProps };

export function parseTypeName(type: string): FieldType {
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) return { t: 'array', items: parseTypeName(arr[1]) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { t: 'map', values: parseTypeName(map[1]) };
  switch (type) {
    case 'Date':
    case 'V1MicroTime':
      return { t: 'date' };
    case 'string':
    case 'number':
    case 'boolean':
      return { t: type };
    case 'IntOrString':
      return { t: 'intOrString' };
    case 'any':
    case 'object':
      return { t: 'any' };
  }
  if (registry.has(type)) return { t: 'model', name: type };
  return { t: 'any' };
}

const fieldCache = new Map<string, Map<string, FieldType>>();

/** The JSON fields of a model and their types. */
export function modelFields(name: string): Map<string, FieldType> {
  let m = fieldCache.get(name);
  if (!m) {
    m = new Map();
    for (const [field, type] of registry.get(name) ?? []) m.set(field, parseTypeName(type));
    fieldCache.set(name, m);
  }
  return m;
}

/** The type of one field of an object of type `t`, or undefined when `t` has no such field. */
export function fieldOf(t: FieldType, field: string): FieldType | undefined {
  if (t.t === 'model') return modelFields(t.name).get(field);
  if (t.t === 'map') return t.values;
  if (t.t === 'any') return { t: 'any' };
  if (t.t === 'crd') {
    const s = t.schema;
    const p = s.properties?.[field];
    if (p) return crdField(p);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') return crdField(s.additionalProperties);
    if (s['x-kubernetes-preserve-unknown-fields'] || s.additionalProperties === true) return { t: 'any' };
    return undefined;
  }
  return undefined;
}

function crdField(s: V1JSONSchemaProps): FieldType {
  if (s.type === 'array') return { t: 'array', items: s.items ? crdField(s.items) : { t: 'any' } };
  if (s.type === 'object' || s.properties) return { t: 'crd', schema: s };
  if (s.type === 'string' && s.format === 'date-time') return { t: 'date' };
  if (s['x-kubernetes-int-or-string']) return { t: 'intOrString' };
  if (s.type === 'string' || s.type === 'boolean') return { t: s.type };
  if (s.type === 'integer' || s.type === 'number') return { t: 'number' };
  return { t: 'any' };
}

/** A custom resource's type from its CRD version's schema; metadata is always ObjectMeta, apiVersion and kind strings. */
export function crdType(schema: V1JSONSchemaProps | undefined): FieldType {
  const props: Record<string, V1JSONSchemaProps> = { apiVersion: { type: 'string' }, kind: { type: 'string' }, ...(schema?.properties ?? {}) };
  delete props.metadata;
  return { t: 'crd', schema: { ...schema, type: 'object', properties: props } };
}

export interface Decoded<T> {
  value: T;
  /** unknown fields, in the apiserver's path form (`spec.containers[0].foo`) */
  unknown: string[];
  /** values of the wrong JSON type, as Go's encoding/json words them */
  typeErrors: string[];
}

function childPath(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

function jsonTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** Go's name of a field type, for encoding/json's "cannot unmarshal" message. */
function goTypeName(t: FieldType): string {
  switch (t.t) {
    case 'model':
      return `v1.${t.name.replace(/^(CoreV1|V1)/, '')}`;
    case 'array':
      return `[]${goTypeName(t.items)}`;
    case 'map':
      return `map[string]${goTypeName(t.values)}`;
    case 'date':
      return 'v1.Time';
    case 'number':
      return 'int64';
    case 'boolean':
      return 'bool';
    case 'crd':
      return 'map[string]interface {}';
    case 'string':
    case 'intOrString':
    case 'any':
      return t.t === 'intOrString' ? 'intstr.IntOrString' : t.t === 'any' ? 'interface {}' : 'string';
  }
}

/** Does a JSON value fit the field type? (null always does: Go leaves the zero value) */
function fits(t: FieldType, v: unknown, inMap: boolean): boolean {
  if (v === null) return true;
  switch (t.t) {
    case 'model':
    case 'map':
    case 'crd':
      return typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'date':
      return typeof v === 'string';
    case 'string':
      // resource quantities are strings in the models, numbers on the wire (`intel.com/sriov: 1`)
      return typeof v === 'string' || (inMap && typeof v === 'number');
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'intOrString':
      return typeof v === 'string' || typeof v === 'number';
    case 'any':
      return true;
  }
}

/**
 * Decodes a JSON value of type `t`: date-time strings become Dates; fields the type does not declare are dropped and
 * listed; values of the wrong JSON type are listed as type errors (the apiserver refuses those with 400).
 */
export function decode<T>(root: FieldType, json: unknown, rootName = ''): Decoded<T> {
  const unknown: string[] = [];
  const typeErrors: string[] = [];
  const walk = (t: FieldType, v: unknown, path: string, inMap = false): unknown => {
    if (v === null || v === undefined) return v;
    if (!fits(t, v, inMap)) {
      typeErrors.push(`json: cannot unmarshal ${jsonTypeName(v)} into Go struct field ${rootName}${rootName && path ? '.' : ''}${path} of type ${goTypeName(t)}`);
      return undefined;
    }
    switch (t.t) {
      case 'date': {
        const d = new Date(v as string);
        if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(v as string)) {
          typeErrors.push(`parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(v)} as "2006"`);
          return undefined;
        }
        return d;
      }
      case 'array':
        return (v as unknown[]).map((x, i) => walk(t.items, x, `${path}[${i}]`));
      case 'map':
        return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, walk(t.values, x, `${path}[${k}]`, true)]));
      case 'model':
      case 'crd': {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as object)) {
          const ft = k === 'metadata' && t.t === 'crd' && !path ? ({ t: 'model', name: 'V1ObjectMeta' } as const) : fieldOf(t, k);
          if (!ft) {
            unknown.push(childPath(path, k));
            continue;
          }
          const d = walk(ft, x, childPath(path, k));
          if (d !== undefined) out[k] = d;
        }
        return out;
      }
      case 'string':
      case 'number':
      case 'boolean':
      case 'intOrString':
      case 'any':
        return v;
    }
  };
  return { value: walk(root, json, '') as T, unknown, typeErrors };
}

/** patchStrategy=merge lists and their patchMergeKey, by model and field (the `patchMergeKey` struct tags). */
const MERGE_KEYS: Record<string, Record<string, string | null>> = {
  V1PodSpec: { containers: 'name', initContainers: 'name', ephemeralContainers: 'name', volumes: 'name', imagePullSecrets: 'name', hostAliases: 'ip', resourceClaims: 'name', schedulingGates: 'name', topologySpreadConstraints: 'topologyKey' },
  V1Container: { env: 'name', ports: 'containerPort', volumeMounts: 'mountPath', volumeDevices: 'devicePath' },
  V1EphemeralContainer: { env: 'name', ports: 'containerPort', volumeMounts: 'mountPath', volumeDevices: 'devicePath' },
  V1PodStatus: { conditions: 'type', podIPs: 'ip', hostIPs: 'ip' },
  V1ObjectMeta: { ownerReferences: 'uid', finalizers: null },
  V1NodeStatus: { conditions: 'type', addresses: 'type' },
  V1NodeSpec: { podCIDRs: null },
  V1ServiceAccount: { secrets: 'name' },
  V1NamespaceStatus: { conditions: 'type' },
};

/** The list's merge strategy: a key to merge structs by, `null` for a set of primitives, undefined to replace it. */
export function mergeKeyOf(parent: FieldType, field: string): string | null | undefined {
  if (parent.t !== 'model') return undefined;
  const m = MERGE_KEYS[parent.name];
  return m && field in m ? m[field] : undefined;
}

// ---- OpenAPI v3 component schemas ----

export type OpenApiSchema = Record<string, unknown>;

/** `#/components/schemas/<name>` for a model and every model it reaches, added to `out`. */
export function addComponentSchemas(root: string, out: Record<string, OpenApiSchema>): void {
  const schemaOf = (t: FieldType): OpenApiSchema => {
    switch (t.t) {
      case 'model':
        addComponentSchemas(t.name, out);
        return { allOf: [{ $ref: `#/components/schemas/${t.name}` }] };
      case 'array':
        return { type: 'array', items: schemaOf(t.items) };
      case 'map':
        return { type: 'object', additionalProperties: schemaOf(t.values) };
      case 'date':
        return { type: 'string', format: 'date-time' };
      case 'intOrString':
        return { 'x-kubernetes-int-or-string': true };
      case 'number':
        return { type: 'number' };
      case 'string':
      case 'boolean':
        return { type: t.t };
      case 'crd':
        return t.schema as OpenApiSchema;
      case 'any':
        return {};
    }
  };
  if (out[root]) return;
  const properties: Record<string, OpenApiSchema> = {};
  out[root] = { type: 'object', properties };
  for (const [field, t] of modelFields(root)) {
    properties[field] = schemaOf(t);
    // kubectl apply takes the merge keys of its three-way patch from here
    const mk = mergeKeyOf({ t: 'model', name: root }, field);
    if (mk !== undefined) Object.assign(properties[field], { 'x-kubernetes-patch-strategy': 'merge', ...(mk ? { 'x-kubernetes-patch-merge-key': mk } : {}) });
  }
}
