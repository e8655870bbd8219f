// Drives code-server in Debian's chromium (playwright-core) through the Pattern Memory
// extension: diagnostic, hover, status bar (count, spinner while the server indexes), the
// Learned Fixes view, quick fix saved to disk, search opening the diff, forge from a
// selection, the copied <learned-patterns> block, stats, the team API key, Sync with Team.
// Writes what it saw to $OUT_DIR/result.json (screenshots beside it).
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const OUT = process.env.OUT_DIR;
const FILE = process.env.PM_FILE;          // absolute path of the look-alike on disk
const STEP = Number(process.env.PM_TIMEOUT_MS || 30000);
const FORGE_TEXT = process.env.PM_FORGE_TEXT;
const INJECT_QUERY = process.env.PM_INJECT_QUERY;
const TEAM_KEY = process.env.PM_TEAM_KEY;
const step = (res, name) => { res.steps.push(name); };

// Runs before the workbench's own scripts: records every text the extension's status bar item
// shows, and whether it spun, so that a spinner lasting a moment is still seen.
function recordStatus() {
  window.__pmStatus = [];
  const seen = (el) => {
    const text = el.textContent.trim();
    const spin = !!el.querySelector('.codicon-modifier-spin');
    const last = window.__pmStatus[window.__pmStatus.length - 1];
    if (!last || last.text !== text || last.spin !== spin) window.__pmStatus.push({ text, spin, t: Date.now() });
  };
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const node = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      const item = node && node.closest && node.closest('[id$="patternMemory.status"]');
      if (item) seen(item);
    }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

async function palette(page, title) {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').first().waitFor({ timeout: STEP });
  await page.keyboard.type(title);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title.replace(/^Pattern Memory: /, '') }).first().waitFor({ timeout: STEP });
  await page.keyboard.press('Enter');
}

async function toast(page, text) {
  const t = page.locator('.notification-toast', { hasText: text }).last();
  await t.waitFor({ timeout: STEP });
  return t.innerText();
}

async function dismissToasts(page) {
  // the notifications' "clear all" keeps later toasts from being confused with earlier ones
  await page.keyboard.press('Escape');
  for (const close of await page.locator('.notification-toast .codicon-notifications-clear').all()) await close.click().catch(() => {});
}

const statusItem = (page) => page.locator('[id$="patternMemory.status"]').first();

// the pixel box of `word` on the line holding `lineText` (token spans depend on the grammar)
async function wordBox(page, lineText, word) {
  return page.evaluate(([l, w]) => {
    for (const line of document.querySelectorAll('.monaco-editor .view-line')) {
      if (!line.textContent.replace(/\u00a0/g, ' ').includes(l)) continue;
      const it = document.createNodeIterator(line, NodeFilter.SHOW_TEXT);
      for (let n; (n = it.nextNode());) {
        const i = n.textContent.indexOf(w);
        if (i >= 0) { const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + w.length);
          const b = r.getBoundingClientRect(); return { x: b.x + b.width / 2, y: b.y + b.height / 2 }; }
      }
    }
  }, [lineText, word]);
}

(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const t0 = Date.now(), res = { steps: [] };
  const browser = await chromium.launchPersistentContext(fs.mkdtempSync(os.tmpdir() + '/pw-profile-'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, viewport: { width: 1280, height: 800 },
    permissions: ['clipboard-read', 'clipboard-write'],
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] || await browser.newPage();
  await page.addInitScript(recordStatus);
  try {
    await page.goto(process.env.CS_URL);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    step(res, 'workbench');
    await page.getByRole('treeitem', { name: 'app' }).click();
    await page.getByRole('treeitem', { name: 'report.py' }).click();
    await page.locator('.monaco-editor .view-line', { hasText: 'member_label' }).first().waitFor({ timeout: STEP });
    step(res, 'opened');
    // 1. the squiggle (the test's settings make the severity "warning")
    await page.waitForSelector('.monaco-editor .squiggly-warning', { timeout: 90000 });
    res.diag_ms = Date.now() - t0;
    step(res, 'diagnostic');
    // 2. the hover on the look-alike
    const box = await wordBox(page, 'member = members[member_id]', 'members');
    await page.mouse.move(box.x, box.y);
    const hover = page.locator('.monaco-hover-content', { hasText: 'users.get(user_id)' }).first();
    await hover.waitFor({ timeout: STEP });
    res.hover = await hover.innerText();
    await page.screenshot({ path: `${OUT}/hover.png` });
    await page.mouse.move(5, 5); await page.keyboard.press('Escape');
    step(res, 'hover');
    // 3. the status bar's count (refreshed once diagnostics arrive)
    const item = page.locator('.statusbar-item', { hasText: /\d+ patterns/ }).first();
    await item.waitFor({ timeout: STEP });
    res.status = await item.innerText();
    res.status_id = await statusItem(page).getAttribute('id');
    step(res, 'status');
    // 3b. the spinner while the server indexed on start (its $/progress, not a palette command)
    await page.waitForFunction(() => {
      const seen = window.__pmStatus;
      return seen.some((s) => s.spin) && !seen[seen.length - 1].spin;
    }, null, { timeout: 90000 }).catch(() => {});  // the test says what was seen
    res.status_seen = await page.evaluate(() => window.__pmStatus);
    step(res, 'spinner');
    // 3c. the Learned Fixes view: the row, its success rate; a click selects the range
    const header = page.locator('.pane-header', { hasText: 'Learned Fixes' }).first();
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const fixRow = page.locator('.pane-body .monaco-list-row', { hasText: 'KeyError for unknown users' }).filter({ hasText: /\d+% / }).first();
    await fixRow.waitFor({ timeout: STEP });
    res.fix_row = await fixRow.innerText();
    await fixRow.click();
    const selection = page.locator('[id="status.editor.selection"]', { hasText: 'selected' }).first();
    await selection.waitFor({ timeout: STEP });
    res.selection = await selection.innerText();
    await page.screenshot({ path: `${OUT}/learned_fixes.png` });
    step(res, 'learned fixes view');
    // 4. the quick fix, saved, on disk
    const again = await wordBox(page, 'member = members[member_id]', 'members');
    await page.mouse.click(again.x, again.y);
    await page.keyboard.press('Control+.');
    const row = page.locator('.action-widget .monaco-list-row[aria-label^="Apply learned fix"]');
    await row.waitFor({ timeout: STEP });
    for (let i = 0; i < 10 && !/\bfocused\b/.test(await row.getAttribute('class')); i++) await page.keyboard.press('ArrowDown');
    res.menu = await page.locator('.action-widget').innerText();
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-line', { hasText: 'members.get(member_id)' }).first().waitFor({ timeout: STEP });
    await page.keyboard.press('Control+S');
    for (const until = Date.now() + 15000; !fs.readFileSync(FILE, 'utf8').includes('members.get(member_id)');) {
      if (Date.now() > until) throw new Error('the fix never reached the disk');
      await page.waitForTimeout(100);
    }
    step(res, 'quick fix');
    // 5. the search from the palette, opening the diff
    await page.keyboard.press('F1');
    await page.keyboard.type('Pattern Memory: Search Learned Fixes');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Search Learned Fixes' }).first().waitFor({ timeout: STEP });
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Search Learned Fixes' }).waitFor({ timeout: STEP });
    await page.keyboard.type('KeyError for unknown users');
    const found = page.locator('.quick-input-list .monaco-list-row', { hasText: 'KeyError for unknown users' }).first();
    await found.waitFor({ timeout: STEP });
    res.search_row = await found.innerText();
    await page.screenshot({ path: `${OUT}/search.png` });
    await page.keyboard.press('Enter');
    const diff = page.locator('.monaco-diff-editor');
    await diff.locator('.view-line', { hasText: 'users.get(user_id)' }).first().waitFor({ timeout: STEP });
    res.diff_text = await diff.innerText();
    res.diff_tab = await page.locator('.tab.active').innerText();
    await page.screenshot({ path: `${OUT}/diff.png` });
    step(res, 'search diff');
    const before = Number((await statusItem(page).innerText()).match(/(\d+) patterns/)[1]);
    // 6. forge from the selection: an assistant's answer pasted into a new editor
    await page.keyboard.press('Control+N');
    await page.locator('.monaco-editor.focused').first().waitFor({ timeout: STEP });
    await page.keyboard.insertText(FORGE_TEXT);
    await page.keyboard.press('Control+A');
    await palette(page, 'Pattern Memory: Forge Pattern from Selection or Clipboard');
    res.forge = await toast(page, 'forged');
    await page.locator('[id$="patternMemory.status"]', { hasText: `${before + 1} patterns` }).first().waitFor({ timeout: STEP });
    res.status_after_forge = await statusItem(page).innerText();
    await page.screenshot({ path: `${OUT}/forge.png` });
    await dismissToasts(page);
    step(res, 'forge');
    // 7. the <learned-patterns> block for a query, copied to the clipboard
    await palette(page, 'Pattern Memory: Copy <learned-patterns> Block for a Query');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'learned-patterns' }).waitFor({ timeout: STEP });
    await page.keyboard.type(INJECT_QUERY);
    await page.keyboard.press('Enter');
    res.inject = await toast(page, 'copied');
    res.block = await page.evaluate(() => navigator.clipboard.readText());
    await dismissToasts(page);
    step(res, 'inject');
    // 8. stats: the notification, and the whole result in the output channel
    await palette(page, 'Pattern Memory: Show Stats');
    res.stats = await toast(page, 'active');
    await page.screenshot({ path: `${OUT}/stats.png` });
    await dismissToasts(page);
    step(res, 'stats');
    // 8b. Sync with Team is offered only when the server's capabilities list patternMemory.sync
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').first().waitFor({ timeout: STEP });
    await page.keyboard.type('Pattern Memory: Sync with Team');
    await page.waitForTimeout(1500);  // the list settles; "no matching commands" is an answer too
    res.sync_rows = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    await page.keyboard.press('Escape');
    step(res, 'sync gate');
    // 9. the team API key: a password box, then the server restarts with it
    const keyAsked = Date.now();
    await palette(page, 'Pattern Memory: Set Team API Key');
    await page.locator('.quick-input-widget input[type="password"]').waitFor({ timeout: STEP });
    await page.keyboard.type(TEAM_KEY);
    await page.keyboard.press('Enter');
    // the item shows the stopped server, then the count again once the new one answers
    for (const until = Date.now() + 60000; ;) {
      const seen = (await page.evaluate(() => window.__pmStatus)).filter((s) => s.t >= keyAsked);
      const stopped = seen.findIndex((s) => /Patterns$/.test(s.text));
      if (stopped >= 0 && seen.slice(stopped + 1).some((s) => /\d+ patterns/.test(s.text))) { res.restart_seen = seen; break; }
      if (Date.now() > until) throw new Error(`no restart after the team key: ${JSON.stringify(seen)}`);
      await page.waitForTimeout(200);
    }
    step(res, 'team key');
    // 10. Sync with Team against the real team server: the teammate's fix, marked as the team's
    await dismissToasts(page);
    await palette(page, 'Pattern Memory: Sync with Team');
    res.sync = await toast(page, 'synced with the team');
    await dismissToasts(page);
    await page.getByRole('treeitem', { name: 'queries.py' }).click();
    await page.locator('.monaco-editor .view-line', { hasText: 'conn.cursor()' }).first().waitFor({ timeout: STEP });
    await page.waitForSelector('.monaco-editor .squiggly-warning', { timeout: 60000 });
    const teamBox = await wordBox(page, 'cur = conn.cursor()', 'cursor');
    await page.mouse.move(teamBox.x, teamBox.y);
    const teamHover = page.locator('.monaco-hover-content', { hasText: 'Team fix' }).first();
    await teamHover.waitFor({ timeout: STEP });
    res.team_hover = await teamHover.innerText();
    await page.screenshot({ path: `${OUT}/team_hover.png` });
    step(res, 'team sync');
    res.ok = true;
  } catch (e) {
    res.ok = false; res.err = String(e);
    await page.screenshot({ path: `${OUT}/failure.png` }).catch(() => {});
  }
  res.total_ms = Date.now() - t0;
  fs.writeFileSync(`${OUT}/result.json`, JSON.stringify(res, null, 1));
  await browser.close();
  process.exit(res.ok ? 0 : 1);
})();
