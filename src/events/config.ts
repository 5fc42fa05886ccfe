// The `events` configuration key: webhook endpoints, pull events, retention of the change feed, retries.
import { z } from 'zod';
import { eventTypes } from './model.js';

const endpointName = /^[A-Za-z0-9._-]{1,64}$/;

const endpointSchema = z
  .object({
    name: z
      .string()
      .regex(endpointName, 'expected 1 to 64 letters, digits, dots, underscores or dashes')
      .describe('Names the endpoint in logs and its delivery cursor in the database: renaming it starts a new cursor at the end of the feed.'),
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), { message: 'expected an http:// or https:// URL' })
      .describe('Where events are POSTed, one CloudEvents JSON document per request.'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra HTTP headers sent with every delivery to this endpoint (e.g. Authorization).'),
    secret: z
      .string()
      .min(1)
      .optional()
      .describe('Signs each delivery: header X-Wharf-Signature is sha256=HEX, the HMAC-SHA256 of the exact body with this secret.'),
    timeoutSeconds: z.number().positive().default(10).describe('A delivery that has no answer after this long counts as failed and is retried.'),
    include: z
      .array(z.string().refine((t) => eventTypes.includes(t), { message: `expected one of ${eventTypes.join(', ')}` }))
      .optional()
      .describe('Event types delivered to this endpoint (e.g. io.wharf.manifest.pushed); all when absent.'),
    repositories: z
      .array(z.string().min(1))
      .optional()
      .describe('Repository globs (`*` within a path segment, `**` across) whose events go to this endpoint; all when absent.'),
  })
  .strict();

export const eventsSchema = z
  .object({
    endpoints: z
      .array(endpointSchema)
      .default([])
      .refine((list) => new Set(list.map((e) => e.name)).size === list.length, { message: 'endpoint names must be unique' })
      .describe('Webhook endpoints; each gets every matching event at least once, in order (docs/events.md).'),
    includePulls: z.boolean().default(false).describe('Record manifest GETs as io.wharf.manifest.pulled events (one outbox row per pull).'),
    retentionDays: z
      .number()
      .positive()
      .default(7)
      .describe('Days the change feed keeps events; older ones are removed once every configured endpoint has delivered them.'),
    source: z.string().min(1).default('/wharf').describe('The CloudEvents source attribute of every event (a URI reference naming this registry).'),
    pollSeconds: z.number().positive().default(1).describe('How often an idle dispatcher looks for new events.'),
    leaseSeconds: z
      .number()
      .positive()
      .default(30)
      .describe('One process at a time delivers to an endpoint, holding a lease renewed while it works; another takes over after this long.'),
    retry: z
      .object({
        initialSeconds: z.number().positive().default(1).describe('Wait before the first retry of a failed delivery; each further retry waits twice as long.'),
        maxSeconds: z.number().positive().default(300).describe('Longest wait between two retries; retries go on (at this pace) until the endpoint answers.'),
      })
      .strict()
      .prefault({})
      .describe('Retries of failed deliveries: exponential backoff with jitter, bounded.'),
  })
  .strict()
  .describe('Events: the outbox, webhook delivery and the change feed at /v2/_wharf/events (docs/events.md).');

export type EventsConfig = z.output<typeof eventsSchema>;
export type EndpointConfig = EventsConfig['endpoints'][number];
