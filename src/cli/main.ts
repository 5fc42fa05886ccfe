// The `wharf` command. Each verb is a thin layer over one library or server call.
import { Command, CommanderError } from 'commander';
import { serveCommand } from './commands/serve.js';
import { tagsCommand } from './commands/tags.js';
import { catalogCommand } from './commands/catalog.js';
import { digestCommand } from './commands/digest.js';
import { manifestCommand } from './commands/manifest.js';
import { blobCommand } from './commands/blob.js';
import { rmCommand } from './commands/rm.js';
import { migrateCommand } from './commands/migrate.js';
import { configCommand } from './commands/config.js';
import { loginCommand, logoutCommand } from './commands/login.js';
import { cpCommand } from './commands/cp.js';
import { pushCommand } from './commands/push.js';
import { pullCommand } from './commands/pull.js';
import { inspectCommand } from './commands/inspect.js';
import { tagCommand } from './commands/tag.js';
import { duCommand } from './commands/du.js';
import { retentionCommand } from './commands/retention.js';
import { artifactCommand } from './commands/artifact.js';
import { attachCommand } from './commands/attach.js';
import { referrersCommand } from './commands/referrers.js';
import { indexCommand } from './commands/index.js';
import { mirrorCommand } from './commands/mirror.js';
import { tokenCommand } from './commands/token.js';
import { gcCommand } from './commands/gc.js';
import { importCommand } from './commands/import.js';
import { fsckCommand } from './commands/fsck.js';
import { backupCommand } from './commands/backup.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('wharf')
    .description('Wharf: an OCI registry, client and tools')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addCommand(serveCommand());
  program.addCommand(tagsCommand());
  program.addCommand(catalogCommand());
  program.addCommand(digestCommand());
  program.addCommand(manifestCommand());
  program.addCommand(blobCommand());
  program.addCommand(rmCommand());
  program.addCommand(migrateCommand());
  program.addCommand(configCommand());
  program.addCommand(loginCommand());
  program.addCommand(logoutCommand());
  program.addCommand(cpCommand());
  program.addCommand(pushCommand());
  program.addCommand(pullCommand());
  program.addCommand(inspectCommand());
  program.addCommand(tagCommand());
  program.addCommand(duCommand());
  program.addCommand(retentionCommand());
  program.addCommand(artifactCommand());
  program.addCommand(attachCommand());
  program.addCommand(referrersCommand());
  program.addCommand(indexCommand());
  program.addCommand(mirrorCommand());
  program.addCommand(tokenCommand());
  program.addCommand(gcCommand());
  program.addCommand(importCommand());
  program.addCommand(fsckCommand());
  program.addCommand(backupCommand());
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; usage errors exit 2.
      return e.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`wharf: ${(e as Error).message}\n`);
    return 1;
  }
}
