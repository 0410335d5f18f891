import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Rules of the code's shape that the compiler cannot see, checked on the sources. */
const packages = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      return sources(path);
    }
    return path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const files = readdirSync(packages)
  .map((pkg) => join(packages, pkg, 'src'))
  .filter((src) => existsSync(src))
  .flatMap(sources);

/** Relative imports and re-exports, type-only ones included (a cycle of types is still a cycle to read). */
const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const found: string[] = [];
  for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const target = resolve(dirname(file), match[1]!).replace(/\.js$/, '.ts');
    const candidates = [target, target.replace(/\.ts$/, '/index.ts')];
    const hit = candidates.find((c) => existsSync(c));
    if (hit) {
      found.push(hit);
    }
  }
  return found;
}

/** Strongly connected components of more than one module (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(packages, w));
      } while (w !== v);
      if (component.length > 1) {
        found.push(component.sort());
      }
    }
  };
  for (const v of graph.keys()) {
    if (!index.has(v)) {
      visit(v);
    }
  }
  return found;
}

describe('the shape of the code', () => {
  it('has no import cycles between modules', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    expect(cycles(graph)).toEqual([]);
  });

  it('finds an import cycle when there is one (the check itself works)', () => {
    const graph = new Map([
      ['/a.ts', ['/b.ts']],
      ['/b.ts', ['/c.ts']],
      ['/c.ts', ['/a.ts']],
      ['/d.ts', ['/a.ts']],
    ]);
    expect(cycles(graph)).toHaveLength(1);
  });

  it('keeps where a peer lives inside the cluster layer: rooms, handlers and the APIs treat every peer alike', () => {
    const allowed = (file: string) => file.includes('/server/src/cluster/') || /\/server\/src\/rooms\/(room|peer-sink)\.ts$/.test(file);
    const offenders = files
      .filter((file) => !allowed(file))
      .filter((file) => /\b(isRemote|homeNode|nodeOf)\s*\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(packages, file));
    expect(offenders).toEqual([]);
  });
});
