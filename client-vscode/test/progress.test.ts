import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProgressRuns, statusText } from '../src/progress';
import { fixDescription, statsMessage, syncSummary } from '../src/messages';
import { StoredFix } from '../src/fixdoc';

test('progress: a run per token, from begin to end; partial results and strangers ignored', () => {
  const runs = new ProgressRuns();
  assert.equal(runs.busy, false);
  assert.equal(runs.update('t1', { kind: 'report', percentage: 5 }), false);  // never begun
  assert.equal(runs.update('t1', [{ patternId: 'x' }]), false);  // a partial result
  assert.ok(runs.update('t1', { kind: 'begin', title: 'Pattern Memory: indexing', message: 'repo', percentage: 0 }));
  assert.ok(runs.update(7, { kind: 'begin', title: 'sync' }));
  assert.ok(runs.update('t1', { kind: 'report', message: '3/10 commits', percentage: 30 }));
  assert.deepEqual(runs.latest(), { title: 'sync', message: undefined, percentage: undefined });
  assert.ok(runs.update(7, { kind: 'end' }));
  assert.deepEqual(runs.latest(), { title: 'Pattern Memory: indexing', message: '3/10 commits', percentage: 30 });
  assert.ok(runs.update('t1', { kind: 'end', message: 'done' }));
  assert.equal(runs.busy, false);
  assert.equal(runs.update('t1', { kind: 'end' }), false);
});

test('status text: the count, a spinner and the percentage while the server works', () => {
  assert.deepEqual(statusText(undefined, undefined, false), { text: '$(history) … patterns', tooltip: 'Pattern Memory: search learned fixes' });
  assert.deepEqual(statusText(12, { title: 'Pattern Memory: indexing', message: '3/10 commits', percentage: 30 }, false),
    { text: '$(sync~spin) 12 patterns 30%', tooltip: 'Pattern Memory: indexing (3/10 commits)…' });
  assert.equal(statusText(12, undefined, true).text, '$(sync~spin) 12 patterns');
});

const stored: StoredFix = { patternId: 'p1', commitMsg: 'fix: KeyError', date: '2024-05-01', filePath: 'a.py', successRate: 0.8333,
  uses: 4, beforeCode: 'a', afterCode: 'b', retired: false };

test('messages: learned fix rows, stats, sync', () => {
  assert.equal(fixDescription(4, undefined), 'line 5');
  assert.equal(fixDescription(4, null), 'no longer in memory · line 5');
  assert.equal(fixDescription(0, stored), '83% success, 4 uses · line 1');
  assert.equal(fixDescription(0, { ...stored, uses: 1, retired: true }), '83% success, 1 use, retired · line 1');
  assert.equal(fixDescription(2, { ...stored, uses: 0, successRate: 0.8 }), '80% (prior, no uses yet) · line 3');
  assert.equal(statsMessage({ patterns: 3, active: 2, retired: 1 }), 'Pattern Memory: 3 patterns (2 active, 1 retired).');
  assert.equal(syncSummary({ pushed: 2, pulled: 5, cursor: 'abc' }), ' (pushed 2, pulled 5)');
  assert.equal(syncSummary(null), '');
});
