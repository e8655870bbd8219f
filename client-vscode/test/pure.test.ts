import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chooseInterpreter, installCommand, isMissingPackage } from '../src/interpreter';
import { declaredKeys, initializationOptions, redact, serverOptions } from '../src/settings';
import { fixPath, fixText, Hit, parseFixPath, pickItem } from '../src/fixdoc';

test('interpreter: setting, then the Python extension, then python3', () => {
  assert.deepEqual(chooseInterpreter(' /venv/bin/python ', '/other'), { command: '/venv/bin/python', source: 'setting' });
  assert.deepEqual(chooseInterpreter('', '/ext/python'), { command: '/ext/python', source: 'python extension' });
  assert.deepEqual(chooseInterpreter(undefined, undefined), { command: 'python3', source: 'default' });
  assert.equal(installCommand('/a b/python'), '"/a b/python" -m pip install pattern-memory');
  assert.ok(isMissingPackage("/usr/bin/python3: No module named pattern_memory"));
  assert.ok(!isMissingPackage('Traceback: ImportError: No module named yaml'));
});

test('settings: every declared key but the client\'s own, empty dbPath left to the server', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  const keys = declaredKeys(pkg);
  const values: Record<string, unknown> = { interpreter: '/py', dbPath: '', teamUrl: '', maxInjected: 3 };
  const options = serverOptions({ keys: () => keys, get: (k) => (k in values ? values[k] : pkg.contributes.configuration.properties[`patternMemory.${k}`].default) });
  assert.ok(!('interpreter' in options) && !('dbPath' in options));
  assert.equal(options.maxInjected, 3);
  assert.equal(options.teamUrl, null);
  assert.equal(options.diagnosticSeverity, 'hint');
  assert.deepEqual(initializationOptions({ a: 1 }, undefined), { patternMemory: { a: 1 } });
  assert.deepEqual(initializationOptions({ a: 1 }, 'k'), { patternMemory: { a: 1 }, teamApiKey: 'k' });
});

const hit: Hit = { patternId: 'p/1', score: 0.8712, commitMsg: 'fix: KeyError\n\nlong body', date: '2024-05-01T10:00:00+00:00',
  filePath: 'app/users.py', successRate: 0.75, uses: 4, beforeCode: 'x = d[k]', afterCode: 'x = d.get(k)\n' };

test('diff documents: before and after text, round-tripped paths', () => {
  const before = fixPath(hit, 'before');
  assert.equal(before, '/p%2F1/before/users.py');
  assert.deepEqual(parseFixPath(before), { patternId: 'p/1', side: 'before' });
  assert.equal(parseFixPath('/nonsense'), undefined);
  assert.equal(fixText(hit, 'before'), 'x = d[k]\n');
  assert.equal(fixText(hit, 'after'), 'x = d.get(k)\n');
  assert.match(fixText(undefined, 'after'), /no longer in memory/);
  assert.deepEqual(pickItem(hit), { label: 'fix: KeyError', description: '0.87 · 2024-05-01', detail: 'app/users.py · 75% success, 4 uses' });
  assert.equal(pickItem({ ...hit, uses: 1 }).detail, 'app/users.py · 75% success, 1 use');
});

test('trace redaction: the team key never reaches the log', () => {
  const params = JSON.stringify(initializationOptions({ a: 1 }, 'sk-123'), null, 4);
  assert.ok(!redact(params, 'sk-123').includes('sk-123'));
  assert.match(redact(params, 'sk-123'), /"teamApiKey": "<redacted>"/);
  assert.equal(redact('x sk-123 y sk-123', 'sk-123'), 'x <redacted> y <redacted>');
  assert.equal(redact('nothing secret', undefined), 'nothing secret');
});
