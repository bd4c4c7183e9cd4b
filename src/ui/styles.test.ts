import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Lists the .css files under a folder, recursively. */
function cssFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return cssFiles(path);
    return entry.name.endsWith('.css') ? [path] : [];
  });
}

/**
 * Returns a message for each rule that opens inside a rule other than an at-rule such
 * as @media, and for each brace left open. A rule without its closing brace swallows
 * the rules after it, and browsers ignore them without an error.
 */
function braceProblems(text: string): string[] {
  const problems: string[] = [];
  const open: { line: number; atRule: boolean }[] = [];
  let line = 1;
  let selector = '';
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, ' '));
  for (const ch of withoutComments) {
    if (ch === '\n') line++;
    if (ch === '{') {
      const atRule = selector.trim().startsWith('@');
      if (open.length > 0 && !open[open.length - 1].atRule) problems.push(`rule opened inside another rule at line ${line}`);
      open.push({ line, atRule });
      selector = '';
    } else if (ch === '}') {
      if (open.pop() === undefined) problems.push(`closing brace without a rule at line ${line}`);
      selector = '';
    } else if (ch === ';') {
      selector = '';
    } else {
      selector += ch;
    }
  }
  for (const rule of open) problems.push(`rule opened at line ${rule.line} is never closed`);
  return problems;
}

describe('stylesheets', () => {
  for (const file of cssFiles('src')) {
    it(`${file} closes every rule`, () => {
      expect(braceProblems(readFileSync(file, 'utf8'))).toEqual([]);
    });
  }

  it('finds a rule that is never closed', () => {
    expect(braceProblems('.a {\n  color: red;\n.b {\n  color: blue;\n}\n')).toEqual([
      'rule opened inside another rule at line 3',
      'rule opened at line 1 is never closed',
    ]);
  });
});
