// Entry point of the `superdist` command: wires subcommands, nothing else.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { EXIT_USAGE } from './common.js';
import { peersCommand, statusCommand } from './control-commands.js';
import { nodeCommand, trackerCommand } from './service-commands.js';
import { imsCommand } from './ims-command.js';
import { drmCommand } from './drm-commands.js';
import { rightsIssuerCommand } from './rights-issuer-command.js';
import { playCommand, publishCommand, stopCommand } from './live-commands.js';
import { daemonCommand, logsCommand } from './daemon-command.js';
import { getCommand, publishFileCommand, searchCommand } from './download-commands.js';
import { segmentConfigCommand } from './segment-command.js';
import { webCommand } from './web-command.js';
import { doctorCommand } from './doctor-command.js';
import { updateCommand } from './update-commands.js';

const program = new Command('superdist')
  .description('superdist: P2P superdistribution box service (live channels, downloads, local tracker)')
  .version(VERSION, '-V, --version')
  // Options of the program itself come before a subcommand (`update build --version X` is the bundle's).
  .enablePositionalOptions()
  .exitOverride()
  .showHelpAfterError();

for (const cmd of [trackerCommand(), nodeCommand(), publishCommand().addCommand(publishFileCommand()), getCommand(), searchCommand(), statusCommand(), peersCommand(), playCommand(), stopCommand(), daemonCommand(), logsCommand(), segmentConfigCommand(), doctorCommand()]) {
  program.addCommand(cmd.exitOverride().showHelpAfterError());
}

program.addCommand(imsCommand().exitOverride().showHelpAfterError());
program.addCommand(drmCommand().exitOverride().showHelpAfterError());
program.addCommand(rightsIssuerCommand().exitOverride().showHelpAfterError());
program.addCommand(webCommand().exitOverride().showHelpAfterError());
program.addCommand(updateCommand().exitOverride().showHelpAfterError());

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; usage errors exit 2 (commander already printed the message).
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  process.stderr.write(`superdist: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
