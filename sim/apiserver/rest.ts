// The verbs over the cluster, as the apiserver's registry does them: decode (strict or not), default and validate,
// then write through the Cluster where the control plane must react (a pod is created and deleted by the Cluster,
// which schedules it and has the node's kubelet run and release it) and through the store for everything else.
// Updates keep what the caller may not change: a resource's status on the main resource, its spec on /status.
import { randomInt } from 'node:crypto';
import type { V1CustomResourceDefinition, V1DaemonSet, V1Namespace, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { Cluster } from '../cluster/cluster.ts';
import { toPlain } from '../cluster/kubectl.ts';
import type { AnyObject } from '../cluster/store.ts';
import { applyJsonPatch, applyMergePatch, strategicMerge, type Json, type JsonObject } from './patch.ts';
import { applyManagedFields, updateManagedFields, type ManagedFieldsEntry, type WriteInfo } from './managed-fields.ts';
import { customResourcesOf, groupVersion, NAD_CRD, qualifiedResource, ResourceTable, type ResourceInfo } from './resources.ts';
import { crdType, decode, type FieldType, type JsonSchema } from './schema.ts';
import { selectorMatcher } from './selectors.ts';
import { ApiError, badRequest, invalid, notFound } from './status.ts';
import { defaultPod, FieldError, generatedName } from './validation.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteContext {
  fieldValidation: FieldValidation;
  /** warnings for the Warning header */
  warnings: string[];
  /** who writes (the fieldManager parameter, or the client's user agent): its fields are recorded in managedFields */
  fieldManager?: string;
  /** a server-side apply takes conflicting fields over (force=true) */
  force?: boolean;
  /** a server-side apply that creates the object: its configuration, whose fields the applier owns */
  applied?: JsonObject;
}

export interface Target {
  r: ResourceInfo;
  /** '' for cluster-scoped resources and all-namespace lists */
  namespace: string;
  name?: string;
  subresource?: string;
}

export const PROTECTED_NAMESPACES = ['default', 'kube-system', 'kube-public'];
export const SYSTEM_NAMESPACES = [...PROTECTED_NAMESPACES, 'kube-node-lease'];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Registry {
  /** what is served: the built-in table and the resources of the CRDs in the store */
  readonly resources: ResourceTable;
  constructor(private readonly cluster: Cluster) {
    this.resources = new ResourceTable(cluster.store);
  }

  private get store() {
    return this.cluster.store;
  }

  /** Namespaces, their default service accounts, and the NetworkAttachmentDefinition CRD: what a fresh cluster has. */
  bootstrap(): void {
    for (const ns of SYSTEM_NAMESPACES) if (!this.store.get('Namespace', '', ns)) this.createNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    if (!this.store.get('CustomResourceDefinition', '', NAD_CRD.metadata!.name!)) this.createCrd(structuredClone(NAD_CRD));
  }

  private createNamespace(ns: V1Namespace): V1Namespace {
    const stored = this.store.create('Namespace', {
      ...ns,
      metadata: { ...ns.metadata, labels: { ...ns.metadata?.labels, 'kubernetes.io/metadata.name': ns.metadata!.name! } },
      spec: { finalizers: ['kubernetes'], ...ns.spec },
      status: { phase: 'Active' },
    });
    // the service account controller gives every namespace its "default"
    this.store.create('ServiceAccount', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: stored.metadata!.name! } });
    return stored;
  }

  private createCrd(crd: V1CustomResourceDefinition): V1CustomResourceDefinition {
    const now = new Date(this.store.clock.now());
    return this.store.create('CustomResourceDefinition', {
      ...crd,
      status: {
        acceptedNames: crd.spec.names,
        storedVersions: crd.spec.versions.filter((v) => v.storage).map((v) => v.name),
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
          { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
        ],
      },
    });
  }

  /** The type of a resource's objects: its client-node model, or its CRD's schema. */
  typeOf(r: ResourceInfo): FieldType {
    if (r.model) return { t: 'model', name: r.model };
    return crdType(this.crdSchema(r));
  }

  crdSchema(r: ResourceInfo): JsonSchema | undefined {
    const crd = this.store.get('CustomResourceDefinition', '', qualifiedResource(r));
    return crd?.spec.versions.find((v) => v.name === r.version)?.schema?.openAPIV3Schema as JsonSchema | undefined;
  }

  /** A request body as an object of the resource, with the strict decoder's verdict on unknown fields. */
  decodeBody(t: Target, raw: unknown, ctx: WriteContext): AnyObject {
    const { r } = t;
    const gv = groupVersion(r);
    if (!isObject(raw)) throw badRequest(`the object provided is unrecognized (must be of type ${r.kind})`);
    if (raw.apiVersion !== undefined && raw.apiVersion !== gv) throw badRequest(`the API version in the data (${String(raw.apiVersion)}) does not match the expected API version (${gv})`);
    if (raw.kind !== undefined && raw.kind !== r.kind) throw badRequest(`the kind in the data (${String(raw.kind)}) does not match the expected kind (${r.kind})`);
    const { value, unknown, typeErrors } = decode<AnyObject>(this.typeOf(r), { ...raw, apiVersion: gv, kind: r.kind }, r.kind);
    if (typeErrors.length) throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${typeErrors[0]}`);
    if (unknown.length && ctx.fieldValidation === 'Strict') {
      throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${unknown.map((u) => `unknown field ${JSON.stringify(u)}`).join(', ')}`);
    }
    if (ctx.fieldValidation === 'Warn') for (const u of unknown) ctx.warnings.push(`unknown field ${JSON.stringify(u)}`);
    return value;
  }

  private requireNamespace(namespace: string): void {
    if (!this.store.get('Namespace', '', namespace)) throw notFound('namespaces', namespace);
  }

  private checkNamespace(t: Target, obj: AnyObject): void {
    if (!t.r.namespaced) return;
    const meta = (obj.metadata ??= {});
    if (meta.namespace && meta.namespace !== t.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    meta.namespace = t.namespace;
  }

  /** metadata.name: given, or made from generateName; a valid name for the kind. */
  private nameErrors(r: ResourceInfo, obj: AnyObject): FieldError[] {
    const meta = (obj.metadata ??= {});
    if (!meta.name && meta.generateName) {
      meta.name = generatedName(meta.generateName, randomInt);
    }
    const name = meta.name;
    if (!name) return [new FieldError('Required', ['metadata', 'name'], 'name or generateName is required')];
    if (r.storeKind === 'Namespace' && (!DNS_LABEL.test(name) || name.length > 63)) {
      return [
        new FieldError(
          'Invalid',
          ['metadata', 'name'],
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
          name,
        ),
      ];
    }
    if (r.storeKind !== 'Pod' && (!DNS_SUBDOMAIN.test(name) || name.length > 253)) {
      return [
        new FieldError(
          'Invalid',
          ['metadata', 'name'],
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
          name,
        ),
      ];
    }
    return [];
  }

  create(t: Target, raw: unknown, ctx: WriteContext): AnyObject {
    let obj = this.decodeBody(t, raw, ctx);
    if (t.r.storeKind === 'Secret') obj = secretOf(obj as V1Secret);
    if (t.r.namespaced) this.requireNamespace(t.namespace);
    this.checkNamespace(t, obj);
    const errs = this.nameErrors(t.r, obj);
    const name = obj.metadata?.name ?? '';
    if (errs.length && t.r.storeKind !== 'Pod') throw invalid(t.r.kind, name, errs, t.r.group);
    if (t.r.namespaced) {
      const ns = this.store.get('Namespace', '', t.namespace);
      if (ns?.status?.phase === 'Terminating') {
        throw new ApiError(403, 'Forbidden', `${qualifiedResource(t.r)} ${JSON.stringify(name)} is forbidden: unable to create new content in namespace ${t.namespace} because it is being terminated`);
      }
    }
    for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'] as const) delete obj.metadata![f];
    const w = this.writeInfo(t, ctx);
    if (w) setManaged(obj, ctx.applied ? applyManagedFields(undefined, ctx.applied, toPlain(obj) as JsonObject, [], w, true) : updateManagedFields(undefined, toPlain(obj) as JsonObject, [], w));
    else delete obj.metadata!.managedFields;
    switch (t.r.storeKind) {
      case 'Pod':
        return this.cluster.createPod(obj as V1Pod);
      case 'Namespace':
        return this.createNamespace(obj as V1Namespace);
      case 'CustomResourceDefinition':
        return this.createCrd(this.validCrd(obj as V1CustomResourceDefinition));
      case 'DaemonSet':
        return this.store.create('DaemonSet', this.validDaemonSet({ ...(obj as V1DaemonSet), metadata: { ...obj.metadata, generation: 1 } }));
      case 'Secret':
        return this.store.create('Secret', obj as V1Secret);
      case 'Node':
      case 'Event':
      case 'ConfigMap':
      case 'ServiceAccount':
      case 'NetworkAttachmentDefinition':
      default:
        // these, and custom resources (their store kinds are no Kind of the table): stored as they are
        return this.store.create(t.r.storeKind, obj as never);
    }
  }

  /** ValidateDaemonSet, the part a client gets wrong: a selector, and template labels it selects. */
  private validDaemonSet(ds: V1DaemonSet): V1DaemonSet {
    const name = ds.metadata?.name ?? '';
    const selector = ds.spec?.selector;
    const labels = ds.spec?.template?.metadata?.labels ?? {};
    if (!selector || (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length)) {
      throw invalid('DaemonSet', name, [new FieldError('Required', ['spec', 'selector'], '')], 'apps');
    }
    const matches = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    if (!matches) {
      throw invalid('DaemonSet', name, [new FieldError('Invalid', ['spec', 'template', 'metadata', 'labels'], '`selector` does not match template `labels`', { goSyntax: `map[string]string{${Object.entries(labels).sort().map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}` })], 'apps');
    }
    if (!(ds.spec?.template?.spec?.containers ?? []).length) throw invalid('DaemonSet', name, [new FieldError('Required', ['spec', 'template', 'spec', 'containers'], '')], 'apps');
    return {
      ...ds,
      spec: {
        revisionHistoryLimit: 10,
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
        ...ds.spec!,
      },
    };
  }

  /** ValidateCustomResourceDefinition, the parts a served resource depends on. */
  private validCrd(crd: V1CustomResourceDefinition): V1CustomResourceDefinition {
    const name = crd.metadata?.name ?? '';
    const errs: FieldError[] = [];
    const want = `${crd.spec?.names?.plural}.${crd.spec?.group}`;
    if (name !== want) errs.push(new FieldError('Invalid', ['metadata', 'name'], 'must be spec.names.plural+"."+spec.group', name));
    if (!crd.spec?.group) errs.push(new FieldError('Required', ['spec', 'group'], ''));
    if (!crd.spec?.names?.plural) errs.push(new FieldError('Required', ['spec', 'names', 'plural'], ''));
    if (!crd.spec?.names?.kind) errs.push(new FieldError('Required', ['spec', 'names', 'kind'], ''));
    if (crd.spec?.scope !== 'Namespaced' && crd.spec?.scope !== 'Cluster') errs.push(new FieldError('NotSupported', ['spec', 'scope'], 'supported values: "Cluster", "Namespaced"', crd.spec?.scope ?? ''));
    const versions = crd.spec?.versions ?? [];
    if (!versions.length) errs.push(new FieldError('Invalid', ['spec', 'versions'], 'must have exactly one version marked as storage version', { goSyntax: '[]apiextensions.CustomResourceDefinitionVersion(nil)' }));
    else if (versions.filter((v) => v.storage).length !== 1) errs.push(new FieldError('Invalid', ['spec', 'versions'], 'must have exactly one version marked as storage version', { goSyntax: `[]apiextensions.CustomResourceDefinitionVersion{…}` }));
    if (errs.length) throw invalid('CustomResourceDefinition', name, errs, 'apiextensions.k8s.io');
    return crd;
  }

  get(t: Target): AnyObject {
    const o = this.store.get(t.r.storeKind, t.namespace, t.name!);
    if (!o) throw notFound(t.r.resource, t.name!, t.r.group);
    return o;
  }

  list(t: Target, labelSelector?: string, fieldSelector?: string): AnyObject[] {
    const match = selectorMatcher(t.r.storeKind, labelSelector, fieldSelector);
    return this.store.list(t.r.storeKind, t.r.namespaced && t.namespace ? t.namespace : undefined).filter(match);
  }

  /** PUT: a whole new object (status kept from the stored one; on /status, spec and the rest kept instead). */
  update(t: Target, raw: unknown, ctx: WriteContext): AnyObject {
    const obj = this.decodeBody(t, raw, ctx);
    return this.replace(t, obj, ctx);
  }

  /** who writes, for managedFields (none: an internal write, not recorded) */
  private writeInfo(t: Target, ctx: WriteContext): WriteInfo | undefined {
    if (!ctx.fieldManager) return undefined;
    return { manager: ctx.fieldManager, apiVersion: groupVersion(t.r), subresource: t.subresource, nowMs: this.store.clock.now(), type: this.typeOf(t.r), hasStatus: t.r.subresources.includes('status') };
  }

  private replace(t: Target, obj: AnyObject, ctx: WriteContext, managed?: ManagedFieldsEntry[]): AnyObject {
    const old = this.get(t);
    this.checkNamespace(t, obj);
    const name = obj.metadata?.name;
    if (name !== t.name) throw badRequest(`the name of the object (${name ?? ''}) does not match the name on the URL (${t.name})`);
    const hasStatus = t.r.subresources.includes('status');
    let next: AnyObject;
    if (t.subresource === 'status') {
      const o = old as AnyObject & { status?: unknown };
      const n = obj as AnyObject & { status?: unknown };
      next = { ...o, metadata: { ...o.metadata, labels: n.metadata?.labels, annotations: n.metadata?.annotations, resourceVersion: n.metadata?.resourceVersion }, status: n.status } as AnyObject;
    } else {
      next = { ...obj, metadata: { ...obj.metadata, deletionTimestamp: old.metadata?.deletionTimestamp, deletionGracePeriodSeconds: old.metadata?.deletionGracePeriodSeconds } } as AnyObject;
      if (hasStatus) (next as { status?: unknown }).status = (old as { status?: unknown }).status;
      if (t.r.storeKind === 'Pod') next = this.podUpdate(old as V1Pod, next as V1Pod);
      if (t.r.storeKind === 'DaemonSet') next = this.daemonSetUpdate(old as V1DaemonSet, next as V1DaemonSet);
      if (t.r.storeKind === 'Secret') next = secretOf(next as V1Secret);
    }
    // managed fields are the server's: an apply's were worked out already, an update's follow from what it changed
    const w = this.writeInfo(t, ctx);
    const entries = (old.metadata?.managedFields ?? []) as unknown as ManagedFieldsEntry[];
    if (managed) setManaged(next, managed);
    else if (w) setManaged(next, updateManagedFields(toPlain(old) as JsonObject, toPlain(next) as JsonObject, toPlain(entries) as ManagedFieldsEntry[], w));
    else next.metadata = { ...next.metadata, managedFields: old.metadata?.managedFields };
    // without a resourceVersion the update is unconditional (as core kinds allow); with one it must be the current
    next.metadata = { ...next.metadata };
    if (!next.metadata.resourceVersion) delete next.metadata.resourceVersion;
    return this.store.update(t.r.storeKind, next as never);
  }

  /** A DaemonSet's generation counts the changes of its spec (the controller rolls its pods to the newest). */
  private daemonSetUpdate(old: V1DaemonSet, next: V1DaemonSet): V1DaemonSet {
    const valid = this.validDaemonSet(next);
    const same = JSON.stringify(toPlain(old.spec)) === JSON.stringify(toPlain(valid.spec));
    const generation = (old.metadata?.generation ?? 1) + (same ? 0 : 1);
    return { ...valid, metadata: { ...valid.metadata, generation } };
  }

  /** ValidatePodUpdate: of the spec only images, activeDeadlineSeconds and added tolerations may change. */
  private podUpdate(old: V1Pod, next: V1Pod): V1Pod {
    const defaulted = defaultPod(next);
    const mutable = (p: V1Pod) => {
      const s = structuredClone(toPlain(p.spec ?? {})) as Record<string, unknown>;
      for (const f of ['containers', 'initContainers'] as const) for (const c of (s[f] as Array<Record<string, unknown>> | undefined) ?? []) delete c.image;
      delete s.activeDeadlineSeconds;
      delete s.tolerations;
      delete s.terminationGracePeriodSeconds;
      return JSON.stringify(s);
    };
    const oldTolerations = (old.spec?.tolerations ?? []).map((x) => JSON.stringify(toPlain(x)));
    const newTolerations = new Set((defaulted.spec?.tolerations ?? []).map((x) => JSON.stringify(toPlain(x))));
    if (mutable(old) !== mutable(defaulted) || oldTolerations.some((x) => !newTolerations.has(x))) {
      throw invalid('Pod', old.metadata!.name!, [
        new FieldError(
          'Forbidden',
          ['spec'],
          'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        ),
      ]);
    }
    return { ...defaulted, metadata: { ...defaulted.metadata, namespace: old.metadata?.namespace } };
  }

  /** PATCH by its content type. A server-side apply to a missing object creates it. */
  patch(t: Target, contentType: string, body: unknown, ctx: WriteContext): { obj: AnyObject; created: boolean } {
    const type = contentType.split(';')[0].trim().toLowerCase();
    if (type === 'application/apply-patch+yaml') {
      if (!ctx.fieldManager) throw invalid(t.r.kind, t.name ?? '', [new FieldError('Required', ['fieldManager'], 'is required for apply patch')], t.r.group);
      if (!isObject(body)) throw badRequest(`the object provided is unrecognized (must be of type ${t.r.kind})`);
      const cur = this.store.get(t.r.storeKind, t.namespace, t.name!);
      if (!cur) {
        if (isObject(body) && isObject(body.metadata) && body.metadata.name !== undefined && body.metadata.name !== t.name) {
          throw badRequest(`the name of the object (${String(body.metadata.name)}) does not match the name on the URL (${t.name})`);
        }
        const created = this.create(t, { ...(body as object), metadata: { ...((isObject(body) && isObject(body.metadata) ? body.metadata : {}) as object), name: t.name } }, { ...ctx, applied: body as JsonObject });
        return { obj: created, created: true };
      }
    }
    const cur = toPlain(this.get(t)) as Json;
    let patched: Json;
    switch (type) {
      case 'application/json-patch+json':
        patched = applyJsonPatch(cur, body);
        break;
      case 'application/merge-patch+json':
        patched = applyMergePatch(cur, body as Json);
        break;
      case 'application/strategic-merge-patch+json':
        if (!t.r.builtin) throw unsupportedPatch(false);
        patched = strategicMerge(cur, body as Json, this.typeOf(t.r));
        break;
      case 'application/apply-patch+yaml': {
        // the applied configuration merged in (lists by their merge keys), then field ownership: conflicts, removals
        patched = strategicMerge(cur, body as Json, t.r.builtin ? this.typeOf(t.r) : undefined);
        const w = this.writeInfo(t, ctx)!;
        const entries = ((cur as JsonObject).metadata as JsonObject | undefined)?.managedFields as unknown as ManagedFieldsEntry[] | undefined;
        const managed = applyManagedFields(cur as JsonObject, body as JsonObject, patched as JsonObject, entries ?? [], w, ctx.force === true);
        const obj = this.decodeBody(t, patched, ctx);
        return { obj: this.replace(t, obj, ctx, managed), created: false };
      }
      default:
        throw unsupportedPatch(t.r.builtin);
    }
    if (!isObject(patched)) throw badRequest(`the object provided is unrecognized (must be of type ${t.r.kind})`);
    const obj = this.decodeBody(t, patched, ctx);
    return { obj: this.replace(t, obj, ctx), created: false };
  }

  /** DELETE: pods gracefully (the Cluster releases them on their node first), namespaces with their contents. */
  delete(t: Target, onError: (e: unknown) => void): AnyObject {
    const old = this.get(t);
    switch (t.r.storeKind) {
      case 'Pod':
        this.cluster.deletePod(t.namespace, t.name!).catch(onError);
        return this.store.get('Pod', t.namespace, t.name!) ?? old;
      case 'Namespace': {
        if (PROTECTED_NAMESPACES.includes(t.name!)) throw new ApiError(403, 'Forbidden', `namespaces ${JSON.stringify(t.name)} is forbidden: this namespace may not be deleted`, { name: t.name, kind: 'namespaces' });
        if ((old as V1Namespace).status?.phase === 'Terminating') return old;
        const terminating = this.store.modify('Namespace', '', t.name!, (n) => {
          n.metadata = { ...n.metadata, deletionTimestamp: new Date(this.store.clock.now()) };
          n.status = { ...n.status, phase: 'Terminating' };
        });
        this.deleteNamespaceContents(t.name!).catch(onError);
        return terminating;
      }
      case 'CustomResourceDefinition': {
        // the apiserver deletes a CRD's objects with it
        const crd = old as V1CustomResourceDefinition;
        for (const kind of new Set(customResourcesOf(crd).map((r) => r.storeKind))) {
          for (const o of this.store.list(kind)) this.store.delete(kind, o.metadata?.namespace ?? '', o.metadata!.name!);
        }
        return this.store.delete('CustomResourceDefinition', '', t.name!);
      }
      case 'Node':
      case 'Event':
      case 'ConfigMap':
      case 'Secret':
      case 'ServiceAccount':
      case 'NetworkAttachmentDefinition':
      case 'DaemonSet':
      default:
        return this.store.delete(t.r.storeKind, t.namespace, t.name!);
    }
  }

  private async deleteNamespaceContents(namespace: string): Promise<void> {
    await Promise.all(this.store.list('Pod', namespace).map((p) => this.cluster.deletePod(namespace, p.metadata!.name!)));
    for (const kind of new Set(this.resources.all().filter((r) => r.namespaced && r.storeKind !== 'Pod').map((r) => r.storeKind))) {
      for (const o of this.store.list(kind, namespace)) this.store.delete(kind, namespace, o.metadata!.name!);
    }
    if (this.store.get('Namespace', '', namespace)) this.store.delete('Namespace', '', namespace);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A Secret as stored: `data` values must be base64 (else the decoder's error, as for a []byte field); `stringData`
 * is merged into `data` and never kept; the type defaults to Opaque (SetDefaults_Secret).
 */
function secretOf(s: V1Secret): V1Secret {
  for (const v of Object.values(s.data ?? {})) {
    if (typeof v === 'string' && (!BASE64.test(v) || v.length % 4 !== 0)) {
      const at = v.search(/[^A-Za-z0-9+/=]/);
      throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at >= 0 ? at : Math.max(0, v.length - (v.length % 4 || 4))}`);
    }
  }
  const { stringData, ...rest } = s;
  const data: Record<string, string> = { ...s.data };
  for (const [k, v] of Object.entries(stringData ?? {})) data[k] = Buffer.from(v, 'utf8').toString('base64');
  return { ...rest, type: s.type || 'Opaque', ...(Object.keys(data).length ? { data } : {}) };
}

function setManaged(obj: AnyObject, entries: ManagedFieldsEntry[]): void {
  obj.metadata = { ...obj.metadata, managedFields: entries.length ? (entries as unknown as NonNullable<AnyObject['metadata']>['managedFields']) : undefined };
}

function unsupportedPatch(strategic: boolean): ApiError {
  const types = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', ...(strategic ? ['application/strategic-merge-patch+json'] : [])];
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${types.join(', ')}`);
}
