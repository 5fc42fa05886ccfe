// `wharf token create|list|revoke HOST …`: API keys (robot accounts) of a Wharf registry, through its
// /v2/_wharf/tokens endpoint with the caller's credentials (an admin's: `wharf login HOST` first).
import { Command, Option } from 'commander';
import { verb, group, runVerb, parseHost, info, printJson, printLines, type CommonOptions } from '../context.js';
import type { VerbContext } from '../context.js';

interface KeyInfo {
  name: string;
  subject: string;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
  secret?: string;
}

const adminScope = 'registry:admin:*';

/** One call to the key endpoint with the transport's auth flow; a non-2xx answer becomes the client's typed error. */
async function call(ctx: VerbContext, host: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const registry = parseHost(host);
  ctx.subject = { kind: 'repository', registry };
  const client = await ctx.client(registry);
  const { responseError } = await import('../../client/index.js');
  const url = (await client.baseUrl()) + path;
  const opts: Parameters<typeof client.transport.request>[2] = { scope: adminScope, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers = { ...opts.headers, 'content-type': 'application/json' };
  }
  const res = await client.transport.request(method, url, opts);
  if (res.status < 200 || res.status > 299) throw await responseError(res, method);
  if (res.status === 204) {
    await res.dump();
    return undefined;
  }
  return res.json();
}

export function tokenCommand(): Command {
  const create = verb('create', 'create an API key that authenticates as SUBJECT (a user the policies know) until it expires; prints the secret, shown only this once', {
    fullName: 'token create',
    json: true,
    examples: ['wharf token create 127.0.0.1:5000 ci-deploy --subject alice --expires 90d', 'SECRET=$(wharf token create -q registry.lan:5000 nightly --subject builder --expires 2027-01-01)'],
  })
    .argument('<host>', 'HOST[:PORT] of the registry')
    .argument('<name>', 'key name, the user name clients log in with (a-z 0-9 . _ -)')
    .addOption(new Option('--subject <user>', 'the user whose access the key has (default: the key name)'))
    .addOption(new Option('--expires <when>', 'lifetime (30m, 12h, 90d, 4w) or an ISO date').default('90d'))
    .action(async (host: string, name: string, opts: CommonOptions & { subject?: string; expires: string }) => {
      await runVerb('token create', opts, async (ctx) => {
        const key = (await call(ctx, host, 'POST', '/v2/_wharf/tokens', { name, subject: opts.subject ?? name, expires: opts.expires })) as KeyInfo;
        if (opts.json) {
          printJson(key);
          return;
        }
        info(opts, `created API key ${key.name} for ${key.subject}, expires ${key.expiresAt}; the secret below is shown only now:`);
        printLines([key.secret ?? '']);
      });
    });
  const list = verb('list', 'list the API keys: name, subject, expiry (secrets are never shown again)', {
    fullName: 'token list',
    json: true,
    examples: ['wharf token list 127.0.0.1:5000', 'wharf token list --json registry.lan:5000'],
  })
    .argument('<host>', 'HOST[:PORT] of the registry')
    .action(async (host: string, opts: CommonOptions) => {
      await runVerb('token list', opts, async (ctx) => {
        const { tokens } = (await call(ctx, host, 'GET', '/v2/_wharf/tokens')) as { tokens: KeyInfo[] };
        if (opts.json) printJson({ tokens });
        else printLines(tokens.map((k) => [k.name, k.subject, k.expiresAt, k.expired ? 'expired' : 'active'].join('\t')));
      });
    });
  const revoke = verb('revoke', 'revoke an API key: it stops working at once, refresh tokens issued to it too', {
    fullName: 'token revoke',
    examples: ['wharf token revoke 127.0.0.1:5000 ci-deploy'],
  })
    .argument('<host>', 'HOST[:PORT] of the registry')
    .argument('<name>', 'key name')
    .action(async (host: string, name: string, opts: CommonOptions) => {
      await runVerb('token revoke', opts, async (ctx) => {
        await call(ctx, host, 'DELETE', `/v2/_wharf/tokens/${encodeURIComponent(name)}`);
        info(opts, `revoked API key ${name}`);
      });
    });
  return group('token', 'API keys (robot accounts) of a Wharf registry with authentication on: create, list, revoke (admins only)')
    .addCommand(create)
    .addCommand(list)
    .addCommand(revoke);
}
