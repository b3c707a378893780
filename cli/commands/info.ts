// infra info / whoami: who the server says you are.
import type { Command } from 'commander';
import type { Io } from '../io.ts';
import { outputOption, render, type Format } from '../output.ts';
import { loggedIn } from '../session.ts';

export function registerInfo(program: Command, io: Io): void {
  program
    .command('info')
    .alias('whoami')
    .description('show the server, your user, your groups and your session')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ infra whoami
  $ infra info -o json`,
    )
    .action((options: { output: Format }) => info(io, options.output));
}

export async function info(io: Io, format: Format): Promise<void> {
  const { server, session, client } = loggedIn(io);
  const review = await client.create('AccessReview', {});
  const data = {
    server,
    user: review.user.email,
    groups: review.user.groups,
    ...(review.infraRole ? { infraRole: review.infraRole } : {}),
    sessionExpires: session.expiresAt,
  };
  if (format !== 'table') return io.out(render(data, format));
  io.out(
    [
      `Server:   ${data.server}`,
      `User:     ${data.user}`,
      `Groups:   ${data.groups.length > 0 ? data.groups.join(', ') : '(none)'}`,
      ...(review.infraRole ? [`Role:     ${review.infraRole} (on Infra itself)`] : []),
      `Session:  expires ${data.sessionExpires}`,
    ].join('\n'),
  );
}
