// The one description language for the shapes of the YAML files the project reads: scenarios, topologies and
// manifests. A `Shape` tree drives both the check of a parsed YAML document (walker.ts: file:line:column of every
// problem, "did you mean" for unknown keys and enum values) and the JSON Schema written for editors
// (json-schema.ts), so the two cannot disagree. Rules that span fields (numVfs ≤ totalVfs, one operation per list
// item, a node that exists) stay with each file's loader, which runs them over the walked value and the positions
// the walk recorded.

/** a JSON value, as a schema annotation (`default`) holds it */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** the JSON Schema annotations every shape may carry */
interface Annotated {
  desc?: string;
  /** what a loader fills in when the field is absent; for editors only, the walk does not fill it in */
  default?: JsonValue;
}

export interface StringShape extends Annotated {
  t: 'string';
  enum?: readonly string[];
  const?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  /** a YAML number is taken as its decimal text, as Kubernetes reads a quantity (`cpu: 4`) */
  numbers?: boolean;
  /** a YAML null (a key without a value) reads as this string, as Kubernetes decodes a label without a value */
  nullAs?: string;
  /**
   * The precise rule, with a message a user can act on; it runs before enum, const, length and pattern, which
   * then only catch what it lets through (they stay for the JSON Schema).
   */
  check?: (value: string) => string | undefined;
  /** what the value is in a wrong-type message ("a quantity"), instead of "a string" */
  noun?: string;
}

export interface FieldShape {
  shape: Shape;
  required?: boolean;
}

export type Shape =
  | StringShape
  | (Annotated & { t: 'integer'; min?: number; max?: number })
  | (Annotated & { t: 'boolean' })
  /** a mapping of known fields; unknown keys are errors unless `open` (a Kubernetes object: only some are checked) */
  | (Annotated & { t: 'object'; fields: Record<string, FieldShape>; open?: boolean })
  /** a mapping with values of one shape; `keyCheck` says what is wrong with a key (reported at the key) */
  | (Annotated & { t: 'map'; values: Shape; keyCheck?: (key: string) => string | undefined })
  /** `tooFew` is the message for fewer than minItems; `uniqueItems` reports every repeated item */
  | (Annotated & { t: 'array'; items: Shape; minItems?: number; tooFew?: string; uniqueItems?: boolean })
  /** alternatives told apart by the YAML node's type (scalar / mapping / list) */
  | (Annotated & { t: 'oneOf'; options: readonly Shape[] })
  /** any JSON value (a Kubernetes manifest, an expected partial object) */
  | (Annotated & { t: 'json'; object?: boolean })
  /** a shape of the definitions passed to the walker (and written under `definitions` in the schema) */
  | { t: 'ref'; name: string };

export const opt = (shape: Shape): FieldShape => ({ shape });
export const req = (shape: Shape): FieldShape => ({ shape, required: true });

/** What a walk returns for a value of type T: every invalid part left out (undefined), the rest as given. */
export type Walked<T> = T extends ReadonlyArray<infer U>
  ? Array<Walked<U> | undefined>
  : T extends object
    ? { [K in keyof T]?: Walked<T[K]> }
    : T;
