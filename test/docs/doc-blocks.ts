import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A fenced code block of the README or docs/, where it starts (for messages and skip lists). */
export interface DocBlock {
  /** `docs/llm.md:231`: the file, relative to the repository, and the line of the opening fence. */
  where: string;
  lang: 'yaml' | 'sh';
  text: string;
}

const LANGS: Record<string, DocBlock['lang']> = { yaml: 'yaml', yml: 'yaml', sh: 'sh', bash: 'sh', shell: 'sh', console: 'sh' };

function markdownFiles(root: string): string[] {
  const out = [join(root, 'README.md')];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.md')) out.push(join(dir, e.name));
    }
  };
  walk(join(root, 'docs'));
  return out;
}

/** Every yaml and shell block of README.md and docs/**.md, in file order. */
export function docBlocks(root: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  for (const file of markdownFiles(root)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w+)\s*$/.exec(lines[i]!);
      if (!open) continue;
      const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
      if (end < 0) break;
      const lang = LANGS[open[1]!];
      if (lang) blocks.push({ where: `${relative(root, file)}:${i + 1}`, lang, text: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return blocks;
}
