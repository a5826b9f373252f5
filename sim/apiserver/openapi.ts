// OpenAPI v3, as /openapi/v3 serves it: a root listing each group-version's document by a hash-pinned URL, and per
// group-version the paths of its resources with x-kubernetes-group-version-kind and the query parameters the server
// honours. kubectl reads the PATCH operation of a kind's item path: when it declares `fieldValidation`, kubectl leaves
// validation to the server (fieldValidation=Strict on create and apply) instead of refusing to go on.
import { createHash } from 'node:crypto';
import { addComponentSchemas, type JsonSchema, type OpenApiSchema } from './schema.ts';
import { groupVersion, groupVersions, RESOURCES, type ResourceInfo } from './resources.ts';

const query = (name: string, description: string, type = 'string'): OpenApiSchema => ({ name, in: 'query', description, schema: { type, uniqueItems: true } });
const pathParam = (name: string): OpenApiSchema => ({ name, in: 'path', required: true, description: `name of the ${name === 'namespace' ? 'Namespace' : 'object'}`, schema: { type: 'string', uniqueItems: true } });

const WRITE_PARAMS = [
  query('dryRun', 'When present, indicates that modifications should not be persisted.'),
  query('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  query(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default), Strict.',
  ),
];
const LIST_PARAMS = [
  query('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  query('continue', 'The continue option should be set when retrieving more results from the server.'),
  query('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  query('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  query('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  query('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  query('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
  query('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', 'boolean'),
];

function opId(verb: string, r: ResourceInfo, suffix = ''): string {
  const g = (r.group.split('.')[0] || 'core').replace(/^./, (c) => c.toUpperCase());
  return `${verb}${g}${r.version.replace(/^./, (c) => c.toUpperCase())}${r.namespaced ? 'Namespaced' : ''}${r.kind}${suffix}`;
}

function schemaName(r: ResourceInfo): string {
  return r.model ?? `${r.group}.${r.version}.${r.kind}`;
}

function json(ref: string): OpenApiSchema {
  return { content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } };
}

function itemPaths(r: ResourceInfo, base: string, sub: string): Record<string, OpenApiSchema> {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const ref = schemaName(r);
  const suffix = sub ? sub.replace(/^./, (c) => c.toUpperCase()) : '';
  return {
    [`${base}/{name}${sub ? `/${sub}` : ''}`]: {
      parameters: [pathParam('name'), ...(r.namespaced ? [pathParam('namespace')] : []), query('pretty', "If 'true', then the output is pretty printed.")],
      get: { operationId: opId('read', r, suffix), responses: { '200': json(ref) }, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
      put: { operationId: opId('replace', r, suffix), parameters: WRITE_PARAMS, requestBody: json(ref), responses: { '200': json(ref), '201': json(ref) }, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk },
      patch: {
        operationId: opId('patch', r, suffix),
        parameters: [...WRITE_PARAMS, query('force', 'Force is going to "force" Apply requests.', 'boolean')],
        requestBody: {
          content: Object.fromEntries(
            ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', ...(r.builtin ? ['application/strategic-merge-patch+json'] : [])].map((t) => [
              t,
              { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
            ]),
          ),
          required: true,
        },
        responses: { '200': json(ref), '201': json(ref) },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
      ...(sub
        ? {}
        : { delete: { operationId: opId('delete', r), parameters: [query('dryRun', 'When present, indicates that modifications should not be persisted.')], responses: { '200': json(ref) }, 'x-kubernetes-action': 'delete', 'x-kubernetes-group-version-kind': gvk } }),
    },
  };
}

/** The OpenAPI v3 document of one group-version. `crdSchema` gives a custom resource's schema. */
export function groupVersionDocument(group: string, version: string, crdSchema: (r: ResourceInfo) => JsonSchema | undefined, all: readonly ResourceInfo[] = RESOURCES): Record<string, unknown> {
  const paths: Record<string, OpenApiSchema> = {};
  const schemas: Record<string, OpenApiSchema> = {
    'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
  };
  for (const r of all.filter((x) => x.group === group && x.version === version)) {
    const root = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const base = r.namespaced ? `${root}/namespaces/{namespace}/${r.resource}` : `${root}/${r.resource}`;
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    paths[base] = {
      parameters: [...(r.namespaced ? [pathParam('namespace')] : [])],
      get: { operationId: opId('list', r), parameters: LIST_PARAMS, responses: { '200': json(schemaName(r)) }, 'x-kubernetes-action': 'list', 'x-kubernetes-group-version-kind': gvk },
      post: { operationId: opId('create', r), parameters: WRITE_PARAMS, requestBody: json(schemaName(r)), responses: { '201': json(schemaName(r)) }, 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk },
    };
    Object.assign(paths, itemPaths(r, base, ''));
    if (r.subresources.includes('status')) Object.assign(paths, itemPaths(r, base, 'status'));
    if (r.model) addComponentSchemas(r.model, schemas);
    else schemas[schemaName(r)] = { ...(crdSchema(r) ?? { type: 'object' }) };
    schemas[schemaName(r)] = { ...schemas[schemaName(r)], 'x-kubernetes-group-version-kind': [gvk] };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

/** `/openapi/v3`: each group-version's document at a URL pinned by the hash of its content. */
export function openApiRoot(doc: (gv: { group: string; version: string }) => string, all: readonly ResourceInfo[] = RESOURCES): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions(all)) {
    const p = gv.group ? `apis/${groupVersion(gv)}` : `api/${gv.version}`;
    const hash = createHash('sha512').update(doc(gv)).digest('hex').slice(0, 128).toUpperCase();
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}
