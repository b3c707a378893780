// Every relative link and image in the repository's Markdown points at a file or folder that exists.
// The Markdown is parsed (marked's lexer), so links in code are not links and reference links count.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { marked } from 'marked';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** The targets of a Markdown text's links and images that point into the repository, as written. */
function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  // The callback is synchronous: the array walkTokens returns holds nothing to wait for.
  void marked.walkTokens(marked.lexer(markdown), (token) => {
    if (token.type !== 'link' && token.type !== 'image') return;
    const href = (token as { href: string }).href;
    const external = URL.canParse(href) || href.startsWith('//'); // http:, https:, mailto:, any scheme; protocol-relative
    if (!external && !href.startsWith('#') && href !== '') targets.push(href);
  });
  return targets;
}

/**
 * `file: link -> missing path` for each relative link in `file` (a path from the root) whose target does not
 * exist in the repository. A target outside the repository counts as missing even if this machine has it:
 * a clone, or GitHub, does not.
 */
function brokenLinks(repoRoot: string, file: string, markdown: string): string[] {
  return relativeLinks(markdown).flatMap((link) => {
    const path = decodeURI(link.replace(/[?#].*$/, ''));
    if (path === '') return [];
    // GitHub resolves a leading / from the repository's root; everything else from the file's folder.
    const target = path.startsWith('/') ? join(repoRoot, path) : resolve(repoRoot, dirname(file), path);
    const fromRoot = relative(repoRoot, target);
    const inside = fromRoot !== '..' && !fromRoot.startsWith(`..${sep}`) && !isAbsolute(fromRoot);
    return inside && existsSync(target) ? [] : [`${file}: ${link} -> ${fromRoot}`];
  });
}

describe('relativeLinks', () => {
  it('finds the links and images a reader can follow into the repository, and no others', () => {
    const markdown = [
      '# Heading with [a link](heading.md)',
      '',
      'Text with [inline](docs/a.md#section), ![an image](pics/b.png "title"), [a reference][ref], [a folder](docs/adr/),',
      '[external](https://example.com/x.md), <https://example.com>, [mail](mailto:a@example.com), [anchor](#top),',
      '[with space](<my file.md>), and `[code](not-a-link.md)`.',
      '',
      '[![badge](badge.svg)](target.md)',
      '',
      '| col | other |',
      '|---|---|',
      '| [cell](cell.md) | x |',
      '',
      '- [item](item.md)',
      '',
      '> [quoted](quote.md)',
      '',
      '```md',
      '[fenced](fenced.md)',
      '```',
      '',
      '[ref]: ref.md',
    ].join('\n');
    expect(relativeLinks(markdown)).toEqual([
      'heading.md',
      'docs/a.md#section',
      'pics/b.png',
      'ref.md',
      'docs/adr/',
      'my file.md',
      'target.md',
      'badge.svg',
      'cell.md',
      'item.md',
      'quote.md',
    ]);
  });

  it('reports a link whose target is missing, relative to the file that has it', () => {
    const markdown = 'See [the README](../README.md#quick-start), [the ADRs](adr/), [gone](../shared/design.md) and ![gone too](img/x.png).';
    expect(brokenLinks(root, 'docs/guide.md', markdown)).toEqual([
      'docs/guide.md: ../shared/design.md -> shared/design.md',
      'docs/guide.md: img/x.png -> docs/img/x.png',
    ]);
  });

  it('reports a link that leaves the repository, whatever this machine has there', () => {
    const outside = relative(root, join(root, '..', 'package.json'));
    expect(brokenLinks(root, 'README.md', `[ours](package.json), [theirs](../package.json)`)).toEqual([`README.md: ../package.json -> ${outside}`]);
  });
});

it('every relative link in the Markdown git tracks points at something that exists', () => {
  const files = execFileSync('git', ['ls-files', '-z', '--', '*.md'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  expect(files).toContain('README.md');
  const broken = files.flatMap((file) => brokenLinks(root, file, readFileSync(join(root, file), 'utf8')));
  expect(broken).toEqual([]);
});
