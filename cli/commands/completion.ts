// infra completion bash|zsh: a completion script built from the command tree.
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';

export function registerCompletion(program: Command, io: Io): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .argument('<shell>', 'bash or zsh')
    .addHelpText(
      'after',
      `
Examples:
  $ source <(infra completion bash)
  $ infra completion zsh > "\${fpath[1]}/_infra"`,
    )
    .action((shell: string) => io.out(completion(program, shell)));
}

function words(command: Command): string {
  const subcommands = command.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  const options = command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  return [...subcommands, ...options, '--help'].join(' ');
}

function names(command: Command): string {
  return [command.name(), ...command.aliases()].join('|');
}

export function completion(program: Command, shell: string): string {
  if (shell !== 'bash' && shell !== 'zsh') throw new CliError(`no completion for "${shell}": use bash or zsh`);
  const branch = (c: Command): string => {
    if (c.commands.length === 0) return `words="${words(c)}"`;
    const subs = c.commands.map((sub) => `${names(sub)}) words="${words(sub)}" ;;`).join(' ');
    return `if [ "$COMP_CWORD" -eq 2 ]; then words="${words(c)}"; else case "\${COMP_WORDS[2]}" in ${subs} esac; fi`;
  };
  const bash = `# infra completion for ${shell}
_infra() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${words(program)}"
  else
    case "\${COMP_WORDS[1]}" in
${program.commands.map((c) => `      ${names(c)}) ${branch(c)} ;;`).join('\n')}
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _infra infra
`;
  return shell === 'bash' ? bash : `#compdef infra\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}
