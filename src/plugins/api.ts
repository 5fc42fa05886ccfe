// What a plugin sees and provides: the registration API handed to `register(api)` (or the default object a
// plugin exports instead), and the interfaces of what it may supply. docs/extending.md documents these.
import type { Logger } from 'pino';
import type { StorageDriver, StorageError } from '../storage/driver.js';
import type { MetadataStore } from '../metadata/store.js';
import type { CloudEvent } from '../events/model.js';

/** Makes the storage driver for a URL of the plugin's scheme; `options` is the config's `storageOptions`. */
export type StorageDriverFactory = (url: URL, options: Record<string, unknown>) => StorageDriver | Promise<StorageDriver>;

/** Makes the metadata store for a URL of the plugin's scheme (the config's `metadata` value, as written). */
export type MetadataStoreFactory = (url: string) => MetadataStore | Promise<MetadataStore>;

/**
 * Checks user names and passwords: Basic credentials on the registry API and logins at the token endpoint.
 * Asked after htpasswd users and API keys, in the order plugins are listed; the first that accepts wins.
 */
export interface AuthProvider {
  readonly name: string;
  /** The policy subject (usually the user name) when the password is right; undefined when it is not. */
  verifyPassword(user: string, password: string): Promise<string | undefined>;
  /** Optional: whether the user still exists; refresh tokens of a user are renewed only when it answers true. */
  userExists?(user: string): Promise<boolean>;
}

/** A registry change as a CloudEvents 1.0 event in the JSON format (events/model.ts; docs/events.md). */
export type PluginEvent = CloudEvent;

/** Receives every registry event (push, pull, tag move, delete) at least once, in outbox order. */
export interface EventSink {
  readonly name: string;
  /** Delivers one event; a rejection means "not delivered", and the event is offered again later. */
  deliver(event: PluginEvent): Promise<void>;
  close?(): Promise<void>;
}

/** Passed to `register(api)`. Everything a plugin declares is checked when the plugin is loaded. */
export interface PluginAPI {
  /** The version of this API; a plugin may refuse to register with one it does not know. */
  readonly apiVersion: 1;
  /** The plugin's entry in the configuration: the package name, or the path made absolute. */
  readonly plugin: string;
  /** The server's data directory (config `data`), absolute. */
  readonly dataDir: string;
  /** A logger whose lines carry the plugin's name. */
  readonly log: Logger;
  /** Serves storage URLs `scheme:…` (e.g. "prefixed" or "prefixed:"); built-in schemes cannot be replaced. */
  storageDriver(scheme: string, factory: StorageDriverFactory): void;
  /** Serves metadata URLs `scheme:…`; sqlite and postgres cannot be replaced. */
  metadataStore(scheme: string, factory: MetadataStoreFactory): void;
  authProvider(provider: AuthProvider): void;
  eventSink(sink: EventSink): void;
  /** Opens a built-in (or another plugin's) storage driver, for drivers that wrap one. Plain paths are files. */
  openStorage(url: string, options?: Record<string, unknown>): Promise<StorageDriver>;
  /** The error class drivers throw: `new api.StorageError('not-found', path, message)` for a missing object. */
  readonly StorageError: typeof StorageError;
}

/** The default-export form: a plain object declaring what the plugin provides (instead of `register`). */
export interface PluginObject {
  name?: string;
  register?: (api: PluginAPI) => void | Promise<void>;
  storageDrivers?: Record<string, StorageDriverFactory>;
  metadataStores?: Record<string, MetadataStoreFactory>;
  authProviders?: AuthProvider[];
  eventSinks?: EventSink[];
}
