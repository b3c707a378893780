// infra completion bash|zsh|fish: a completion script built from the command tree. The
// destinations `infra use` takes come from ~/.infra/destinations, read by the shell
// itself: completing starts no `infra` process and sends nothing over the network.
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';

const shells = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof shells)[number];

/** Commands whose first argument is a destination name (DEST or DEST.NAMESPACE). */
const takesDestination = ['use'];

export function registerCompletion(program: Command, io: Io): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, options, and the destinations `infra use` takes)')
    .argument('<shell>', shells.join(', ').replace(/, (?=[^,]*$)/, ' or '))
    .addHelpText(
      'after',
      `
Examples:
  $ source <(infra completion bash)
  $ source <(infra completion zsh)      # in ~/.zshrc, after compinit
  $ infra completion fish > ~/.config/fish/completions/infra.fish`,
    )
    .action((shell: string) => io.out(completion(program, shell)));
}

function isShell(shell: string): shell is Shell {
  return (shells as readonly string[]).includes(shell);
}

export function completion(program: Command, shell: string): string {
  if (!isShell(shell)) throw new CliError(`no completion for "${shell}": use bash, zsh or fish`);
  if (shell === 'fish') return fishScript(program);
  const bash = bashScript(program);
  return shell === 'bash' ? bash : `#compdef infra\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}

function words(command: Command): string {
  const subcommands = command.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  const options = command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  return [...subcommands, ...options, '--help'].join(' ');
}

function names(command: Command): string[] {
  return [command.name(), ...command.aliases()];
}

function bashScript(program: Command): string {
  const branch = (c: Command): string => {
    if (c.commands.length === 0) return `words="${words(c)}"`;
    const subs = c.commands.map((sub) => `${names(sub).join('|')}) words="${words(sub)}" ;;`).join(' ');
    return `if [ "$COMP_CWORD" -eq 2 ]; then words="${words(c)}"; else case "\${COMP_WORDS[2]}" in ${subs} esac; fi`;
  };
  const destinationCommands = program.commands.filter((c) => takesDestination.includes(c.name())).flatMap(names);
  return `# infra completion (bash; zsh through bashcompinit)
# The names \`infra use\` takes: read line by line and compared as plain strings, never
# through compgen -W, which would expand what the file holds.
_infra_destinations() {
  local file="\${INFRA_HOME:-$HOME/.infra}/destinations" name
  [ -r "$file" ] || return 0
  while IFS= read -r name; do
    [[ $name == "$cur"* ]] && COMPREPLY+=("$name")
  done <"$file"
}
_infra() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${words(program)}"
  else
    case "\${COMP_WORDS[1]}" in
${program.commands.map((c) => `      ${names(c).join('|')}) ${branch(c)} ;;`).join('\n')}
    esac
  fi
  if [ "$COMP_CWORD" -eq 2 ] && [[ $cur != -* ]]; then
    case "\${COMP_WORDS[1]}" in
      ${destinationCommands.join('|')}) COMPREPLY=(); _infra_destinations; return ;;
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _infra infra
`;
}

/** A fish string literal. */
function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fishScript(program: Command): string {
  const lines: string[] = [];
  // path: the subcommands typed so far (e.g. ['grants']); `is` offers this command's
  // subcommands right after them, `starts` its options anywhere after them.
  const describe = (command: Command, path: string[]): void => {
    for (const sub of command.commands) {
      for (const name of names(sub))
        lines.push(`complete -c infra -n ${fishQuote(`__infra_path_is ${path.join(' ')}`.trim())} -a ${name} -d ${fishQuote(sub.description())}`);
    }
    const after = fishQuote(path.length === 0 ? '__infra_path_is' : `__infra_path_starts ${path.join(' ')}`);
    for (const option of command.options) {
      const flags = [option.long ? `-l ${option.long.replace(/^--/, '')}` : '', option.short ? `-s ${option.short.replace(/^-/, '')}` : ''].filter(Boolean);
      const value = !option.required && !option.optional ? '' : option.long?.endsWith('-file') ? ' -r -F' : ' -r';
      lines.push(`complete -c infra -n ${after} ${flags.join(' ')}${value} -d ${fishQuote(option.description)}`);
    }
    for (const sub of command.commands) describe(sub, [...path, sub.name()]);
  };
  describe(program, []);
  const destinationCommands = program.commands.filter((c) => takesDestination.includes(c.name())).flatMap(names);
  return `# infra completion for fish
# The words typed after \`infra\` that are not options: the subcommands and arguments so far.
function __infra_words
    set -l tokens (commandline -opc)
    set -e tokens[1]
    for word in $tokens
        string match -q -- '-*' $word; or echo $word
    end
end
# The subcommands typed so far are exactly these.
function __infra_path_is
    set -l words (__infra_words)
    test "$words" = "$argv"
end
# The subcommands typed so far start with these.
function __infra_path_starts
    set -l words (__infra_words)
    set -l n (count $argv)
    test (count $words) -ge $n; and test "$words[1..$n]" = "$argv"
end
# The names \`infra use\` takes, from the file the CLI keeps; only plain DEST[.NS] names.
function __infra_destinations
    set -l home "$HOME/.infra"
    test -n "$INFRA_HOME"; and set home "$INFRA_HOME"
    test -r "$home/destinations"; and string match -r -- '^[a-z0-9][-a-z0-9.]*$' <"$home/destinations"
end
complete -c infra -f
complete -c infra -s h -l help -d 'show help'
${lines.join('\n')}
${destinationCommands.map((name) => `complete -c infra -n '__infra_path_is ${name}' -a '(__infra_destinations)'`).join('\n')}
`;
}
