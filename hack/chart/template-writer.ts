// Writes a Kubernetes object as a Helm template: the object is stringified as YAML with
// placeholder tokens where values go, then each token becomes its template action. The
// YAML library does the quoting and indentation; only the actions are spliced in.
import { stringify } from 'yaml';

/** A placeholder a YAML library leaves unquoted, and no manifest contains. */
const token = (kind: string, index: number) => `HELM${kind}${index}PLACEHOLDER`;

export class TemplateWriter {
  private readonly inline: string[] = [];
  private readonly blocks: string[] = [];
  private readonly lines: string[][] = [];

  /** A scalar rendered by a template action, e.g. `.Values.operator.replicas`. */
  value(action: string): string {
    this.inline.push(action);
    return token('INLINE', this.inline.length - 1);
  }

  /** A mapping or sequence rendered from a value by toYaml, e.g. a container's resources. */
  block(valuePath: string): string {
    this.blocks.push(valuePath);
    return token('BLOCK', this.blocks.length - 1);
  }

  /**
   * A mapping key whose line is replaced by these lines (at its indentation), e.g. an
   * annotation that only some values add. Use it as a key with the value null.
   */
  lineKey(replacement: string[]): string {
    this.lines.push(replacement);
    return token('LINE', this.lines.length - 1);
  }

  render(skeleton: unknown): string {
    const rendered = stringify(skeleton, { lineWidth: 0 })
      .replace(/^( *)HELMLINE(\d+)PLACEHOLDER: null$/gm, (_, indent: string, i: string) => this.lines[Number(i)]!.map((line) => indent + line).join('\n'))
      .replace(/^( *)(- )?([^\n]*): HELMBLOCK(\d+)PLACEHOLDER$/gm, (_, indent: string, dash: string | undefined, key: string, i: string) => {
        const keyIndent = indent.length + (dash ? 2 : 0);
        return `${indent}${dash ?? ''}${key}:\n${' '.repeat(keyIndent + 2)}{{- toYaml ${this.blocks[Number(i)]} | nindent ${keyIndent + 2} }}`;
      })
      .replace(/HELMINLINE(\d+)PLACEHOLDER/g, (_, i: string) => `{{ ${this.inline[Number(i)]} }}`);
    const left = /HELM[A-Z]+\d+PLACEHOLDER/.exec(rendered);
    if (left) throw new Error(`template writer: placeholder ${left[0]} is where no action can go (a block must be a mapping key's value)`);
    return rendered;
  }
}

/** A Go template string literal (Go's escapes are a superset of JSON's). */
export const goString = (text: string) => JSON.stringify(text);
