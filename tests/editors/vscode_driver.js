// Drives code-server in Debian's chromium (playwright-core) through the Pattern Memory
// extension: diagnostic, hover, status bar, quick fix saved to disk, search opening the diff.
// Writes what it saw to $OUT_DIR/result.json (screenshots beside it).
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const OUT = process.env.OUT_DIR;
const FILE = process.env.PM_FILE;          // absolute path of the look-alike on disk
const STEP = Number(process.env.PM_TIMEOUT_MS || 30000);
const step = (res, name) => { res.steps.push(name); };

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
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] || await browser.newPage();
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
    step(res, 'status');
    // 4. the quick fix, saved, on disk
    await page.mouse.click(box.x, box.y);
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
