import { describe, expect, it } from 'vitest';
import { renderTable } from './report.js';

describe('bench report', () => {
  it('prints Heliograph against each other target as ratios', () => {
    const table = renderTable([
      { scenario: 'relay', metric: 'msg/s', target: 'heliograph', value: 90, better: 'higher' },
      { scenario: 'relay', metric: 'msg/s', target: 'floor', value: 100, better: 'higher' },
    ]);
    expect(table.split('\n')[0]).toMatch(/heliograph\s+floor\s+hg\/floor/);
    expect(table.split('\n')[2]).toMatch(/relay\s+msg\/s\s+90.0\s+100\s+0\.90$/);
  });

  it('prints cross-node against same-node as a ratio when told which is the subject', () => {
    const table = renderTable(
      [
        { scenario: 'cross-node latency', metric: 'p99 ms', target: 'same-node', value: 2, better: 'lower' },
        { scenario: 'cross-node latency', metric: 'p99 ms', target: 'cross-node', value: 3, better: 'lower' },
      ],
      'cross-node',
      'cross',
    );
    expect(table.split('\n')[0]).toMatch(/same-node\s+cross-node\s+cross\/same-node$/);
    expect(table.split('\n')[2]).toMatch(/p99 ms\s+2\.000\s+3\.000\s+1\.50$/);
  });
});
