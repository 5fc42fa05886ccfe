// The request listener: route by the endpoint table, validate the name, run the handler, log one line,
// and hand every error to the one error writer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { matchRoute, type EndpointId } from '../oci/routes.js';
import { RegistryError } from '../oci/errors.js';
import { checkName } from '../oci/reference.js';
import type { Registry } from '../registry/index.js';
import type { Ctx, Handler } from './context.js';
import { writeError } from './errors.js';
import { parseQuery } from './request.js';
import { getBlob, deleteBlob } from './handlers/blobs.js';
import { startUpload, patchUpload, putUpload, getUpload, deleteUpload } from './handlers/uploads.js';
import { getManifest, putManifest, deleteManifest } from './handlers/manifests.js';
import { base, catalog, tags, referrers } from './handlers/listing.js';
import { tagHistory, tagRollback, usage, usageAll } from './handlers/wharf-ext.js';
import { rejectWrites } from './read-only.js';
import type { RequestLimits } from './limits.js';
import { tlsClientOf } from './tls-client.js';
import { authEndpoint } from './handlers/token.js';
import type { AccessController } from '../auth/controller.js';
import { redactRequestTarget } from '../auth/redact.js';
import type { WharfMetrics } from '../observability/metrics.js';
import { isHealthPath, serveHealth, type HealthChecks } from '../observability/health.js';
import { discoverHandler, discoverPath } from '../observability/discovery.js';
import { runAs, type Events } from '../events/index.js';
import { eventsFeed, eventsPath } from './handlers/events.js';

const handlers: Record<EndpointId, Partial<Record<string, Handler>>> = {
  base: { GET: base },
  catalog: { GET: catalog },
  tags: { GET: tags },
  manifest: { GET: getManifest, PUT: putManifest, DELETE: deleteManifest },
  uploadStart: { POST: startUpload },
  upload: { GET: getUpload, PATCH: patchUpload, PUT: putUpload, DELETE: deleteUpload },
  blob: { GET: getBlob, DELETE: deleteBlob },
  referrers: { GET: referrers },
  tagHistory: { GET: tagHistory },
  tagRollback: { POST: tagRollback },
  usage: { GET: usage },
  usageAll: { GET: usageAll },
};

export interface AppOptions {
  registry: Registry;
  log: Logger;
  /** Refuse every write with 405 UNSUPPORTED (config readOnly). */
  readOnly?: boolean;
  /** In-flight, per-client upload and body idle limits (http/limits.ts); none when absent. */
  limits?: RequestLimits;
  /** Authentication and access control (auth/); everyone may do everything when absent. */
  auth?: AccessController;
  /** Request metrics (observability/metrics.ts); none when absent. */
  metrics?: WharfMetrics;
  /** Readiness checks behind /readyz; /healthz and /readyz are not served when absent. */
  health?: HealthChecks;
  /** The change feed at /v2/_wharf/events and pull events (events/); neither when absent. */
  events?: Events;
}

function isClientGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ABORT_ERR' || code === 'ERR_STREAM_DESTROYED';
}

export function createApp({ registry, log, readOnly = false, limits, auth, metrics, health, events }: AppOptions) {
  const discover = discoverHandler({ auth: auth !== undefined, events: events !== undefined });
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const tracked = metrics?.track(req, res, started);
    const id = randomUUID();
    const rlog = log.child({ req: id });
    const tlsClient = tlsClientOf(req);
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
      // Probes come every few seconds: their lines are debug, so they do not drown the log.
      const probe = res.statusCode === 200 && isHealthPath(req.url ?? '');
      rlog[probe ? 'debug' : 'info'](
        {
          method: req.method,
          path: redactRequestTarget(req.url ?? ''),
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
          aborted: !res.writableFinished || undefined,
          tlsClient: tlsClient?.subject,
          user: auth?.userOf(req),
        },
        'request',
      );
    });
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const method = req.method ?? 'GET';
      // Health probes: outside /v2/ and before authentication, so orchestrators need no credentials.
      if (health && isHealthPath(path)) {
        tracked?.route(path === '/healthz' ? 'healthz' : 'readyz');
        await serveHealth(req, res, path, health);
        return;
      }
      const own = auth && authEndpoint(auth, path);
      if (own) {
        tracked?.route(path === '/token' ? 'token' : 'apiKeys');
        const query = parseQuery(q === -1 ? '' : url.slice(q + 1));
        await own({ req, res, registry, name: '', reference: '', query, log: rlog, signal: abort.signal, tlsClient });
        return;
      }
      if (path === discoverPath) {
        tracked?.route('discover');
        if (method !== 'GET' && method !== 'HEAD') throw new RegistryError('UNSUPPORTED', `${method} is not supported on this endpoint`, { headers: { Allow: 'GET, HEAD' } });
        const ctx: Ctx = { req, res, registry, name: '', reference: '', query: parseQuery(''), log: rlog, signal: abort.signal, tlsClient };
        // Treated as /v2/ itself: when authentication is on, it needs it.
        await (auth ? await auth.authorize(ctx, 'base', discover) : discover)(ctx);
        return;
      }
      if (events && path === eventsPath) {
        tracked?.route('events');
        const ctx: Ctx = { req, res, registry, name: '', reference: '', query: parseQuery(q === -1 ? '' : url.slice(q + 1)), log: rlog, signal: abort.signal, tlsClient };
        await eventsFeed(ctx, events, auth);
        return;
      }
      const match = matchRoute(path, method);
      if (!match) throw new RegistryError('NOT_FOUND', `no endpoint ${method} ${path.slice(0, 200)}`);
      if ('methodNotAllowed' in match) {
        tracked?.route(match.methodNotAllowed.id);
        throw new RegistryError('UNSUPPORTED', `${method} is not supported on this endpoint`, {
          headers: { Allow: match.methodNotAllowed.methods.join(', ') },
        });
      }
      tracked?.route(match.endpoint.id);
      let handler = handlers[match.endpoint.id][method === 'HEAD' ? 'GET' : method];
      if (!handler) throw new RegistryError('UNSUPPORTED', `${method} is not supported on this endpoint`);
      const ctx: Ctx = {
        req,
        res,
        registry,
        name: match.name === undefined ? '' : checkName(match.name),
        reference: match.reference ?? '',
        query: parseQuery(q === -1 ? '' : url.slice(q + 1)),
        log: rlog,
        signal: abort.signal,
        tlsClient,
      };
      if (auth) handler = await auth.authorize(ctx, match.endpoint.id, handler);
      rejectWrites(ctx, readOnly, match.endpoint);
      limits?.enter(ctx, match.endpoint.id);
      const run = handler;
      // The authenticated user goes with every call the handler makes: the metadata store names it in events.
      await runAs(ctx.user, () => run(ctx));
      if (events && match.endpoint.id === 'manifest' && method === 'GET' && res.statusCode === 200) {
        const facts = { digest: String(res.getHeader('Docker-Content-Digest')), mediaType: String(res.getHeader('Content-Type')), size: Number(res.getHeader('Content-Length')) };
        await events.recordPull(ctx.name, ctx.reference, facts, ctx.user);
      }
    } catch (e) {
      if (isClientGone(e) || abort.signal.aborted) {
        res.destroy();
        return;
      }
      writeError(req, res, e, rlog);
    }
  };
}
