// Tuttle console: a single-page client of the Tuttle HTTP API (docs/api.md, docs/console.md).
// No build step and no third-party code; every value from the API reaches the page through
// textContent (never innerHTML), under a Content-Security-Policy of 'self'.
'use strict';

(function () {
  const TOKEN_KEY = 'tuttle.token';
  const THEME_KEY = 'tuttle.theme';
  const PAGE_SIZE = 50;
  const $ = (id) => document.getElementById(id);

  // ---- DOM helper: h('td', {class: 'x'}, 'text', child) ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function toast(message, isError) {
    const t = $('toast');
    t.textContent = message;
    t.className = 'toast' + (isError ? ' err' : '');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => t.classList.add('hidden'), 2500);
  }

  // ---- API ----
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || ('HTTP ' + status));
      this.status = status;
      this.body = body;
    }
  }

  async function api(path, options) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = { method: 'GET', headers, cache: 'no-store', credentials: 'omit' };
    if (options && options.body !== undefined) {
      init.method = 'POST';
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const res = await fetch(path, init);
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (res.status === 401) {
      setConn(false, 'token required');
      showLogin(token ? 'The token was refused.' : '');
      throw new ApiError(401, body);
    }
    if (!res.ok) throw new ApiError(res.status, body);
    return body;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
    const s = q.toString();
    return s ? '?' + s : '';
  }

  function setConn(ok, text) {
    const c = $('conn');
    c.className = 'conn ' + (ok ? 'ok' : 'bad');
    $('conn-text').textContent = text;
  }

  // ---- sign-in ----
  function showLogin(error) {
    $('login').classList.remove('hidden');
    $('login-error').textContent = error || '';
    $('token-input').focus();
  }

  async function connect() {
    try {
      const r = await api('/api/v1/rules');
      $('login').classList.add('hidden');
      setConn(true, 'connected');
      state.rules = r.rules || [];
      return true;
    } catch (e) {
      if (e.status !== 401) { setConn(false, e.message); toast(e.message, true); }
      return false;
    }
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
    $('token-input').value = '';
    if (await connect()) route();
  });
  $('signout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setConn(false, 'signed out');
    showLogin('');
  });

  // ---- theme ----
  function applyTheme(t) { document.documentElement.dataset.theme = t; }
  applyTheme(localStorage.getItem(THEME_KEY) || 'dark');
  $('theme-toggle').addEventListener('click', () => {
    const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem(THEME_KEY, next);
    applyTheme(next);
  });

  // ---- formatting ----
  const SEVERITY_WORD = { 1: 'informational', 2: 'low', 3: 'medium', 4: 'high', 5: 'critical', 6: 'critical' };
  const STATUS_WORD = { 1: 'new', 2: 'acknowledged', 3: 'suppressed', 4: 'closed' };
  function sevWord(a) { return (a.unmapped && a.unmapped.tuttle && a.unmapped.tuttle.rule_level) || SEVERITY_WORD[a.severity_id] || 'informational'; }
  function statusWord(a) { return STATUS_WORD[a.status_id] || 'new'; }
  function fmtTime(ms) {
    if (ms === undefined || ms === null) return '';
    const d = new Date(ms);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }
  function fmtIso(s) { return s ? String(s).replace('T', ' ') : ''; }
  function tut(a) { return (a.unmapped && a.unmapped.tuttle) || {}; }
  function entityText(a) {
    const t = tut(a);
    const parts = [];
    if (t.group_by) for (const [k, v] of Object.entries(t.group_by)) parts.push(k + '=' + v);
    else if (t.entity) {
      for (const k of ['namespace', 'pod', 'function_name', 'principal', 'image']) if (t.entity[k]) parts.push(k + '=' + t.entity[k]);
      if (!parts.length) for (const [k, v] of Object.entries(t.entity)) { if (typeof v === 'string') { parts.push(k + '=' + v); break; } }
    }
    return parts.join(' ');
  }
  function techniques(a) {
    const out = [];
    for (const at of ((a.finding_info && a.finding_info.attacks) || [])) {
      const t = at.sub_technique || at.technique;
      if (t && t.uid && !out.some((x) => x.uid === t.uid)) out.push(t);
    }
    return out;
  }
  function tactics(a) {
    const out = [];
    for (const at of ((a.finding_info && a.finding_info.attacks) || [])) {
      if (at.tactic && at.tactic.name && !out.some((x) => x.uid === at.tactic.uid)) out.push(at.tactic);
    }
    return out;
  }
  const sevBadge = (w) => h('span', { class: 'sev sev-' + w }, w === 'informational' ? 'info' : w);
  const statusBadge = (w) => h('span', { class: 'st st-' + w }, w);

  // ---- state ----
  const state = {
    rules: [],
    filters: {},
    tokens: [''],       // page tokens: tokens[i] fetches page i
    page: 0,
    next: '',
    alerts: [],
    selected: null,
    invToken: '',
  };

  // ---- alert queue ----
  function readFilters() {
    const f = {};
    for (const el of $('alert-filters').elements) if (el.name) f[el.name] = el.value.trim();
    return f;
  }

  async function loadAlerts() {
    const params = Object.assign({}, state.filters, { limit: PAGE_SIZE, page_token: state.tokens[state.page] });
    $('queue-summary').textContent = 'Loading…';
    let r;
    try {
      r = await api('/api/v1/alerts' + query(params));
    } catch (e) {
      if (e.status !== 401) { $('queue-summary').textContent = ''; toast(e.message, true); }
      return;
    }
    state.alerts = r.alerts || [];
    state.next = r.next_page_token || '';
    renderAlerts();
  }

  function renderAlerts() {
    const rows = $('alert-rows');
    rows.replaceChildren();
    for (const a of state.alerts) {
      const id = a.finding_info.uid;
      const t = tut(a);
      const sev = sevWord(a);
      const tr = h('tr', { dataset: { id }, class: state.selected === id ? 'selected' : '', 'data-severity': sev, 'data-status': statusWord(a) },
        h('td', { class: 'c-time' }, fmtTime(a.time)),
        h('td', {}, sevBadge(sev)),
        h('td', {}, statusBadge(statusWord(a))),
        h('td', { class: 'ellipsis', title: t.rule_name || a.finding_info.title }, a.finding_info.title),
        h('td', { class: 'ellipsis mono' }, entityText(a)),
        h('td', {}, (a.metadata && a.metadata.tenant_uid) || '—'),
        h('td', {}, techniques(a).map((x) => h('span', { class: 'chip tech', title: x.name || '' }, x.uid))),
        h('td', { class: 'num' }, String(t.count !== undefined ? t.count : (a.count || 1))));
      tr.addEventListener('click', () => { location.hash = '#/alerts/' + id; });
      rows.append(tr);
    }
    $('alert-empty').classList.toggle('hidden', state.alerts.length > 0);
    const n = state.alerts.length;
    $('queue-summary').textContent = n ? `${n} alert${n === 1 ? '' : 's'} on this page${state.next ? ', more after' : ''}` : '';
    $('page-no').textContent = 'page ' + (state.page + 1);
    $('page-prev').disabled = state.page === 0;
    $('page-first').disabled = state.page === 0;
    $('page-next').disabled = !state.next;
  }

  $('alert-filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.filters = readFilters();
    state.tokens = [''];
    state.page = 0;
    loadAlerts();
  });
  $('f-reset').addEventListener('click', () => {
    $('alert-filters').reset();
    state.filters = {};
    state.tokens = [''];
    state.page = 0;
    loadAlerts();
  });
  $('page-next').addEventListener('click', () => {
    if (!state.next) return;
    state.tokens[state.page + 1] = state.next;
    state.page += 1;
    loadAlerts();
  });
  $('page-prev').addEventListener('click', () => { if (state.page > 0) { state.page -= 1; loadAlerts(); } });
  $('page-first').addEventListener('click', () => { state.page = 0; loadAlerts(); });

  // ---- alert detail ----
  async function showAlert(id) {
    state.selected = id;
    for (const tr of $('alert-rows').children) tr.classList.toggle('selected', tr.dataset.id === id);
    const panel = $('alert-detail');
    panel.classList.remove('hidden');
    panel.replaceChildren(h('div', { class: 'muted' }, 'Loading alert…'));
    let d;
    try {
      d = await api('/api/v1/alerts/' + encodeURIComponent(id));
    } catch (e) {
      panel.replaceChildren(h('div', { class: 'error' }, e.message));
      return;
    }
    renderDetail(d);
  }

  function renderDetail(d) {
    const a = d.alert;
    const t = tut(a);
    const id = a.finding_info.uid;
    const note = h('input', { id: 'status-note', placeholder: 'note (optional)', maxlength: 500 });
    const act = (word, cls, label) => h('button', {
      type: 'button', class: 'btn small ' + cls, id: 'btn-' + word, disabled: d.status === word,
      onclick: () => setStatus(id, word, note.value),
    }, label);
    const kv = [];
    const add = (k, v) => { if (v !== undefined && v !== null && v !== '') kv.push(h('dt', {}, k), h('dd', {}, v)); };
    add('Alert id', h('code', {}, id));
    add('Rule', [a.finding_info.analytic.name, ' ', h('code', { class: 'muted' }, a.finding_info.analytic.uid)]);
    add('Kind', t.kind + (t.condition ? ' (' + t.condition + ')' : ''));
    add('Time', fmtTime(a.time));
    add('Window', t.window ? fmtIso(t.window.start) + ' → ' + fmtIso(t.window.end) : '');
    add('Tenant', a.metadata && a.metadata.tenant_uid);
    if (t.group_by) add('Group by', Object.entries(t.group_by).map(([k, v]) => h('span', { class: 'chip' }, k + '=' + v)));
    if (t.entity) add('Entities', Object.entries(t.entity).filter(([, v]) => typeof v === 'string').map(([k, v]) => h('span', { class: 'chip' }, k + '=' + v)));
    add('Events', String(t.count !== undefined ? t.count : a.count));
    if (t.log_source) add('Log source', [t.log_source.product, t.log_source.service].filter(Boolean).join(' / '));
    if (t.rule_file) add('Rule file', h('code', {}, t.rule_file));
    if (t.details) add('Details', t.details.join('; '));
    if (a.finding_info.desc) add('Description', a.finding_info.desc);

    const attack = h('div', { id: 'detail-attack' },
      tactics(a).map((x) => h('span', { class: 'chip', title: x.uid }, x.name)),
      techniques(a).map((x) => h('span', { class: 'chip tech', title: x.name || '' }, x.uid + (x.name ? ' ' + x.name : ''))));

    const timeline = h('ol', { class: 'timeline', id: 'evidence-timeline' });
    for (const e of d.evidence_records || []) {
      const where = e.partition !== undefined ? `${e.source} [${e.partition}] @${e.offset}` : `${e.source}:${e.line}`;
      let raw;
      if (e.record === null || e.record === undefined) {
        raw = h('div', { class: 'muted' }, 'raw record not stored');
      } else {
        let text = e.record;
        try { text = JSON.stringify(JSON.parse(e.record), null, 2); } catch (err) { /* not JSON: as is */ }
        raw = h('details', {}, h('summary', {}, 'raw record (' + e.record.length + ' bytes)'), h('pre', {}, text));
      }
      timeline.append(h('li', { class: 'evidence' },
        h('div', {}, h('span', { class: 'when' }, fmtIso(e.event_time)), ' ', h('span', { class: 'muted mono' }, where)),
        e.rule_title ? h('div', {}, e.rule_title) : null,
        raw));
    }
    if (!(d.evidence_records || []).length) timeline.append(h('li', { class: 'muted' }, 'no evidence'));

    const history = h('ul', { class: 'history', id: 'status-history' });
    for (const x of d.status_history || []) {
      history.append(h('li', {}, h('span', { class: 'mono muted' }, fmtIso(x.time_dt) + ' '),
        statusBadge(STATUS_WORD[x.status_id] || x.status), ' by ', h('b', {}, (x.actor && x.actor.user && x.actor.user.name) || '?'),
        x.comment ? ' — ' + x.comment : ''));
    }
    if (!(d.status_history || []).length) history.append(h('li', { class: 'muted' }, 'no decisions yet'));

    $('alert-detail').replaceChildren(
      h('button', { type: 'button', class: 'btn ghost small close-x', onclick: () => { location.hash = '#/alerts'; } }, '✕'),
      h('h2', { id: 'detail-title' }, a.finding_info.title),
      h('div', {}, sevBadge(sevWord(a)), ' ', h('span', { id: 'detail-status' }, statusBadge(d.status))),
      h('div', { class: 'actions' }, act('acknowledged', 'ack', 'Acknowledge'), act('closed', 'close', 'Close'), act('new', 'reopen', 'Reopen'), note),
      h('dl', { class: 'kv' }, kv),
      h('div', { class: 'section-title' }, 'ATT&CK'), attack,
      h('div', { class: 'section-title' }, `Evidence timeline (${(d.evidence_records || []).length})`), timeline,
      h('div', { class: 'section-title' }, 'Status history'), history,
      h('details', {}, h('summary', { class: 'muted' }, 'OCSF finding (JSON)'), h('pre', { class: 'raw' }, JSON.stringify(a, null, 2))));
  }

  async function setStatus(id, word, note) {
    try {
      await api('/api/v1/alerts/' + encodeURIComponent(id) + '/status', { body: { status: word, note: note || '' } });
      toast(`Alert ${word}`);
      await Promise.all([showAlert(id), loadAlerts()]);
    } catch (e) {
      if (e.status !== 401) toast(e.message, true);
    }
  }

  // ---- ATT&CK matrix ----
  async function loadMatrix() {
    let c;
    try { c = await api('/api/v1/coverage'); } catch (e) { if (e.status !== 401) toast(e.message, true); return; }
    const counts = (c.alerts && c.alerts.by_technique) || {};
    const max = Math.max(1, ...Object.values(counts));
    const heat = (n) => (n <= 0 ? 0 : Math.min(5, 1 + Math.floor((4 * Math.log(n)) / Math.log(Math.max(2, max)))));
    const render = (matrix, el) => {
      el.replaceChildren();
      for (const tac of matrix.tactics) {
        const col = h('div', { class: 'tactic' }, h('h4', {}, tac.tactic_name, h('small', {}, tac.tactic_id)));
        for (const t of tac.techniques) {
          const n = counts[t.id] || 0;
          const rules = t.rules || [];
          const cls = ['tech-cell', t.id.includes('.') ? 'sub' : '', rules.length ? 'covered' : 'uncovered', n ? 'hot heat-' + heat(n) : ''];
          col.append(h('div', {
            class: cls.join(' '), title: (rules.length ? 'Rules: ' + rules.join(', ') : 'No Tuttle rule covers this technique'),
            dataset: { technique: t.id, alerts: String(n), rules: String(rules.length) },
          },
          h('div', { class: 'tid' }, t.id), h('div', {}, t.name),
          h('div', { class: 'meta' }, h('span', {}, rules.length ? rules.length + ' rule' + (rules.length === 1 ? '' : 's') : 'no rule'), h('span', {}, n ? n + ' alert' + (n === 1 ? '' : 's') : ''))));
        }
        el.append(col);
      }
    };
    render(c.containers, $('matrix'));
    render({ tactics: c.serverless.tactics.map((t) => ({ ...t, techniques: t.techniques.filter((x) => (x.rules || []).length || counts[x.id]) })).filter((t) => t.techniques.length) }, $('matrix-serverless'));
    $('matrix-summary').textContent = `ATT&CK v${c.attack_version}: ${c.containers.covered} of ${c.containers.total} techniques covered by ${c.rules} rules; ${c.alerts ? c.alerts.counted : 0} alerts counted${c.alerts && c.alerts.truncated ? ' (truncated)' : ''}`;
  }

  // ---- inventory ----
  async function loadInventory(more) {
    const f = {};
    for (const el of $('inv-filters').elements) if (el.name) f[el.name] = el.value.trim();
    if (!more) state.invToken = '';
    let r;
    try { r = await api('/api/v1/inventory' + query(Object.assign(f, { limit: 200, page_token: state.invToken }))); } catch (e) { if (e.status !== 401) toast(e.message, true); return; }
    const rows = $('inv-rows');
    if (!more) rows.replaceChildren();
    for (const i of r.items || []) {
      const detail = [i.digest && 'digest=' + i.digest, i.version && 'version=' + i.version, i.arn && 'arn=' + i.arn, i.principal && 'by ' + i.principal].filter(Boolean).join(' ');
      rows.append(h('tr', { 'data-kind': i.kind },
        h('td', {}, h('span', { class: 'chip' }, i.kind)), h('td', { class: 'mono ellipsis', title: i.item }, i.item),
        h('td', {}, i.tenant || '—'), h('td', { class: 'c-time' }, fmtIso(i.first_seen).replace(/\.\d+Z$/, 'Z')), h('td', { class: 'c-time' }, fmtIso(i.last_seen).replace(/\.\d+Z$/, 'Z')),
        h('td', {}, i.source), h('td', { class: 'num' }, String(i.events)),
        h('td', {}, i.approved ? h('span', { class: 'muted' }, 'yes') : h('span', { class: 'chip bad' }, 'NOT APPROVED')),
        h('td', { class: 'mono ellipsis', title: detail }, detail)));
    }
    state.invToken = r.next_page_token || '';
    $('inv-more').disabled = !state.invToken;
    $('inv-empty').classList.toggle('hidden', rows.children.length > 0);
  }
  $('inv-filters').addEventListener('submit', (ev) => { ev.preventDefault(); loadInventory(false); });
  $('inv-more').addEventListener('click', () => loadInventory(true));

  // ---- rules ----
  async function loadRules() {
    let r;
    try { r = await api('/api/v1/rules'); } catch (e) { if (e.status !== 401) toast(e.message, true); return; }
    const rows = $('rules-rows');
    rows.replaceChildren();
    for (const x of r.rules || []) {
      const ls = x.logsource ? [x.logsource.product, x.logsource.service, x.logsource.category].filter(Boolean).join('/') : (x.group_by || []).join(', ');
      rows.append(h('tr', {},
        h('td', {}, sevBadge(x.level)), h('td', {}, x.kind === 'correlation' ? 'correlation: ' + x.type : 'detection'),
        h('td', { title: x.id }, x.title), h('td', {}, (x.techniques || []).map((t) => h('span', { class: 'chip tech', title: t.name }, t.uid))),
        h('td', { class: 'mono' }, ls), h('td', { class: 'mono muted ellipsis', title: x.file }, x.file)));
    }
    $('rules-summary').textContent = `${(r.rules || []).length} rules`;
  }

  // ---- routing: #/alerts, #/alerts/ID, #/matrix, #/inventory, #/rules ----
  function route() {
    const parts = (location.hash || '#/alerts').slice(2).split('/');
    const view = ['alerts', 'matrix', 'inventory', 'rules'].includes(parts[0]) ? parts[0] : 'alerts';
    for (const v of document.querySelectorAll('.view')) v.classList.toggle('hidden', v.id !== 'view-' + view);
    for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.view === view);
    if (view === 'alerts') {
      if (!route.alertsLoaded) { route.alertsLoaded = true; loadAlerts(); }
      if (parts[1]) showAlert(decodeURIComponent(parts[1]));
      else { state.selected = null; $('alert-detail').classList.add('hidden'); for (const tr of $('alert-rows').children) tr.classList.remove('selected'); }
    } else if (view === 'matrix') loadMatrix();
    else if (view === 'inventory') loadInventory(false);
    else if (view === 'rules') loadRules();
  }
  window.addEventListener('hashchange', () => { if ($('login').classList.contains('hidden')) route(); });

  (async function start() {
    if (await connect()) route();
  })();
})();
