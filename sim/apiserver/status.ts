// metav1.Status: how the apiserver says no. Reasons, codes and message shapes are apimachinery's
// (k8s.io/apimachinery/pkg/api/errors), so kubectl prints `Error from server (NotFound): pods "x" not found`.
import { FieldError, InvalidObjectError } from './validation.ts';
import { StoreError } from '../cluster/store.ts';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Expired'
  | 'InternalError';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** An error the API server answers with a Status. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;
  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
  toStatus(): Status {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

export function notFound(resource: string, name: string, group = ''): ApiError {
  return new ApiError(404, 'NotFound', `${resource}${group ? `.${group}` : ''} ${JSON.stringify(name)} not found`, { name, ...(group ? { group } : {}), kind: resource });
}

const CAUSE_REASON: Record<FieldError['type'], string> = {
  Invalid: 'FieldValueInvalid',
  Required: 'FieldValueRequired',
  NotSupported: 'FieldValueNotSupported',
  Forbidden: 'FieldValueForbidden',
  Duplicate: 'FieldValueDuplicate',
};

/** 422 Invalid, with one cause per field error (errors.NewInvalid). */
export function invalid(kind: string, name: string, errors: FieldError[], group = ''): ApiError {
  // the message names the kind with its group, as the apiserver's NewInvalid does (`DaemonSet.apps "x" is invalid`)
  const e = new InvalidObjectError(group ? `${kind}.${group}` : kind, name, errors);
  return new ApiError(422, 'Invalid', e.message, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: errors.map((f) => ({ reason: CAUSE_REASON[f.type], message: String(f).slice(f.field.length + 2), field: f.field })),
  });
}

/** The Status of anything thrown while answering: ours, the store's, validation's; anything else is a 500. */
export function toApiError(e: unknown, ctx: { resource: string; group: string }): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof InvalidObjectError) return invalid(e.kind, e.objectName, e.errors, ctx.group);
  if (e instanceof StoreError) {
    const details = { name: e.objectName, ...(ctx.group ? { group: ctx.group } : {}), kind: ctx.resource };
    switch (e.reason) {
      case 'NotFound':
        return new ApiError(404, 'NotFound', e.message, details);
      case 'AlreadyExists':
        return new ApiError(409, 'AlreadyExists', e.message, details);
      case 'Conflict':
        return new ApiError(409, 'Conflict', e.message, details);
      case 'Invalid':
        return new ApiError(422, 'Invalid', e.message, details);
    }
  }
  return new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error)?.message ?? String(e)}`);
}
