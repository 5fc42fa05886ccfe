// `wharf config check|print|reference`: validate a configuration file, show the effective configuration
// (every key, secrets masked), and print the generated configuration reference (docs/configuration-reference.md).
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import type { Overrides } from '../../config/load.js';
import { addServerOptions } from '../server-options.js';
import { group } from '../context.js';

async function load(flags: Overrides, verbName: string): Promise<Record<string, unknown> | undefined> {
  const { loadConfig, ConfigError } = await import('../../config/load.js');
  try {
    return loadConfig(flags) as unknown as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`wharf config ${verbName}: ${e.message}\n`);
      process.exitCode = 1;
      return undefined;
    }
    throw e;
  }
}

/** A subcommand with the exit and output settings main() relies on (usage errors exit 2). */
function sub(name: string): Command {
  return new Command(name).exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

export function configCommand(): Command {
  const cmd = group('config', 'check, show and document the server configuration');
  cmd.addCommand(
    sub('check')
      .description('validate a configuration file (with the WHARF_* environment applied) without starting anything; exit 1 and name the key when it is invalid')
      .argument('<file>', 'YAML configuration file')
      .addOption(new Option('-q, --quiet', 'print nothing when the file is valid'))
      .addHelpText('after', '\nExamples:\n  wharf config check examples/minimal.yaml\n  wharf config check /etc/wharf/config.yaml && systemctl reload wharf\n')
      .action(async (file: string, opts: { quiet?: boolean }) => {
        const config = await load({ config: file }, 'check');
        if (!config || opts.quiet) return;
        const { maskSecrets } = await import('../../config/reference.js');
        const shown = maskSecrets(config) as Record<string, unknown>;
        process.stdout.write(`${file}: valid (listen ${String(shown.listen)}, storage ${String(shown.storage)}, metadata ${String(shown.metadata)})\n`);
      }),
  );
  cmd.addCommand(
    addServerOptions(sub('print'))
      .description('print the effective configuration (flags > WHARF_* > file > defaults), every key, secrets masked')
      .addOption(new Option('--json', 'print JSON instead of YAML'))
      .addHelpText('after', '\nExamples:\n  wharf config print\n  wharf config print --config examples/s3.yaml --json\n  WHARF_LISTEN=0.0.0.0:5000 wharf config print\n')
      .action(async (opts: Overrides & { json?: boolean }) => {
        const { json, ...flags } = opts;
        const config = await load(flags, 'print');
        if (!config) return;
        const { maskSecrets } = await import('../../config/reference.js');
        const masked = maskSecrets(config);
        process.stdout.write(json ? `${JSON.stringify(masked, null, 2)}\n` : stringify(masked));
      }),
  );
  cmd.addCommand(
    sub('reference')
      .description('print the configuration reference (Markdown), generated from the schema')
      .addHelpText('after', '\nExamples:\n  wharf config reference > docs/configuration-reference.md\n')
      .action(async () => {
        const { configurationReference } = await import('../../config/reference.js');
        process.stdout.write(configurationReference());
      }),
  );
  return cmd;
}
