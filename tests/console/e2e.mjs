// End-to-end test of the Tuttle web console (docs/console.md) in headless Chromium, driven by
// Playwright against a running `tuttle serve`:
//   node e2e.mjs --url http://127.0.0.1:PORT --token TOKEN [--screenshots DIR]
// Signs in (a wrong token first), sees the queue, filters by severity, opens an alert and checks
// its evidence timeline and ATT&CK technique, acknowledges it, opens the heat map and the
// inventory. Any console error (a CSP violation, a script error) fails the test. With
// --screenshots, writes console-{queue,alert,matrix,inventory}.png into DIR.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const url = arg('url');
const token = arg('token');
const shots = arg('screenshots', '');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!url || !token) {
  console.error('usage: node e2e.mjs --url URL --token TOKEN [--screenshots DIR]');
  process.exit(2);
}

// Polls `fn` (locator calls only: the console's CSP forbids the string evaluation that
// page.waitForFunction with arguments relies on) until it is true.
async function until(fn, what, ms = 15000) {
  const start = Date.now();
  while (Date.now() - start < ms) {
    // A locator may miss while the page re-renders: that is "not yet".
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('FAILED: timed out waiting until ' + what);
}

function check(cond, message) {
  if (!cond) throw new Error('FAILED: ' + message);
  console.log('ok - ' + message);
}

const browser = await chromium.launch({
  executablePath,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
         '--disable-background-networking'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1480, height: 900 } });
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  const shot = async (name) => {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, name) });
    console.log('screenshot ' + join(shots, name));
  };

  await page.goto(url + '/');
  await page.waitForSelector('#login:not(.hidden)');
  check(true, 'the console asks for a token');
  await page.fill('#token-input', 'not-the-token');
  await page.click('#login-submit');
  await until(async () => ((await page.locator('#login-error').textContent()) || '').includes('refused'), 'the token is refused');
  check(true, 'a wrong token is refused');

  await page.fill('#token-input', token);
  await page.click('#login-submit');
  await page.waitForSelector('#login.hidden', { state: 'attached' });
  await page.waitForSelector('#alert-rows tr');
  const total = await page.locator('#alert-rows tr').count();
  check(total > 0, `the queue lists alerts (${total})`);
  const origin = (await page.context().storageState()).origins;
  check(origin.length === 0, 'nothing persists in localStorage or cookies (the token is per tab)');

  // Filter by the severity of the first alert: every row then has it.
  const severity = await page.locator('#alert-rows tr').first().getAttribute('data-severity');
  await page.selectOption('#f-severity', severity);
  await page.click('#f-apply');
  await until(async () => {
    const rows = page.locator('#alert-rows tr');
    const n = await rows.count();
    if (n === 0) return false;
    for (let i = 0; i < n; ++i) if ((await rows.nth(i).getAttribute('data-severity', { timeout: 500 })) !== severity) return false;
    return true;
  }, 'every row is ' + severity);
  const filtered = await page.locator('#alert-rows tr').count();
  check(filtered > 0, `filtered by severity '${severity}': ${filtered} alerts, all '${severity}'`);
  await shot('console-queue.png');

  // Open the alert with the most events: its evidence timeline and ATT&CK techniques.
  const rows = page.locator('#alert-rows tr');
  let pick = 0;
  let most = -1;
  for (let i = 0; i < await rows.count(); ++i) {
    const events = Number(await rows.nth(i).locator('td.num').innerText());
    if (events > most) { most = events; pick = i; }
  }
  const first = rows.nth(pick);
  const id = await first.getAttribute('data-id');
  await first.click();
  await page.waitForSelector('#detail-title');
  check(page.url().endsWith('#/alerts/' + id), 'the alert opens under its own address');
  const evidence = await page.locator('#evidence-timeline li.evidence').count();
  check(evidence > 0, `the evidence timeline shows ${evidence} record(s)`);
  const attack = await page.locator('#detail-attack').innerText();
  check(/T\d{4}/.test(attack), `the ATT&CK technique is shown (${attack.replace(/\s+/g, ' ').trim()})`);
  // The raw records are in the store: the first one expands.
  const raw = page.locator('#evidence-timeline details');
  check(await raw.count() === evidence, 'every evidence record has its raw record');
  await raw.first().locator('summary').click();
  const text = await raw.first().locator('pre').innerText();
  check(text.trim().startsWith('{'), 'the raw record expands (' + text.length + ' characters)');
  await shot('console-alert.png');

  // Acknowledge it: the detail and the queue show the new status, the history records it.
  const before = await page.locator('#detail-status').innerText();
  await page.fill('#status-note', 'triaged by the e2e test');
  await page.click('#btn-acknowledged');
  await until(async () => (await page.locator('#detail-status').innerText()).includes('acknowledged'), 'the detail shows acknowledged');
  await until(async () => (await page.locator(`#alert-rows tr[data-id="${id}"]`).getAttribute('data-status')) === 'acknowledged', 'the queue shows acknowledged');
  const history = await page.locator('#status-history').innerText();
  check(history.includes('triaged by the e2e test'), `status '${before.trim()}' -> 'acknowledged', with the note in the history`);

  await until(async () => (await page.locator('#toast.hidden').count()) === 1, 'the toast is gone');

  // The heat map: covered and uncovered techniques, and techniques with alerts.
  await page.click('#tab-matrix');
  await page.waitForSelector('#matrix .tech-cell');
  const covered = await page.locator('#matrix .tech-cell.covered').count();
  const uncovered = await page.locator('#matrix .tech-cell.uncovered').count();
  const hot = await page.locator('#matrix .tech-cell.hot').count();
  check(covered > 0 && uncovered > 0, `the matrix marks ${covered} covered and ${uncovered} uncovered techniques`);
  check(hot > 0, `${hot} techniques are coloured by their alerts`);
  await shot('console-matrix.png');

  // The inventory.
  await page.click('#tab-inventory');
  await page.waitForSelector('#inv-rows tr');
  const items = await page.locator('#inv-rows tr').count();
  check(items > 0, `the inventory lists ${items} items`);
  await shot('console-inventory.png');

  check(errors.length === 0, 'no console errors' + (errors.length ? ': ' + errors.join(' | ') : ''));
} catch (e) {
  failed = true;
  console.error(e.message || e);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
