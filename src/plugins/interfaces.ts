// Runtime checks of what plugins supply against Wharf's interfaces: every required method present and a
// function, optional ones functions when present, fields of the right type. Each check returns the problems
// found (empty: fine) so the error can name all of them at once. The method lists are tied to the TypeScript
// interfaces at compile time: adding a method to StorageDriver or MetadataStore without listing it here is a
// type error below.
import type { StorageDriver } from '../storage/driver.js';
import type { MetadataStore } from '../metadata/store.js';
import type { AuthProvider, EventSink } from './api.js';

/* eslint-disable @typescript-eslint/no-unsafe-function-type */
type MethodKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends Function ? K : never }[keyof T];
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
type RequiredMethods<T> = Exclude<MethodKeys<T>, OptionalKeys<T>>;
type OptionalMethods<T> = Extract<MethodKeys<T>, OptionalKeys<T>>;
/** Compiles only when the list holds exactly the keys K; otherwise the error names the keys in question. */
type Exactly<K extends PropertyKey, L extends readonly PropertyKey[]> = [Exclude<K, L[number]> | Exclude<L[number], K>] extends [never]
  ? L
  : { listTheseMethods: Exclude<K, L[number]>; notInTheInterface: Exclude<L[number], K> };

function methods<T>() {
  return <R extends readonly RequiredMethods<T>[], O extends readonly OptionalMethods<T>[]>(
    required: R & Exactly<RequiredMethods<T>, R>,
    optional: O & Exactly<OptionalMethods<T>, O>,
  ) => ({ required: required as readonly string[], optional: optional as readonly string[] });
}

export const storageDriverMethods = methods<StorageDriver>()(
  ['getContent', 'putContent', 'reader', 'writer', 'stat', 'list', 'walk', 'move', 'concat', 'delete'] as const,
  ['redirectURL', 'close'] as const,
);

export const metadataStoreMethods = methods<MetadataStore>()(
  [
    'getRepositoryBlob', 'getBlob', 'linkBlob', 'claimBlob', 'mountBlob', 'unlinkBlob', 'missingBlobs', 'missingManifests',
    'getManifest', 'getManifestByTag', 'putManifest', 'deleteManifest', 'deleteTag', 'tagHistory', 'listTagRecords',
    'repositoryUsage', 'totalUsage', 'repositoryExists', 'listTags', 'listRepositories', 'listReferrers',
    'createUpload', 'getUpload', 'deleteUpload', 'listUnreferencedLinks', 'sweepLink', 'listCollectableBlobs',
    'markBlobDeleting', 'deleteMarkedBlob', 'listUploadsBefore', 'createApiKey', 'listApiKeys', 'findApiKey',
    'revokeApiKey', 'appendEvents', 'listEvents', 'leaseEventCursor', 'advanceEventCursor', 'releaseEventCursor',
    'pruneEvents', 'close',
  ] as const,
  ['listBlobs', 'listManifests'] as const,
);

export const authProviderMethods = methods<AuthProvider>()(['verifyPassword'] as const, ['userExists'] as const);

export const eventSinkMethods = methods<EventSink>()(['deliver'] as const, ['close'] as const);

/** The methods `value` lacks or has in a wrong shape. */
function methodProblems(value: object, list: { required: readonly string[]; optional: readonly string[] }): string[] {
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  const missing = list.required.filter((m) => typeof v[m] !== 'function');
  if (missing.length > 0) problems.push(`missing method${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  for (const m of list.optional) {
    if (v[m] !== undefined && typeof v[m] !== 'function') problems.push(`${m} must be a function when present (it is ${typeName(v[m])})`);
  }
  return problems;
}

function named(value: object, what: string): string[] {
  const name = (value as { name?: unknown }).name;
  return typeof name === 'string' && name.trim() !== '' ? [] : [`${what} needs a non-empty string "name" (it is ${typeName(name)})`];
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v === 'undefined' ? 'missing' : `a ${typeof v}`;
}

export function storageDriverProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [`the factory returned ${typeName(value)}, not a storage driver object`];
  const problems = [...named(value, 'a storage driver'), ...methodProblems(value, storageDriverMethods)];
  const caps = (value as { capabilities?: unknown }).capabilities as { append?: unknown; minConcatPart?: unknown } | undefined;
  if (typeof caps !== 'object' || caps === null) {
    problems.push(`"capabilities" must be an object {append: boolean, minConcatPart: number} (it is ${typeName(caps)})`);
  } else {
    if (typeof caps.append !== 'boolean') problems.push(`capabilities.append must be a boolean (it is ${typeName(caps.append)})`);
    if (typeof caps.minConcatPart !== 'number' || !(caps.minConcatPart >= 0)) problems.push(`capabilities.minConcatPart must be a number of bytes ≥ 0 (it is ${typeName(caps.minConcatPart)})`);
  }
  return problems;
}

export function metadataStoreProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [`the factory returned ${typeName(value)}, not a metadata store object`];
  return methodProblems(value, metadataStoreMethods);
}

export function authProviderProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [`an auth provider must be an object, not ${typeName(value)}`];
  return [...named(value, 'an auth provider'), ...methodProblems(value, authProviderMethods)];
}

export function eventSinkProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [`an event sink must be an object, not ${typeName(value)}`];
  return [...named(value, 'an event sink'), ...methodProblems(value, eventSinkMethods)];
}
