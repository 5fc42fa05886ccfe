// `wharf login HOST` (client/login.ts `login`: check the credentials against the registry, then store them
// where docker and podman read them) and `wharf logout HOST` (`logout`: remove them from every auth file).
import { Command, Option } from 'commander';
import { verb, runVerb, parseHost, info, printJson, UsageError, FailedError, type CommonOptions } from '../context.js';
import { UnauthorizedError, TokenError, DeniedError } from '../../client/errors.js';
import { readStdin, prompt } from '../prompt.js';

interface LoginFlags extends CommonOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  authfile?: string;
}

export function loginCommand(): Command {
  return verb('login', 'check a username and password against a registry and store them for wharf, docker and podman', {
    json: true,
    examples: [
      'wharf login 127.0.0.1:5000 -u alice            # asks for the password on a terminal',
      'echo "$TOKEN" | wharf login ghcr.io -u alice --password-stdin',
      'wharf login registry.lan:5000 -u ci -p s3cret --authfile ./auth.json',
    ],
  })
    .argument('<host>', 'HOST[:PORT] of the registry')
    .addOption(new Option('-u, --username <user>', 'user name (asked for on a terminal when missing)'))
    .addOption(new Option('-p, --password <password>', 'password or token (visible to other users in the process list: prefer --password-stdin)'))
    .addOption(new Option('--password-stdin', 'read the password or token from stdin'))
    .addOption(
      new Option('--authfile <file>', 'write this auth file (default: $REGISTRY_AUTH_FILE if set, else $DOCKER_CONFIG/config.json or ~/.docker/config.json)'),
    )
    .addHelpText(
      'after',
      '\nWhere the credentials go: --authfile, else $REGISTRY_AUTH_FILE (as podman does), else docker\'s config.json\n' +
        '(which podman, skopeo and buildah also read). Other entries of the file are kept; the file is written\n' +
        'atomically with mode 0600. A credsStore/credHelpers entry in the file sends the secret to that helper.\n',
    )
    .action(async (input: string, opts: LoginFlags) => {
      await runVerb('login', opts, async (ctx) => {
        const registry = parseHost(input);
        ctx.subject = { kind: 'catalog', registry };
        if (opts.password !== undefined && opts.passwordStdin) throw new UsageError('give the password with -p or --password-stdin, not both');
        let username = opts.username;
        if (username === undefined || username === '') {
          if (opts.passwordStdin || !process.stdin.isTTY) throw new UsageError('no username: give -u USER');
          username = await prompt('Username: ', { echo: true });
        }
        let password = opts.password;
        if (opts.passwordStdin) password = (await readStdin()).replace(/\r?\n$/, '');
        else if (password === undefined) {
          if (!process.stdin.isTTY) throw new UsageError('no password: give --password-stdin (and pipe it in) or -p PASSWORD');
          password = await prompt('Password: ', { echo: false });
        }
        if (username === '') throw new UsageError('the username is empty');
        if (password === '') throw new UsageError('the password is empty');
        const host = registry.replace(/^https?:\/\//, '');
        const { login } = await import('../../client/login.js');
        let result;
        try {
          result = await login(registry, { username, password }, { authFile: opts.authfile, client: { insecure: opts.insecure ? [host] : [] } });
        } catch (e) {
          if (e instanceof UnauthorizedError || e instanceof TokenError || e instanceof DeniedError) {
            const status = e instanceof TokenError ? `token endpoint${e.status !== undefined ? ` ${e.status}` : ''}` : `${e.status}${e.code ? ` ${e.code}` : ''}`;
            throw new FailedError(`${registry} refused the credentials of ${JSON.stringify(username)} (${status}); check the username and password; nothing was stored`);
          }
          throw e;
        }
        if (opts.json) printJson({ registry, username, file: result.file, key: result.key, helper: result.helper ?? null });
        else info(opts, `logged in to ${registry} as ${username}; ${result.helper ? `credentials stored by docker-credential-${result.helper}` : `credentials stored in ${result.file}`}`);
      });
    });
}

export function logoutCommand(): Command {
  return verb('logout', 'remove the stored credentials for a registry (from every docker and podman auth file)', {
    json: true,
    examples: ['wharf logout 127.0.0.1:5000', 'wharf logout ghcr.io --authfile ./auth.json'],
  })
    .argument('<host>', 'HOST[:PORT] of the registry')
    .addOption(new Option('--authfile <file>', 'only this auth file'))
    .action(async (input: string, opts: CommonOptions & { authfile?: string }) => {
      await runVerb('logout', opts, async (ctx) => {
        const registry = parseHost(input);
        ctx.subject = { kind: 'catalog', registry };
        const { logout } = await import('../../client/login.js');
        const result = await logout(registry, { authFile: opts.authfile });
        if (result.files.length + result.helpers.length === 0) throw new FailedError(`not logged in to ${registry}: no stored credentials found`);
        if (opts.json) return printJson({ registry, files: result.files, helpers: result.helpers });
        const where = [...result.files, ...result.helpers.map((h) => `docker-credential-${h}`)].join(', ');
        info(opts, `logged out of ${registry} (removed from ${where})`);
      });
    });
}
