// tend village page: plain browser JS, no build step, no framework, nothing fetched from elsewhere.
// Data comes from the village's own API and its SSE stream (/api/stream: status, alert, assembly).
// Every value that came from a device, a neighbour or a note is put in the page with textContent
// (never innerHTML), so a note holding markup shows as text.
'use strict';

(function () {
  var KEY_TOKEN = 'tend.token';
  var KEY_AUTHOR = 'tend.author';
  var KEY_SOUND = 'tend.sound';
  var KEY_LANGUAGE = 'tend.language';
  // one word per status everywhere on the page, in the page's language (filled by levelWords())
  var LEVEL_WORDS = { ok: 'OK', watch: 'WATCH', strained: 'STRAINED', critical: 'CRITICAL', unknown: 'NO DATA' };
  var SEVERITY_RANK = { critical: 0, warning: 1, watch: 2 };
  var HISTORY_REFRESH_MS = 5 * 60 * 1000;
  var SENSORS_REFRESH_MS = 5000;
  var FEDERATION_REFRESH_MS = 20000;
  var QUIET_RECONNECT_MS = 45000; // no event for this long: reopen the stream
  var PAGE_OLD_MS = 10000; // link down and no status for this long: grey the page
  var NEIGHBOUR_OLD_MS = 15 * 60 * 1000;

  var state = {
    status: null,
    statusReceived: 0, // Date.now() when the last status arrived
    serverOffset: 0, // server clock minus browser clock (the village may run on a simulated clock)
    timezone: '', // the village's zone (IANA), from /api/status; '' until known (the phone's own)
    sensors: {}, // id -> SensorHealth
    promptEvents: 0, // prompt events over the stream so far: a list fetched before one is older than it
    alertEvents: 0, // the same for alert events
    alerts: {}, // id -> Alert
    prompts: {}, // id -> AssemblyPrompt
    history: {}, // tank id -> [{t, v}]
    historyFetched: {},
    link: 'connecting',
    linkLog: [],
    lastEvent: 0,
    badEvents: 0,
  };
  // Exposed read-only for tests and for curious crews in the browser console.
  window.tend = { state: state };

  // ---------- the village's language ----------
  // t('key', 'English text with {slot}', {slot: value}): English is written here beside each key;
  // other languages come from the village (window.TEND_WORDS, filled from /language/<tag>.json).
  function t(key, english, slots) {
    var words = window.TEND_WORDS || {};
    var text = typeof words[key] === 'string' ? words[key] : english;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return slots && slots[name] !== undefined ? String(slots[name]) : all;
    });
  }
  // t() under another name, for functions whose own `t` is a tank, a time or a text
  var tr = t;
  function levelWords() {
    return {
      ok: t('page.level.ok', 'OK'),
      watch: t('page.level.watch', 'WATCH'),
      strained: t('page.level.strained', 'STRAINED'),
      critical: t('page.level.critical', 'CRITICAL'),
      unknown: t('page.level.unknown', 'NO DATA'),
    };
  }
  // The page's language: the viewer's choice on this device, else the village's (from /languages).
  // Numbers and dates follow it (Intl with the tag); English keeps the village's usual en-GB forms.
  state.lang = 'en';
  state.locale = 'en-GB';
  function savedLanguage() {
    try {
      return localStorage.getItem(KEY_LANGUAGE) || '';
    } catch (_e) {
      return '';
    }
  }
  function loadWords(tag) {
    if (tag === 'en') return Promise.resolve({});
    return getJSON('/language/' + encodeURIComponent(tag) + '.json');
  }
  function useLanguage(tag, words) {
    window.TEND_WORDS = words || {};
    state.lang = tag;
    state.locale = tag === 'en' ? 'en-GB' : tag;
    zoneFormats = {};
    numberFormats = {};
    LEVEL_WORDS = levelWords();
    document.documentElement.lang = tag;
    translateStatic();
    var pick = $('language-select');
    if (pick) pick.value = tag;
  }
  // Texts written in index.html (and elements built once) carry data-t="key" with their English;
  // data-t-placeholder, data-t-title and data-t-aria-label do the same for those attributes.
  var T_ATTRS = ['placeholder', 'title', 'aria-label'];
  function translateStatic() {
    // the page, and the templates cards are cloned from
    var roots = [document];
    Array.prototype.forEach.call(document.querySelectorAll('template'), function (tpl) {
      roots.push(tpl.content);
    });
    roots.forEach(translateIn);
  }
  function translateIn(root) {
    Array.prototype.forEach.call(root.querySelectorAll('[data-t]'), function (e) {
      if (e.dataset.en == null) e.dataset.en = e.textContent;
      e.textContent = t(e.dataset.t, e.dataset.en);
    });
    T_ATTRS.forEach(function (a) {
      Array.prototype.forEach.call(root.querySelectorAll('[data-t-' + a + ']'), function (e) {
        var enKey =
          'en' +
          a.replace(/(^|-)(\w)/g, function (_m, _d, c) {
            return c.toUpperCase();
          });
        if (e.dataset[enKey] == null) e.dataset[enKey] = e.getAttribute(a) || '';
        e.setAttribute(a, t(e.getAttribute('data-t-' + a), e.dataset[enKey]));
      });
    });
  }
  /** a text element that follows a language switch (for elements built once and kept) */
  function tEl(tag, cls, key, english) {
    var e = el(tag, cls);
    e.dataset.t = key;
    e.dataset.en = english;
    e.textContent = t(key, english);
    return e;
  }
  function icon(name, label) {
    return window.tendIcons ? window.tendIcons.icon(name, label) : document.createComment(name);
  }
  // Put a decorative icon before the word of every element marked data-icon="name" in index.html.
  function placeIcons() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-icon]:not(svg)'), function (e) {
      if (!e.querySelector('svg')) e.insertBefore(icon(e.dataset.icon), e.firstChild);
    });
  }
  /** a status badge: its icon and its one word, so colour never stands alone */
  function setBadge(b, level, word) {
    clear(b);
    b.appendChild(icon(level || 'unknown'));
    b.appendChild(document.createTextNode(word));
    b.dataset.level = level || 'unknown';
  }

  // ---------- small DOM helpers (text only) ----------
  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function setText(id, text) {
    var e = typeof id === 'string' ? $(id) : id;
    if (e) e.textContent = text == null ? '' : String(text);
  }
  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
  }
  function isNum(n) {
    return Number.isFinite(n);
  }
  function str(v) {
    return v == null ? '' : String(v);
  }

  // ---------- formatting ----------
  // numbers in the page's language: one formatter per precision (grouping only for whole numbers)
  var numberFormats = {};
  function fixed(n, digits) {
    var f = numberFormats[digits];
    if (!f) {
      try {
        f = new Intl.NumberFormat(state.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
      } catch (_e) {
        f = {
          format: function (x) {
            return x.toFixed(digits);
          },
        };
      }
      numberFormats[digits] = f;
    }
    return f.format(n);
  }
  function fmtInt(n) {
    return isNum(n) ? Math.round(n).toLocaleString(state.locale) : '—';
  }
  function fmtNum(n, digits) {
    return isNum(n) ? fixed(n, digits) : '—';
  }
  function fmtDays(n) {
    return isNum(n) ? (n < 100 ? fixed(n, 1) : String(Math.round(n))) : '—';
  }
  function fmtSigned(n, digits) {
    return isNum(n) ? (n > 0 ? '+' : n < 0 ? '−' : '±') + fixed(Math.abs(n), digits) : '—';
  }
  function fmtWatts(w) {
    if (!isNum(w)) return '—';
    return Math.abs(w) >= 1000 ? fixed(w / 1000, 1) + ' kW' : Math.round(w) + ' W';
  }
  function parseTime(t) {
    if (isNum(t)) return t;
    if (typeof t !== 'string') return null;
    var n = Date.parse(t);
    return Number.isNaN(n) ? null : n;
  }
  function serverNow() {
    return Date.now() + state.serverOffset;
  }
  function fmtAgo(iso) {
    var at = parseTime(iso);
    if (at == null) return t('page.ago.never', 'never');
    var s = Math.max(0, Math.round((serverNow() - at) / 1000));
    if (s < 60) return t('page.ago.seconds', '{n} s ago', { n: s });
    var m = Math.floor(s / 60);
    if (m < 60) return t('page.ago.minutes', '{n} min ago', { n: m });
    var h = Math.floor(m / 60);
    if (h < 48) return t('page.ago.hours', '{h} h {m} min ago', { h: h, m: m % 60 });
    return t('page.ago.days', '{n} days ago', { n: Math.floor(h / 24) });
  }
  // Times are the village's wall clock (its zone comes with /api/status), whatever zone the phone
  // is set to; a browser that cannot format in another zone shows the phone's own clock.
  var zoneFormats = {};
  function zoneParts(t) {
    var tz = state.timezone;
    var f = zoneFormats[tz];
    if (f === undefined) {
      try {
        f = new Intl.DateTimeFormat(state.locale, {
          timeZone: tz || undefined,
          year: 'numeric',
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        });
        if (typeof f.formatToParts !== 'function') f = null;
      } catch (_e) {
        f = null;
      }
      zoneFormats[tz] = f;
    }
    var d = new Date(t);
    if (!f) return { y: d.getFullYear(), mon: d.toLocaleDateString(state.locale, { month: 'short' }), d: d.getDate(), h: d.getHours(), m: d.getMinutes() };
    var o = {};
    f.formatToParts(d).forEach(function (part) {
      o[part.type] = part.value;
    });
    return { y: Number(o.year), mon: o.month, d: Number(o.day), h: Number(o.hour) % 24, m: Number(o.minute) };
  }
  function fmtClock(iso) {
    var t = parseTime(iso);
    if (t == null) return '';
    function p(n) {
      return (n < 10 ? '0' : '') + n;
    }
    var a = zoneParts(t);
    var today = zoneParts(serverNow());
    var sameDay = a.y === today.y && a.mon === today.mon && a.d === today.d;
    var hm = p(a.h) + ':' + p(a.m);
    return sameDay ? hm : a.d + ' ' + a.mon + ' ' + hm;
  }
  function levelWord(l) {
    return LEVEL_WORDS[l] || LEVEL_WORDS.unknown;
  }
  function setLevel(badgeId, sectionId, level) {
    var b = $(badgeId);
    if (b) setBadge(b, level, levelWord(level));
    var s = sectionId && $(sectionId);
    if (s) s.dataset.status = level || 'unknown';
  }
  // A live "12 s ago" that the 1-second tick keeps current.
  function seenSpan(cls, iso, prefix) {
    var s = el('span', cls);
    s.dataset.seen = str(iso);
    s.dataset.prefix = prefix || '';
    s.textContent = (prefix || '') + fmtAgo(iso);
    return s;
  }
  function staleText(iso, offline) {
    if (!iso) return offline ? t('page.stale.offline_never', 'OFFLINE — no reading yet') : t('page.stale.never', 'NO READING YET');
    return offline
      ? t('page.stale.offline', 'OFFLINE — last seen {ago}', { ago: fmtAgo(iso) })
      : t('page.stale.stale', 'STALE — last seen {ago}', { ago: fmtAgo(iso) });
  }
  function showStale(node, stale, iso, offline) {
    if (!node) return;
    node.hidden = !stale;
    if (stale) {
      node.textContent = staleText(iso, offline);
      node.dataset.seen = str(iso);
      node.dataset.offline = offline ? '1' : '';
      node.dataset.staleLabel = '1';
    } else {
      node.dataset.staleLabel = '';
    }
  }

  // ---------- token (write key) ----------
  function getToken() {
    try {
      return localStorage.getItem(KEY_TOKEN) || '';
    } catch (_e) {
      return '';
    }
  }
  function setToken(t) {
    try {
      if (t) localStorage.setItem(KEY_TOKEN, t);
      else localStorage.removeItem(KEY_TOKEN);
    } catch (_e) {
      /* private mode */
    }
  }
  (function takeTokenFromUrl() {
    // A crew member may be handed a link with ?token=…; keep it on this phone, then drop it
    // from the address bar so it does not end up in screenshots or shared links.
    var u, t;
    try {
      u = new URL(location.href);
      t = u.searchParams.get('token');
      if (t) {
        setToken(t);
        u.searchParams.delete('token');
        history.replaceState(null, '', u.pathname + (u.search || '') + u.hash);
      }
    } catch (_e) {
      /* old browser: the key field still works */
    }
  })();
  function authHeaders() {
    var h = { 'Content-Type': 'application/json' };
    var t = getToken();
    if (t) h.Authorization = 'Bearer ' + t;
    return h;
  }
  function showKeyState() {
    setText(
      'key-state',
      getToken() ? t('page.key.saved', 'A write key is saved on this device.') : t('page.key.none', 'No write key saved; reading works without one.'),
    );
  }

  // ---------- sound for new prompts (WebAudio; browsers allow it only after a user gesture) ----------
  var sound = {
    ctx: null,
    enabled: (function () {
      try {
        return localStorage.getItem(KEY_SOUND) !== 'off';
      } catch (_e) {
        return true;
      }
    })(),
    pending: null, // a chime waiting for the first tap
    plays: 0,
  };
  function audioCtx() {
    if (sound.ctx) return sound.ctx;
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    try {
      sound.ctx = new AC();
    } catch (_e) {
      return null;
    }
    return sound.ctx;
  }
  function unlockSound() {
    var ctx = audioCtx();
    if (!ctx) return;
    var go = function () {
      document.body.dataset.sound = ctx.state;
      updateSoundHint();
      if (!sound.pending || ctx.state !== 'running') return;
      var p = sound.pending;
      sound.pending = null;
      chime(p);
    };
    if (ctx.state === 'suspended') ctx.resume().then(go, go);
    else go();
  }
  ['pointerdown', 'keydown', 'touchstart'].forEach(function (ev) {
    document.addEventListener(ev, unlockSound, { capture: true, passive: true });
  });
  function chime(kind) {
    if (!sound.enabled) return;
    var ctx = audioCtx();
    if (!ctx || ctx.state !== 'running') {
      // Autoplay is blocked until someone touches the page; play it then.
      sound.pending = kind;
      updateSoundHint();
      return;
    }
    // Three rising two-tone pips for a real prompt, two soft low pips for an exercise.
    var tones =
      kind === 'exercise'
        ? [
            [440, 0],
            [440, 0.35],
          ]
        : [
            [660, 0],
            [880, 0.18],
            [660, 0.5],
            [880, 0.68],
            [660, 1.0],
            [880, 1.18],
          ];
    var t0 = ctx.currentTime + 0.05;
    tones.forEach(function (tn) {
      var o = ctx.createOscillator();
      var g = ctx.createGain();
      o.type = 'sine';
      o.frequency.value = tn[0];
      g.gain.setValueAtTime(0.0001, t0 + tn[1]);
      g.gain.exponentialRampToValueAtTime(0.35, t0 + tn[1] + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + tn[1] + 0.16);
      o.connect(g);
      g.connect(ctx.destination);
      o.start(t0 + tn[1]);
      o.stop(t0 + tn[1] + 0.18);
    });
    sound.plays++;
    document.body.dataset.soundPlays = String(sound.plays);
    updateSoundHint();
  }
  function updateSoundHint() {
    var hints = document.querySelectorAll('.sound-hint');
    var blocked = sound.enabled && !!sound.pending;
    Array.prototype.forEach.call(hints, function (h) {
      h.hidden = !blocked;
    });
  }
  function showSoundToggle() {
    var b = $('sound-toggle');
    b.textContent = sound.enabled ? t('page.sound.on', 'sound on') : t('page.sound.off', 'sound off');
    b.setAttribute('aria-pressed', sound.enabled ? 'true' : 'false');
  }
  $('sound-toggle').addEventListener('click', function () {
    sound.enabled = !sound.enabled;
    try {
      localStorage.setItem(KEY_SOUND, sound.enabled ? 'on' : 'off');
    } catch (_e) {
      /* ignore */
    }
    if (!sound.enabled) sound.pending = null;
    showSoundToggle();
    updateSoundHint();
  });

  // ---------- fetching ----------
  function getJSON(path) {
    return fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' }).then(function (r) {
      if (r.ok) return r.json();
      var err = new Error(path + ': HTTP ' + r.status);
      err.status = r.status;
      throw err;
    });
  }
  function refreshAll() {
    // an alert event that comes while these are on their way is newer than the alerts in them:
    // those are left out then, and the next status over the stream brings the whole active set
    var alertEventsBefore = state.alertEvents;
    getJSON('/api/status').then(
      function (s) {
        applyStatus(s, state.alertEvents !== alertEventsBefore);
      },
      function () {},
    );
    getJSON('/api/alerts').then(
      function (list) {
        if (state.alertEvents === alertEventsBefore) applyAlertList(list);
      },
      function () {},
    );
    // a prompt event that comes while the list is on its way is newer than the list
    var promptEventsBefore = state.promptEvents;
    getJSON('/api/assembly').then(
      function (list) {
        applyPromptList(list, state.promptEvents === promptEventsBefore);
      },
      function () {},
    );
    refreshSensors();
    refreshFederation();
  }

  // ---------- reserve status ----------
  // alertsOvertaken: a fetched status that an alert event overtook; its alerts are older than the event
  function applyStatus(s, alertsOvertaken) {
    if (!s || typeof s !== 'object' || !s.water) return;
    // An API fetch can answer after a newer SSE status arrived: never step back in time
    // (unless nothing came for a while, e.g. the village restarted on another clock).
    var prev = state.status && parseTime(state.status.at),
      at0 = parseTime(s.at);
    if (prev != null && at0 != null && at0 < prev && Date.now() - state.statusReceived < 5000) return;
    state.status = s;
    state.statusReceived = Date.now();
    // /api/status names the village's zone (the stream's statuses do not): every time is shown in it
    if (s.village && typeof s.village.timezone === 'string' && s.village.timezone !== state.timezone) {
      state.timezone = s.village.timezone;
      rerenderTimes();
    }
    var at = parseTime(s.at);
    if (at != null) state.serverOffset = at - Date.now();
    renderVillage(s);
    renderWater(s.water);
    renderPower(s.power);
    renderCold(s.cold);
    renderWeather(s.weather);
    if (s.sensors)
      setText(
        'sensors-count',
        t('page.sensors.count', '{online} of {total} reporting', { online: s.sensors.online | 0, total: s.sensors.total | 0 }) +
          (s.sensors.rejected_total ? ' · ' + t('page.sensors.refused', '{n} bad messages refused', { n: s.sensors.rejected_total }) : ''),
      );
    if (Array.isArray(s.alerts) && !alertsOvertaken) applyAlertList(s.alerts, true);
    if (Array.isArray(s.assembly))
      s.assembly.forEach(function (p) {
        upsertPrompt(p, false);
      });
    renderPageAge();
  }

  function renderVillage(s) {
    var v = s.village || {};
    setText('village-name', v.name || v.id || 'tend');
    setText(
      'village-meta',
      (v.population ? t('page.village.people', '{n} people', { n: v.population }) : '') +
        (state.timezone ? ' · ' + t('page.village.times_in', 'times in {zone}', { zone: state.timezone }) : ''),
    );
    document.title = t('page.title', '{village} — reserves', { village: v.name || 'tend' });
  }

  function renderWater(w) {
    setLevel('water-status', 'water', w.status);
    setText('water-liters', fmtInt(w.liters));
    setText(
      'water-percent',
      isNum(w.percent)
        ? t('page.water.percent_of', '{percent}% of {capacity} L', { percent: fmtNum(w.percent, 0), capacity: fmtInt(w.capacity_liters) })
        : t('page.water.of', 'of {capacity} L', { capacity: fmtInt(w.capacity_liters) }),
    );
    setText('water-days-current', fmtDays(w.days_left_current));
    renderWaterBasis(w);
    setText(
      'water-draw',
      isNum(w.draw_lph) ? t('page.water.drawing', 'drawing {lph} L/h', { lph: fmtInt(w.draw_lph) }) : t('page.water.use_unknown', 'water use not measured yet'),
    );
    setText('water-days-minimum', fmtDays(w.days_left_minimum));
    renderWaterStale(w);
    var v = state.status && state.status.village;
    // the humanitarian emergency minimum (Sphere), said in plain words
    setText(
      'water-minimum-note',
      v && v.population
        ? t('page.water.minimum_note', 'at the emergency minimum of {lpd} L a person a day', { lpd: fmtNum(v.minimum_water_lpd || 15, 0) })
        : '',
    );
    var box = $('tanks');
    var seen = {};
    (w.tanks || []).forEach(function (t, i) {
      seen[t.id] = true;
      var card = box.querySelector('[data-tank="' + cssId(t.id) + '"]');
      if (!card) {
        card = $('tank-template').content.firstElementChild.cloneNode(true);
        card.dataset.tank = t.id;
        box.appendChild(card);
        loadHistory(t.id);
      }
      if (box.children[i] !== card) box.insertBefore(card, box.children[i] || null);
      renderTank(card, t);
    });
    Array.prototype.slice.call(box.children).forEach(function (c) {
      if (!seen[c.dataset.tank]) box.removeChild(c);
    });
  }
  // Days at current use: its range over the last week, and what it stands on.
  function renderWaterBasis(w) {
    var r = w.days_left_current_range;
    var range = '';
    if (r && isNum(r[0]) && isNum(r[1]))
      range = t('page.water.range', 'range {low}–{high} days (heaviest to lightest day of the last 7)', { low: fmtDays(r[0]), high: fmtDays(r[1]) });
    else if (isNum(w.days_left_current)) range = t('page.water.range_later', 'range after two whole days of readings');
    setText('water-days-range', range);
    var basis = str(w.days_left_basis);
    if (basis && isNum(w.days_left_current) && isNum(w.daily_use_liters))
      basis += ', ' + t('page.water.daily_use', 'about {liters} L a day', { liters: fmtInt(w.daily_use_liters) });
    setText('water-days-basis', basis);
  }
  // Totals that include tanks not heard from are not current: label them and grey the figures.
  // The label names the longest silence and the 1-second tick keeps its "… ago" current.
  function renderWaterStale(w) {
    var stale = 0,
      missing = 0,
      oldest = null;
    (w.tanks || []).forEach(function (t) {
      var sh = state.sensors[t.id];
      var notCurrent = !!t.stale || !!(sh && sh.device_online === false);
      if (t.liters == null) {
        if (notCurrent) missing++;
        return;
      }
      if (!notCurrent) return;
      stale++;
      var seen = parseTime(t.last_seen);
      if (seen != null && (oldest == null || seen < oldest)) oldest = seen;
    });
    var box = $('water-stale');
    var text = missing
      ? missing === 1
        ? t('page.water.leaves_out_one', 'leaves out 1 tank with no reading')
        : t('page.water.leaves_out', 'leaves out {n} tanks with no reading', { n: missing })
      : '';
    var prefix =
      (text ? text + ' · ' : '') +
      (stale === 1 ? t('page.water.includes_one', 'includes 1 tank last heard') : t('page.water.includes', 'includes {n} tanks last heard', { n: stale })) +
      ' ';
    if (stale) {
      box.dataset.prefix = prefix;
      box.dataset.seen = oldest == null ? '' : new Date(oldest).toISOString();
      box.textContent = prefix + fmtAgo(box.dataset.seen);
    } else {
      delete box.dataset.seen;
      box.textContent = text;
    }
    box.hidden = !stale && !missing;
    $('water-figures').classList.toggle('includes-stale', stale > 0);
  }
  function cssId(id) {
    return String(id).replace(/["\\]/g, '\\$&');
  }

  function renderTank(card, t) {
    var sh = state.sensors[t.id];
    var offline = !!(sh && sh.device_online === false);
    var stale = !!t.stale || offline || t.liters == null;
    card.classList.toggle('stale', stale);
    card.dataset.status = t.status || 'unknown';
    setText(card.querySelector('.tank-name'), t.name || t.id);
    var b = card.querySelector('.tank-status');
    setBadge(b, stale ? 'unknown' : t.status, stale ? (offline ? tr('page.word.offline', 'OFFLINE') : tr('page.word.stale', 'STALE')) : levelWord(t.status));
    showStale(card.querySelector('.stale-label'), stale, t.last_seen, offline);
    setText(card.querySelector('.liters'), fmtInt(t.liters));
    setText(card.querySelector('.percent'), isNum(t.percent) ? fmtNum(t.percent, 0) + '%' : '');
    var pct = isNum(t.percent) ? Math.max(0, Math.min(100, t.percent)) : 0;
    card.querySelector('.fill').style.width = pct + '%';
    var bar = card.querySelector('.bar');
    bar.setAttribute('aria-valuenow', String(Math.round(pct)));
    // a meter needs a name for screen readers: which tank, and how full in words
    bar.setAttribute('aria-label', tr('page.tank.fill', '{tank}: how full', { tank: t.name || t.id }));
    bar.setAttribute('aria-valuetext', isNum(t.percent) ? fmtNum(t.percent, 0) + '%' : tr('page.tank.fill_unknown', 'not known'));
    bar.dataset.level = t.status || 'unknown';
    setText(
      card.querySelector('.capacity'),
      tr('page.tank.holds', 'holds {liters} L', { liters: fmtInt(t.capacity_liters) }) +
        (isNum(t.level_mm) ? ' · ' + tr('page.tank.level', 'level {mm} mm', { mm: fmtInt(t.level_mm) }) : ''),
    );
    var seenEl = card.querySelector('.seen');
    seenEl.dataset.seen = str(t.last_seen);
    seenEl.dataset.prefix = tr('page.seen.updated', 'updated') + ' ';
    seenEl.textContent = seenEl.dataset.prefix + fmtAgo(t.last_seen);
    // Live points between history fetches, so the sparkline moves with the figure.
    if (!stale) addLivePoint(t.id, t.last_seen, t.liters);
    drawSpark(card.querySelector('.spark'), t.id, tankScale(t));
  }
  // ---------- sparklines ----------
  // Each sparkline covers the shortest of 1 h, 6 h, 24 h and 7 days that holds all the history of
  // its sensor (the server picks the same for hours=auto), so a new village draws a line across
  // the whole width from its first hour, and the caption says which span it is.
  var SPAN_HOURS = [1, 6, 24, 168];
  function spanHours(pts) {
    var age = pts.length ? serverNow() - pts[0].t : 0;
    var fits = SPAN_HOURS.filter(function (h) {
      return age <= h * 3600000;
    });
    return fits.length ? fits[0] : SPAN_HOURS[SPAN_HOURS.length - 1];
  }
  function spanWord(h) {
    if (h === 1) return tr('page.spark.span_1h', 'last hour');
    if (h === 6) return tr('page.spark.span_6h', 'last 6 h');
    if (h === 24) return tr('page.spark.span_24h', 'last 24 h');
    return tr('page.spark.span_7d', 'last 7 days');
  }
  // Live points between history fetches, so a sparkline moves with its figure: one a minute at
  // most (the newest value wins), so a day stays ~1,440 points.
  function addLivePoint(id, iso, v) {
    if (!isNum(v)) return;
    var ts = parseTime(iso) || serverNow();
    if (!state.history[id]) state.history[id] = [];
    var h = state.history[id];
    var last = h[h.length - 1];
    if (last && last.live && ts - last.b < 60000) {
      if (ts > last.t) {
        last.t = ts;
        last.v = v;
      }
    } else if (!last || ts > last.t) h.push({ t: ts, v: v, live: true, b: ts });
  }

  function loadHistory(id) {
    var now = Date.now();
    if (state.historyFetched[id] && now - state.historyFetched[id] < HISTORY_REFRESH_MS) return;
    state.historyFetched[id] = now;
    if (!state.history[id]) state.history[id] = [];
    getJSON('/api/history?sensor=' + encodeURIComponent(id) + '&hours=auto').then(
      function (r) {
        var pts = (r && Array.isArray(r.points) ? r.points : [])
          .map(function (p) {
            return { t: parseTime(p.ts), v: p.value };
          })
          .filter(function (p) {
            return p.t != null && isNum(p.v);
          });
        pts.sort(function (a, b) {
          return a.t - b.t;
        });
        var live = (state.history[id] || []).filter(function (p) {
          return !pts.length || p.t > pts[pts.length - 1].t;
        });
        state.history[id] = pts.concat(live);
        redrawSpark(id);
      },
      function () {
        state.historyFetched[id] = now - HISTORY_REFRESH_MS + 30000; /* retry in 30 s */
      },
    );
  }
  // After a fetch: draw the sparkline of whatever shows this sensor.
  function redrawSpark(id) {
    var s = state.status;
    if (!s) return;
    var card = $('tanks').querySelector('[data-tank="' + cssId(id) + '"]');
    var tank = (s.water.tanks || []).filter(function (x) {
      return x.id === id;
    })[0];
    if (card && tank) drawSpark(card.querySelector('.spark'), id, tankScale(tank));
    if (id === batterySensor()) drawSpark($('power-spark'), id, BATTERY_SCALE);
    var unitCard = $('cold-units').querySelector('[data-unit="' + cssId(id) + '"]');
    var unit =
      s.cold &&
      (s.cold.units || []).filter(function (x) {
        return x.id === id;
      })[0];
    if (unitCard && unit) drawSpark(unitCard.querySelector('.spark'), id, coldScale(unit));
  }
  // How each figure's sparkline is scaled and its values written.
  function tankScale(tank) {
    return {
      min: 0,
      max: isNum(tank.capacity_liters) && tank.capacity_liters > 0 ? tank.capacity_liters : null,
      fmt: function (v) {
        return fmtInt(v) + ' L';
      },
    };
  }
  var BATTERY_SCALE = {
    min: 0,
    max: 100,
    fmt: function (v) {
      return fmtNum(v, 0) + '%';
    },
  };
  // a cold unit's line is drawn against its safe limit, which shows as a dashed line
  function coldScale(u) {
    return {
      min: null,
      max: null,
      limit: u.safe_max_c,
      fmt: function (v) {
        return fmtNum(v, 1) + ' °C';
      },
    };
  }
  // The power card's sparkline follows the battery's charge: the first battery_soc sensor.
  function batterySensor() {
    var ids = Object.keys(state.sensors).filter(function (id) {
      return state.sensors[id].kind === 'battery_soc';
    });
    return ids.length ? ids[0] : null;
  }

  function powerSpark(p) {
    var id = batterySensor();
    if (!id) return;
    loadHistory(id);
    var sh = state.sensors[id];
    if (!p.stale && sh) addLivePoint(id, sh.last_seen, sh.value);
    drawSpark($('power-spark'), id, BATTERY_SCALE);
  }

  var SVGNS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, cls) {
    var e = document.createElementNS(SVGNS, tag);
    if (cls) e.setAttribute('class', cls);
    return e;
  }
  function drawSpark(box, id, scale) {
    if (!box) return;
    var end = serverNow();
    var week = end - 168 * 3600 * 1000;
    var all = (state.history[id] || []).filter(function (p) {
      return p.t >= week;
    });
    state.history[id] = all;
    var hours = spanHours(all);
    var start = end - hours * 3600 * 1000;
    var pts = all.filter(function (p) {
      return p.t >= start;
    });
    var span = spanWord(hours);
    box.dataset.span = String(hours);
    clear(box);
    if (pts.length < 2) {
      box.appendChild(el('span', 'muted spark-caption', tr('page.spark.too_few_span', '{span}: not enough readings yet', { span: span })));
      return;
    }
    var W = 300,
      H = 48;
    var lo = Infinity,
      hi = -Infinity;
    pts.forEach(function (p) {
      lo = Math.min(lo, p.v);
      hi = Math.max(hi, p.v);
    });
    // the scale's own bounds where it has them (a tank's 0 to full), else the values and the limit
    var min = isNum(scale.min) ? scale.min : Math.min(lo, isNum(scale.limit) ? scale.limit : lo);
    var max = isNum(scale.max) ? scale.max : Math.max(hi, isNum(scale.limit) ? scale.limit : hi);
    var pad = Math.max((max - min) * 0.1, 0.5);
    if (!isNum(scale.min)) min -= pad;
    if (!isNum(scale.max)) max += pad;
    if (!(max > min)) max = min + 1;
    function y(v) {
      return H - 1 - ((Math.max(min, Math.min(max, v)) - min) / (max - min)) * (H - 2);
    }
    var svg = svgEl('svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    var coords = pts.map(function (p) {
      return (((p.t - start) / (end - start)) * W).toFixed(1) + ',' + y(p.v).toFixed(1);
    });
    var area = svgEl('polygon', 'spark-area');
    var first = coords[0].split(',')[0],
      lastX = coords[coords.length - 1].split(',')[0];
    area.setAttribute('points', first + ',' + H + ' ' + coords.join(' ') + ' ' + lastX + ',' + H);
    var line = svgEl('polyline', 'spark-line');
    line.setAttribute('points', coords.join(' '));
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    var words = { span: span, low: scale.fmt(lo), high: scale.fmt(hi) };
    var title = svgEl('title');
    title.textContent = tr('page.spark.title_span', '{span}: lowest {low}, highest {high}', words);
    svg.appendChild(title);
    svg.appendChild(area);
    var limit = svgEl('line', 'spark-limit');
    if (isNum(scale.limit)) {
      limit.setAttribute('x1', '0');
      limit.setAttribute('x2', String(W));
      limit.setAttribute('y1', y(scale.limit).toFixed(1));
      limit.setAttribute('y2', y(scale.limit).toFixed(1));
      limit.setAttribute('vector-effect', 'non-scaling-stroke');
      svg.appendChild(limit);
    }
    svg.appendChild(line);
    box.appendChild(svg);
    var caption = el('span', 'spark-caption muted', span);
    caption.appendChild(el('span', 'spark-range', ' · ' + tr('page.spark.range', 'low {low} · high {high}', words)));
    box.appendChild(caption);
  }

  function renderPower(p) {
    if (!p) return;
    setLevel('power-status', 'power', p.stale ? 'unknown' : p.status);
    $('power').classList.toggle('stale', !!p.stale);
    showStale($('power-stale'), !!p.stale, sensorSeen(['battery_soc', 'load_power', 'battery_voltage']), false);
    setText('power-hours', fmtDays(p.hours_left));
    setText('power-soc', isNum(p.soc_percent) ? fmtNum(p.soc_percent, 0) + '%' : '—');
    powerSpark(p);
    setText(
      'power-stored',
      isNum(p.stored_kwh)
        ? t('page.power.stored', '{kwh} kWh stored', { kwh: fmtNum(p.stored_kwh, 1) }) +
            (isNum(p.usable_kwh) ? ', ' + t('page.power.usable', '{kwh} kWh usable', { kwh: fmtNum(p.usable_kwh, 1) }) : '')
        : '',
    );
    setText('power-net', isNum(p.net_w) ? (p.net_w > 0 ? '+' : p.net_w < 0 ? '−' : '') + fmtWatts(Math.abs(p.net_w)) : '—');
    var word = !isNum(p.net_w) ? 'net' : p.net_w > 0 ? 'charging' : p.net_w < 0 ? 'discharging' : 'balanced';
    var NET_WORDS = {
      net: t('page.power.net', 'net'),
      charging: t('page.power.charging', 'charging'),
      discharging: t('page.power.discharging', 'discharging'),
      balanced: t('page.power.balanced', 'balanced'),
    };
    setText('power-net-word', NET_WORDS[word]);
    $('power-net').dataset.dir = word;
    var flows = [];
    if (isNum(p.solar_w)) flows.push(t('page.power.solar', 'solar {w}', { w: fmtWatts(p.solar_w) }));
    if (isNum(p.load_w)) flows.push(t('page.power.load', 'load {w}', { w: fmtWatts(p.load_w) }));
    if (isNum(p.voltage_v)) flows.push(fmtNum(p.voltage_v, 1) + ' V');
    setText('power-flows', flows.join(' · '));
  }
  // The newest last_seen among sensors of these kinds (for a domain-level stale label).
  function sensorSeen(kinds) {
    var best = null;
    Object.keys(state.sensors).forEach(function (id) {
      var s = state.sensors[id];
      if (kinds.indexOf(s.kind) < 0) return;
      var t = parseTime(s.last_seen);
      if (t != null && (best == null || t > best)) best = t;
    });
    return best == null ? null : new Date(best).toISOString();
  }

  function renderCold(c) {
    if (!c) return;
    setLevel('cold-status', 'cold', c.status);
    var box = $('cold-units');
    clear(box);
    (c.units || []).forEach(function (u) {
      var sh = state.sensors[u.id];
      var offline = !!(sh && sh.device_online === false);
      var stale = !!u.stale || offline || u.temp_c == null;
      var card = el('article', 'cold-unit' + (stale ? ' stale' : ''));
      card.dataset.unit = u.id;
      card.dataset.status = u.status || 'unknown';
      var head = el('header');
      head.appendChild(el('h3', null, u.name || u.id));
      var b = el('span', 'badge');
      setBadge(b, stale ? 'unknown' : u.status, stale ? (offline ? t('page.word.offline', 'OFFLINE') : t('page.word.stale', 'STALE')) : levelWord(u.status));
      head.appendChild(b);
      card.appendChild(head);
      var lab = el('div', 'stale-label');
      showStale(lab, stale, u.last_seen, offline);
      card.appendChild(lab);
      var fig = el('div', 'unit-figures');
      var temp = el('span', 'big temp', isNum(u.temp_c) ? fmtNum(u.temp_c, 1) : '—');
      var above = isNum(u.temp_c) && u.temp_c > u.safe_max_c;
      temp.classList.toggle('above', above && !stale);
      fig.appendChild(temp);
      fig.appendChild(el('span', 'unit', '°C'));
      fig.appendChild(el('span', 'sub', t('page.cold.safe_up_to', 'safe up to {c} °C', { c: fmtNum(u.safe_max_c, 0) })));
      card.appendChild(fig);
      var meta = el('div', 'muted');
      meta.appendChild(
        el(
          'span',
          'above-safe',
          u.minutes_above_safe > 0
            ? t('page.cold.minutes_above', '{n} min above safe', { n: Math.round(u.minutes_above_safe) })
            : t('page.cold.within_safe', 'within safe range'),
        ),
      );
      if (u.door_open === true) meta.appendChild(el('span', 'door-open', ' · ' + t('page.cold.door_open', 'door open')));
      var seen = el('span', 'unit-seen', ' · ');
      seen.appendChild(seenSpan('seen', u.last_seen, t('page.seen.updated', 'updated') + ' '));
      meta.appendChild(seen);
      card.appendChild(meta);
      var spark = el('div', 'spark');
      card.appendChild(spark);
      box.appendChild(card);
      loadHistory(u.id);
      if (!stale) addLivePoint(u.id, u.last_seen, u.temp_c);
      drawSpark(spark, u.id, coldScale(u));
    });
  }

  function trendWords() {
    return {
      'falling very fast': t('page.weather.falling_very_fast', 'falling very fast'),
      'falling fast': t('page.weather.falling_fast', 'falling fast'),
      falling: t('page.weather.falling', 'falling'),
      'rising very fast': t('page.weather.rising_very_fast', 'rising very fast'),
      'rising fast': t('page.weather.rising_fast', 'rising fast'),
      rising: t('page.weather.rising', 'rising'),
      steady: t('page.weather.steady', 'steady'),
    };
  }
  function renderWeather(w) {
    if (!w) return;
    setLevel('weather-status', 'weather', w.stale ? 'unknown' : w.status);
    $('weather').classList.toggle('stale', !!w.stale);
    showStale($('weather-stale'), !!w.stale, sensorSeen(['pressure', 'wind_speed', 'wind_gust']), false);
    setText('weather-pressure', fmtNum(w.pressure_hpa, 0));
    var tnd = w.pressure_tendency_hpa_3h;
    var words = '';
    if (isNum(tnd)) {
      // WMO tendency wording: a fall of 3.6 hPa in 3 h is "quickly", 6 hPa "very quickly".
      words =
        tnd <= -6
          ? 'falling very fast'
          : tnd <= -3.6
            ? 'falling fast'
            : tnd < -0.5
              ? 'falling'
              : tnd >= 6
                ? 'rising very fast'
                : tnd >= 3.6
                  ? 'rising fast'
                  : tnd > 0.5
                    ? 'rising'
                    : 'steady';
      setText('weather-tendency', t('page.weather.tendency', '{hpa} hPa in 3 h, {trend}', { hpa: fmtSigned(tnd, 1), trend: trendWords()[words] }));
    } else {
      setText('weather-tendency', t('page.weather.tendency_unknown', '3-hour tendency not known yet'));
    }
    $('weather-tendency').dataset.trend = words;
    setText('weather-wind', fmtNum(w.wind_ms, 1));
    var gust = isNum(w.gust_ms)
      ? t('page.weather.gusts', 'gusts {ms} m/s', { ms: fmtNum(w.gust_ms, 1) }) +
        (w.gust_ms >= 24.5 ? ' ' + t('page.weather.storm_force', '(storm force)') : w.gust_ms >= 17.2 ? ' ' + t('page.weather.gale_force', '(gale force)') : '')
      : t('page.weather.gusts_unknown', 'gusts —');
    if (isNum(w.rain_mm)) gust += ' · ' + t('page.weather.rain', 'rain {mm} mm', { mm: fmtNum(w.rain_mm, 1) });
    setText('weather-gust', gust);
  }

  // ---------- the shed screen (/?tv) ----------
  // One screen read from across the room: nothing scrolls, so long lists (tanks, cold units,
  // alerts) show one page at a time and turn by themselves, and an open prompt shows only its
  // headline and how many urgent items it lists; the whole prompt stays on the village page.
  var TV = /(^\?|&)tv(=[^&]*)?(&|$)/.test(location.search);
  var TV_TURN_MS = 8000;
  // items per page: what fits at 16:9 beside the figures (style.css, "shed screen mode")
  var TV_LISTS = { tanks: 3, 'cold-units': 2, 'alert-list': 2 };
  var tvTurn = 0;
  function tvPagerWords(id, first, last, total) {
    var slots = { first: first, last: last, total: total };
    if (first === last) {
      if (id === 'tanks') return t('page.tv.pager_tank', 'tank {first} of {total}', slots);
      if (id === 'cold-units') return t('page.tv.pager_unit', 'unit {first} of {total}', slots);
      return t('page.tv.pager_alert', 'alert {first} of {total}', slots);
    }
    if (id === 'tanks') return t('page.tv.pager_tanks', 'tanks {first}–{last} of {total}', slots);
    if (id === 'cold-units') return t('page.tv.pager_units', 'units {first}–{last} of {total}', slots);
    return t('page.tv.pager_alerts', 'alerts {first}–{last} of {total}', slots);
  }
  // Show the page of a list that this turn falls on, and say which page it is.
  function tvPage(box) {
    var size = TV_LISTS[box.id];
    var n = box.children.length;
    var pages = Math.max(1, Math.ceil(n / size));
    var page = tvTurn % pages;
    Array.prototype.forEach.call(box.children, function (item, i) {
      item.classList.toggle('tv-off', Math.floor(i / size) !== page);
    });
    var pager = $(box.id + '-pager');
    if (!pager) return;
    pager.hidden = pages < 2;
    pager.textContent = pages < 2 ? '' : tvPagerWords(box.id, page * size + 1, Math.min(n, (page + 1) * size), n);
  }
  function tvPages() {
    Object.keys(TV_LISTS).forEach(function (id) {
      tvPage($(id));
    });
  }
  function startTv() {
    document.documentElement.classList.add('tv'); // the root font size scales with the screen
    document.body.classList.add('tv');
    Object.keys(TV_LISTS).forEach(function (id) {
      var box = $(id);
      var pager = el('p', 'tv-pager');
      pager.id = id + '-pager';
      pager.hidden = true;
      box.parentNode.insertBefore(pager, box);
      // the lists are redrawn with each status: page them again whenever their items change
      new MutationObserver(function () {
        tvPage(box);
      }).observe(box, { childList: true });
    });
    setInterval(function () {
      tvTurn++;
      tvPages();
    }, TV_TURN_MS);
    tvPages();
  }
  // The open prompt on the shed screen: a real one before an exercise, the newest first.
  function renderTvPrompt() {
    var box = $('tv-prompt');
    var open = Object.keys(promptEls)
      .map(function (id) {
        return state.prompts[id];
      })
      .filter(function (p) {
        return p && p.status === 'open';
      })
      .sort(function (a, b) {
        return (a.exercise ? 1 : 0) - (b.exercise ? 1 : 0) || str(b.opened_at).localeCompare(str(a.opened_at));
      });
    box.hidden = !TV || !open.length;
    clear(box);
    if (box.hidden) return;
    var p = open[0];
    var n = (p.urgent || []).length;
    box.classList.toggle('exercise', !!p.exercise);
    box.dataset.prompt = p.id;
    box.appendChild(
      el('span', 'tv-prompt-kind', p.exercise ? t('page.tv.prompt_exercise', 'EXERCISE · Assembly prompt') : t('page.tv.prompt', 'Assembly prompt')),
    );
    box.appendChild(el('strong', 'tv-prompt-headline', p.headline));
    box.appendChild(
      el(
        'span',
        'tv-prompt-urgent',
        n === 0
          ? t('page.tv.urgent_none', 'nothing urgent listed')
          : n === 1
            ? t('page.tv.urgent_one', '1 urgent item')
            : t('page.tv.urgent_many', '{n} urgent items', { n: n }),
      ),
    );
    if (open.length > 1) box.appendChild(el('span', 'tv-prompt-more', t('page.tv.more_prompts', '{n} more open', { n: open.length - 1 })));
  }

  // ---------- sensors and device links ----------
  var KIND_UNITS = {
    tank_distance: 'L',
    tank_pressure: 'L',
    tank_level: 'L',
    battery_soc: '%',
    battery_voltage: 'V',
    load_power: 'W',
    solar_power: 'W',
    cold_temp: '°C',
    door_open: '',
    pressure: 'hPa',
    wind_speed: 'm/s',
    wind_gust: 'm/s',
    rain: 'mm',
  };
  function sensorValue(s) {
    if (!isNum(s.value)) return '—';
    if (s.kind === 'door_open') return s.value ? t('page.sensor.open', 'door open') : t('page.sensor.closed', 'door closed');
    var digits = s.kind === 'battery_voltage' || s.kind === 'cold_temp' || s.kind === 'wind_speed' || s.kind === 'wind_gust' ? 1 : 0;
    var u = KIND_UNITS[s.kind] || '';
    return (digits ? fmtNum(s.value, digits) : fmtInt(s.value)) + (u ? ' ' + u : '');
  }
  // answers come back in any order: one asked before the newest one applied is older than it
  var sensorsAsked = 0,
    sensorsShown = 0;
  function refreshSensors() {
    var asked = ++sensorsAsked;
    getJSON('/api/sensors').then(
      function (r) {
        if (asked < sensorsShown) return;
        sensorsShown = asked;
        var list = r && Array.isArray(r.sensors) ? r.sensors : [];
        state.sensors = {};
        list.forEach(function (s) {
          if (s && s.id != null) state.sensors[s.id] = s;
        });
        renderSensors(list);
        renderManual(list);
        renderLinks(r && Array.isArray(r.links) ? r.links : []);
        renderStorageMark(r && Array.isArray(r.links) ? r.links : []);
        if (state.status) {
          renderWater(state.status.water);
          renderCold(state.status.cold);
        }
      },
      function () {},
    );
  }
  function renderSensors(list) {
    // "Login refused 2 min ago: wrong username or secret (topic)"; the server's detail as the tooltip
    function refusalSpan(r) {
      var ago = { ago: fmtAgo(r.at) };
      var what = {
        login: t('page.refusal.login', 'Login refused {ago}', ago),
        subscribe: t('page.refusal.subscribe', 'Subscribe refused {ago}', ago),
        publish: t('page.refusal.publish', 'Publish refused {ago}', ago),
      }[r.action];
      var reasons = {
        bad_login: t('page.refusal.bad_login', 'wrong username or secret'),
        login_backoff: t('page.refusal.login_backoff', 'too many failed logins, waiting before the next try'),
        client_id_not_own: t('page.refusal.client_id_not_own', 'the client id is not the device id or the device id and “-…”'),
        client_id_too_long: t('page.refusal.client_id_too_long', 'the client id is too long'),
        client_id_empty_persistent: t('page.refusal.client_id_empty_persistent', 'an empty client id with a persistent session'),
        publish_not_allowed: t('page.refusal.publish_not_allowed', 'the topic is not this device’s'),
        publish_violation: t('page.refusal.publish_violation', 'a malformed topic'),
        subscribe_not_allowed: t('page.refusal.subscribe_not_allowed', 'the topic is not one this device reads'),
        qos2_duplicate: t('page.refusal.qos2_duplicate', 'a repeated QoS 2 message, taken once'),
      };
      var why = reasons[r.reason] || str(r.reason);
      var span = el('span', 'sensor-refusal', (what || str(r.action)) + ': ' + why + (r.topic ? ' (' + str(r.topic) + ')' : ''));
      span.title = str(r.why);
      span.dataset.reason = str(r.reason);
      return span;
    }
    var ul = $('sensor-list');
    clear(ul);
    list.forEach(function (s) {
      var offline = s.device_online === false;
      var stale = !!s.stale || offline;
      var li = el('li', 'sensor' + (stale ? ' stale' : ''));
      li.dataset.sensor = s.id;
      li.appendChild(el('span', 'sensor-name', s.name || s.id));
      li.appendChild(el('span', 'sensor-value', sensorValue(s)));
      var lab;
      if (stale) {
        lab = el('span', 'stale-label');
        showStale(lab, true, s.last_seen, offline);
        li.appendChild(lab);
      } else {
        li.appendChild(seenSpan('seen', s.last_seen));
      }
      // the broker's last refusal of this sensor's device: an installer's wrong secret, village
      // or prefix shows here instead of only in the log
      if (s.last_refusal && s.last_refusal.action) li.appendChild(refusalSpan(s.last_refusal));
      ul.appendChild(li);
    });
  }
  // ---------- readings by hand: a dipstick or a meter, entered by the crew (POST /api/readings) ----------
  var KEY_READER = 'tend.reader';
  /** what a person enters: a tank's level in mm (a dipstick), otherwise the sensor's own unit */
  function manualUnit(s) {
    if (!s) return '';
    if (/^tank_/.test(s.kind)) return t('crew.unit.level', 'level in mm');
    if (s.kind === 'door_open') return t('crew.unit.door', '1 open, 0 closed');
    return KIND_UNITS[s.kind] || '';
  }
  function renderManual(list) {
    var sel = $('manual-sensor');
    if (!sel) return;
    var chosen = sel.value;
    var sorted = list.slice().sort(function (a, b) {
      return (b.manual ? 1 : 0) - (a.manual ? 1 : 0);
    });
    clear(sel);
    sorted.forEach(function (s) {
      var o = el('option', null, (s.name || s.id) + (s.manual ? ' · ' + t('crew.by_hand', 'read by hand') : ''));
      o.value = s.id;
      sel.appendChild(o);
    });
    if (chosen && state.sensors[chosen]) sel.value = chosen;
    setText('manual-unit', manualUnit(state.sensors[sel.value]));
    // the sensors list marks a value a person entered
    list.forEach(function (s) {
      if (s.source !== 'manual') return;
      var li = document.querySelector('#sensor-list li[data-sensor="' + cssId(s.id) + '"]');
      if (li) li.appendChild(el('span', 'manual-mark', t('crew.by_hand', 'read by hand')));
    });
    var ul = $('manual-list');
    clear(ul);
    var read = list
      .filter(function (s) {
        return s.last_manual && s.last_manual.at;
      })
      .sort(function (a, b) {
        return parseTime(b.last_manual.at) - parseTime(a.last_manual.at);
      });
    if (!read.length) ul.appendChild(el('li', 'muted', t('crew.none', 'No readings by hand yet.')));
    read.forEach(function (s) {
      var m = s.last_manual;
      var li = el('li', 'manual' + (m.flag ? ' flagged' : ''));
      li.dataset.sensor = s.id;
      var tank = /^tank_/.test(s.kind);
      var what = tank
        ? t('crew.entry.tank', '{level} mm, {litres} L', { level: fmtInt(m.entered), litres: fmtInt(m.value) })
        : fmtNum(m.entered, Math.abs(m.entered) < 100 ? 1 : 0) + (KIND_UNITS[s.kind] ? ' ' + KIND_UNITS[s.kind] : '');
      li.appendChild(el('span', 'sensor-name', s.name || s.id));
      li.appendChild(el('span', 'manual-value', what));
      li.appendChild(
        el(
          'span',
          'manual-who muted',
          m.by
            ? t('crew.entry.by', 'read by hand by {by}, {time}', { by: m.by, time: fmtClock(m.at) })
            : t('crew.entry.when', 'read by hand, {time}', { time: fmtClock(m.at) }),
        ),
      );
      if (m.note) li.appendChild(el('span', 'manual-note', m.note));
      if (m.flag) li.appendChild(el('span', 'manual-flag', m.flag));
      ul.appendChild(li);
    });
  }
  (function setupManualForm() {
    var form = $('manual-form');
    if (!form) return;
    var msg = $('manual-state');
    try {
      $('manual-by').value = localStorage.getItem(KEY_READER) || localStorage.getItem(KEY_AUTHOR) || '';
    } catch (_e) {
      /* private mode */
    }
    $('manual-sensor').addEventListener('change', function () {
      setText('manual-unit', manualUnit(state.sensors[$('manual-sensor').value]));
    });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var sensor = $('manual-sensor').value;
      var typed = $('manual-value').value.trim();
      // "1,5" is a decimal comma; anything else that is not a number goes as typed and tend says why
      var n = Number(/^-?\d+,\d+$/.test(typed) ? typed.replace(',', '.') : typed);
      var by = $('manual-by').value.trim();
      var note = $('manual-note').value.trim();
      if (!getToken()) {
        msg.textContent = t('crew.form.no_key', 'Entering readings needs the village write key; it can be saved under “This device”.');
        return;
      }
      try {
        localStorage.setItem(KEY_READER, by);
      } catch (_e) {
        /* ignore */
      }
      msg.textContent = t('crew.form.sending', 'Sending…');
      fetch('/api/readings', {
        method: 'POST',
        headers: authHeaders(),
        body: JSON.stringify({ sensor: sensor, value: typed !== '' && isNum(n) ? n : typed, by: by, note: note }),
      }).then(
        function (r) {
          return r.json().then(
            function (j) {
              if (r.status === 401) msg.textContent = t('crew.form.key_refused', 'The write key was not accepted.');
              else if (!r.ok) msg.textContent = t('crew.form.refused', 'Not saved: {reason}', { reason: (j && j.error) || 'HTTP ' + r.status });
              else {
                $('manual-value').value = '';
                $('manual-note').value = '';
                msg.textContent = j.flag ? t('crew.form.saved_flagged', 'Saved, and flagged: {flag}', { flag: j.flag }) : t('crew.form.saved', 'Saved.');
                refreshSensors();
              }
            },
            function () {
              msg.textContent = t('crew.form.refused', 'Not saved: {reason}', { reason: 'HTTP ' + r.status });
            },
          );
        },
        function () {
          msg.textContent = t('crew.form.offline', 'Not sent: no connection to tend.');
        },
      );
    });
  })();
  function linkWords() {
    return {
      connected: t('page.link.connected', 'connected'),
      listening: t('page.link.listening', 'listening'),
      connecting: t('page.link.connecting', 'connecting'),
      reconnecting: t('page.link.reconnecting', 'reconnecting'),
      error: t('page.link.error', 'error'),
      disconnected: t('page.link.disconnected', 'disconnected'),
    };
  }
  function renderLinks(links) {
    var ul = $('link-list');
    clear(ul);
    if (!links.length) {
      ul.appendChild(el('li', 'muted', t('page.link.none', 'no device links reported')));
      return;
    }
    links.forEach(function (l) {
      var li = el('li', 'link');
      li.dataset.link = str(l.name);
      li.dataset.state = str(l.state);
      li.appendChild(el('span', 'dot'));
      li.appendChild(el('span', 'link-name', str(l.name) + (l.kind ? ' (' + l.kind + ')' : '')));
      li.appendChild(el('span', 'link-word', linkWords()[l.state] || str(l.state)));
      // a `since` at the epoch means "since start, time unknown": leave it out
      if (l.since && (parseTime(l.since) || 0) > 946684800000) li.appendChild(seenSpan('seen muted', l.since, t('page.seen.since', 'since') + ' '));
      if (l.last_error && l.state !== 'connected' && l.state !== 'listening') li.appendChild(el('span', 'link-error', l.last_error));
      ul.appendChild(li);
    });
  }

  // The storage link's notice is what the page must not hide: writes failing (disk full), running
  // in memory, or a damaged database moved aside at start, with the readings held only in memory.
  function renderStorageMark(links) {
    var mark = $('storage-mark');
    var text = '';
    links.forEach(function (l) {
      if (l && l.kind === 'storage' && l.name === 'storage' && l.notice) text = t('page.storage.mark', 'Storage: {notice}', { notice: str(l.notice) });
    });
    setText(mark, text);
    mark.hidden = !text;
  }

  // ---------- alerts ----------
  function applyAlertList(list, fromStatus) {
    if (!Array.isArray(list)) return;
    if (!fromStatus) state.alerts = {};
    var keep = {};
    list.forEach(function (a) {
      if (a && a.id != null) {
        state.alerts[a.id] = a;
        keep[a.id] = true;
      }
    });
    if (fromStatus) {
      // the status carries the active set: anything not in it is no longer active
      Object.keys(state.alerts).forEach(function (id) {
        if (!keep[id]) delete state.alerts[id];
      });
    }
    renderAlerts();
  }
  function applyAlert(a) {
    if (!a || a.id == null) return;
    if (a.state === 'resolved') delete state.alerts[a.id];
    else state.alerts[a.id] = a;
    renderAlerts();
  }
  // an alert's severity in the status words (watch and critical are the same words as a status)
  var SEVERITY_ICONS = { watch: 'watch', warning: 'strained', critical: 'critical' };
  function severityWord(s) {
    if (s === 'warning') return t('page.severity.warning', 'WARNING');
    return LEVEL_WORDS[s] || str(s).toUpperCase();
  }
  var ALERT_KINDS = {
    water_low: 1,
    tank_drop: 1,
    night_flow: 1,
    battery_low: 1,
    power_unstable: 1,
    power_out: 1,
    cold_above_safe: 1,
    sensor_offline: 1,
    sensor_stuck: 1,
    storm: 1,
  };
  function alertKindWord(rule) {
    switch (rule) {
      case 'water_low':
        return t('page.kind.water_low', 'Water running low');
      case 'tank_drop':
        return t('page.kind.tank_drop', 'Tank losing water');
      case 'night_flow':
        return t('page.kind.night_flow', 'Water used at night: a slow leak?');
      case 'battery_low':
        return t('page.kind.battery_low', 'Battery low');
      case 'power_unstable':
        return t('page.kind.power_unstable', 'Power unsteady');
      case 'power_out':
        return t('page.kind.power_out', 'Power cut');
      case 'cold_above_safe':
        return t('page.kind.cold_above_safe', 'Cold storage too warm');
      case 'sensor_offline':
        return t('page.kind.sensor_offline', 'Sensor not reporting');
      case 'sensor_stuck':
        return t('page.kind.sensor_stuck', 'Sensor stuck');
      case 'storm':
        return t('page.kind.storm', 'Storm');
      default:
        return t('page.kind.other', 'Alert');
    }
  }
  function sevRank(s) {
    // biome-ignore lint/suspicious/noPrototypeBuiltins: Object.hasOwn is ES2022, newer than the old phone browsers this page serves
    return Object.prototype.hasOwnProperty.call(SEVERITY_RANK, s) ? SEVERITY_RANK[s] : 9;
  }
  function renderAlerts() {
    var list = Object.keys(state.alerts)
      .map(function (k) {
        return state.alerts[k];
      })
      .filter(function (a) {
        return a.state !== 'resolved';
      })
      .sort(function (a, b) {
        return sevRank(a.severity) - sevRank(b.severity) || str(a.started_at).localeCompare(str(b.started_at));
      });
    var ul = $('alert-list');
    clear(ul);
    $('alerts').hidden = list.length === 0;
    list.forEach(function (a) {
      var li = el('li', 'alert');
      li.dataset.severity = str(a.severity);
      li.dataset.state = str(a.state);
      li.dataset.alert = str(a.id);
      var badge = el('span', 'badge');
      setBadge(
        badge,
        SEVERITY_ICONS[a.severity] || 'unknown',
        (a.state === 'pending' ? t('page.alert.checking', 'CHECKING') + ' ' : '') + severityWord(a.severity),
      );
      li.appendChild(badge);
      // what kind of trouble, as a picture with its name (the title beside it says the rest)
      li.appendChild(icon(a.rule in ALERT_KINDS ? a.rule : 'unknown', alertKindWord(a.rule)));
      li.appendChild(el('strong', 'alert-title', a.title));
      if (a.detail) li.appendChild(el('span', 'alert-detail', a.detail));
      li.appendChild(el('span', 'muted', t('page.alert.since', 'since {time}', { time: fmtClock(a.reopened_at || a.fired_at || a.started_at) })));
      ul.appendChild(li);
    });
  }

  // ---------- assembly prompts ----------
  var promptEls = {}; // id -> { root, body, form, banner }
  function promptKey(p) {
    return [p.version | 0, str(p.updated_at), p.notes_total != null ? p.notes_total : (p.notes || []).length];
  }
  function newer(a, b) {
    // a at least as new as b
    var ka = promptKey(a),
      kb = promptKey(b),
      i;
    for (i = 0; i < ka.length; i++) {
      if (ka[i] > kb[i]) return true;
      if (ka[i] < kb[i]) return false;
    }
    return true;
  }
  // authoritative (the default): the whole list as the server has it now. A fetched list that a
  // prompt event overtook is not: it only adds what is newer, and closes nothing the event opened.
  function applyPromptList(list, authoritative) {
    if (!Array.isArray(list)) return;
    if (authoritative === undefined) authoritative = true;
    var ids = {};
    list.forEach(function (p) {
      if (p && p.id != null) {
        ids[p.id] = true;
        upsertPrompt(p, authoritative);
      }
    });
    if (!authoritative) return;
    // a prompt we hold open but the server no longer lists has closed
    Object.keys(state.prompts).forEach(function (id) {
      if (!ids[id] && state.prompts[id].status === 'open') {
        state.prompts[id].status = 'closed';
        renderPrompt(state.prompts[id]);
      }
    });
  }
  function upsertPrompt(p, authoritative) {
    if (!p || p.id == null) return;
    var old = state.prompts[p.id];
    if (old && !authoritative && !newer(p, old)) return;
    // the status carries the open prompts every second: redraw only when something changed,
    // so a reader's place and selection in the prompt are not disturbed
    if (old && promptEls[p.id] && JSON.stringify(old) === JSON.stringify(p)) return;
    state.prompts[p.id] = p;
    var isNewOpen = p.status === 'open' && (!old || old.status !== 'open') && !promptEls[p.id];
    renderPrompt(p);
    if (isNewOpen && state.booted) chime(p.exercise ? 'exercise' : 'prompt');
  }

  function updatePill() {
    var open = Object.keys(promptEls).map(function (id) {
      return state.prompts[id];
    });
    var pill = $('prompt-pill');
    pill.hidden = open.length === 0;
    document.body.classList.toggle('has-prompt', open.length > 0);
    var allDrill =
      open.length > 0 &&
      open.every(function (p) {
        return p && p.exercise;
      });
    pill.classList.toggle('exercise', allDrill);
    pill.textContent = allDrill ? t('page.pill.exercise', 'EXERCISE PROMPT OPEN') : t('page.pill.prompt', 'PROMPT OPEN');
    if (open.length) pill.href = '#prompt-' + encodeURIComponent(open[0].id);
    renderTvPrompt();
  }

  function renderPrompt(p) {
    renderPromptOnly(p);
    updatePill();
  }
  function renderPromptOnly(p) {
    var els = promptEls[p.id],
      done;
    if (p.status !== 'open') {
      if (els) {
        els.root.remove();
        els.banner.remove();
        delete promptEls[p.id];
        done = el('div', 'banner closed' + (p.exercise ? ' exercise' : ''));
        done.dataset.closed = str(p.id);
        done.appendChild(el('strong', null, (p.exercise ? t('page.word.exercise', 'EXERCISE') + ' · ' : '') + t('page.prompt.closed', 'Prompt closed')));
        done.appendChild(
          el('span', null, ' ' + str(p.headline) + (p.closed_at ? ' ' + t('page.prompt.closed_at', '(closed {time})', { time: fmtClock(p.closed_at) }) : '')),
        );
        done.appendChild(document.createTextNode(' '));
        done.appendChild(recordLink(p));
        $('banners').appendChild(done);
        setTimeout(function () {
          done.remove();
        }, 60000);
      }
      return;
    }
    if (!els) els = promptEls[p.id] = buildPrompt(p);
    // Banner
    var bn = els.banner;
    bn.classList.toggle('exercise', !!p.exercise);
    setText(bn.querySelector('.banner-kind'), (p.exercise ? t('page.word.exercise', 'EXERCISE') + ' · ' : '') + t('page.prompt.kind', 'Assembly prompt'));
    setText(bn.querySelector('.banner-headline'), p.headline);
    var ends = bn.querySelector('.banner-ends');
    var endsText = p.exercise && p.exercise_ends_at ? t('page.prompt.exercise_ends', 'Exercise ends at {time}', { time: fmtClock(p.exercise_ends_at) }) : '';
    setText(ends, endsText);
    ends.hidden = !endsText;
    bn.querySelector('.drill-end').hidden = !p.exercise;
    // Body
    els.root.classList.toggle('exercise', !!p.exercise);
    els.root.dataset.version = String(p.version | 0);
    fillPromptBody(els.body, p);
  }

  function buildPrompt(p) {
    var banner = el('div', 'banner');
    banner.dataset.prompt = p.id;
    banner.setAttribute('role', 'alert');
    banner.appendChild(el('span', 'banner-kind'));
    banner.appendChild(el('strong', 'banner-headline'));
    // an exercise says when it ends, and whoever holds the write key can end it earlier
    var ends = el('span', 'banner-ends');
    ends.hidden = true;
    banner.appendChild(ends);
    var a = tEl('a', 'banner-link', 'page.prompt.read', 'Read the prompt');
    a.href = '#prompt-' + encodeURIComponent(p.id);
    banner.appendChild(a);
    var endBtn = tEl('button', 'drill-end', 'page.drill.end', 'End the exercise');
    endBtn.type = 'button';
    endBtn.hidden = true;
    var endState = el('span', 'drill-end-state');
    endState.setAttribute('aria-live', 'polite');
    endBtn.addEventListener('click', function () {
      endExercise(endBtn, endState);
    });
    banner.appendChild(endBtn);
    banner.appendChild(endState);
    var hint = tEl('span', 'sound-hint', 'page.sound.hint', 'Sound plays after the first tap on this page.');
    hint.hidden = true;
    banner.appendChild(hint);
    $('banners').appendChild(banner);

    var root = el('article', 'card prompt');
    root.id = 'prompt-' + encodeURIComponent(p.id);
    root.dataset.prompt = p.id;
    var body = el('div', 'prompt-body');
    root.appendChild(body);

    // The note form is built once so an update never wipes what someone is typing.
    var form = el('form', 'note-form');
    form.setAttribute('autocomplete', 'off');
    form.appendChild(tEl('h3', null, 'page.note.title', 'Add a note'));
    var lblA = el('label');
    lblA.appendChild(tEl('span', null, 'page.note.author', 'Your name'));
    var author = el('input');
    author.name = 'author';
    author.maxLength = 80;
    try {
      author.value = localStorage.getItem(KEY_AUTHOR) || '';
    } catch (_e) {
      /* ignore */
    }
    lblA.appendChild(author);
    var lblT = el('label');
    lblT.appendChild(tEl('span', null, 'page.note.text', 'Note'));
    var text = el('textarea');
    text.name = 'text';
    text.rows = 3;
    text.maxLength = 2000;
    lblT.appendChild(text);
    var btn = tEl('button', null, 'page.note.add', 'Add note');
    btn.type = 'submit';
    var msg = el('span', 'note-state muted');
    msg.setAttribute('aria-live', 'polite');
    form.appendChild(lblA);
    form.appendChild(lblT);
    form.appendChild(btn);
    form.appendChild(msg);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var t = text.value.trim();
      var who = author.value.trim();
      if (!t) {
        msg.textContent = tr('page.note.empty', 'The note is empty.');
        return;
      }
      if (!getToken()) {
        msg.textContent = tr('page.note.needs_key', 'Adding notes needs the village write key; it can be saved under "This device".');
        return;
      }
      try {
        localStorage.setItem(KEY_AUTHOR, who);
      } catch (_e) {
        /* ignore */
      }
      btn.disabled = true;
      msg.textContent = tr('page.send.sending', 'Sending…');
      fetch('/api/assembly/' + encodeURIComponent(p.id) + '/notes', {
        method: 'POST',
        headers: authHeaders(),
        body: JSON.stringify({ author: who, text: t }),
      }).then(
        function (r) {
          btn.disabled = false;
          if (r.status === 401 || r.status === 403) {
            msg.textContent = tr('page.send.key_refused', 'The write key was not accepted.');
            return;
          }
          if (!r.ok) {
            msg.textContent = tr('page.send.not_saved', 'Not saved (HTTP {status}).', { status: r.status });
            return;
          }
          text.value = '';
          msg.textContent = tr('page.note.added', 'Note added.');
          return r.json().then(
            function (j) {
              if (j && j.id === p.id && Array.isArray(j.notes)) upsertPrompt(j, false);
              else if (j && j.prompt && j.prompt.id === p.id) upsertPrompt(j.prompt, false);
            },
            function () {},
          );
        },
        function () {
          btn.disabled = false;
          msg.textContent = tr('page.send.offline', 'Not sent: no connection to tend.');
        },
      );
    });
    root.appendChild(buildDecisionForm(p));
    root.appendChild(form);
    $('prompts').appendChild(root);
    return { root: root, body: body, form: form, banner: banner };
  }

  function listSection(title, items, key, ordered) {
    var sec = el('section', 'plist plist-' + key);
    sec.dataset.list = key;
    sec.appendChild(el('h3', null, title));
    var ul = el(ordered ? 'ol' : 'ul');
    if (!items || !items.length) ul.appendChild(el('li', 'muted empty', t('page.prompt.nothing_listed', 'nothing listed')));
    else
      items.forEach(function (it) {
        ul.appendChild(el('li', null, typeof it === 'string' ? it : JSON.stringify(it)));
      });
    sec.appendChild(ul);
    return sec;
  }

  function fillPromptBody(body, p) {
    clear(body);
    if (p.exercise)
      body.appendChild(
        el(
          'div',
          'exercise-mark',
          t('page.prompt.exercise_mark', 'EXERCISE — a drill, not a real event') +
            (p.exercise_ends_at ? '; ' + t('page.prompt.exercise_mark_ends', 'it ends at {time}', { time: fmtClock(p.exercise_ends_at) }) : ''),
        ),
      );
    body.appendChild(el('h2', 'prompt-headline', p.headline));
    body.appendChild(
      el(
        'p',
        'muted prompt-meta',
        t('page.prompt.meta', 'Opened {opened} · updated {updated} · version {version}', {
          opened: fmtClock(p.opened_at),
          updated: fmtClock(p.updated_at),
          version: p.version | 0,
        }),
      ),
    );

    var sit = el('section', 'plist plist-situation');
    sit.dataset.list = 'situation';
    sit.appendChild(el('h3', null, t('page.prompt.situation', 'What the sensors show')));
    var sl = el('ul', 'situation');
    (p.situation || []).forEach(function (s) {
      var li = el('li');
      li.appendChild(el('time', 'at', fmtClock(s.at)));
      li.appendChild(el('span', null, ' ' + str(s.text)));
      sl.appendChild(li);
    });
    if (!sl.children.length) sl.appendChild(el('li', 'muted empty', t('page.prompt.nothing_listed', 'nothing listed')));
    sit.appendChild(sl);
    body.appendChild(sit);

    var grid = el('div', 'plists');
    grid.appendChild(listSection(t('page.prompt.damaged', 'Damaged'), p.damaged, 'damaged'));
    grid.appendChild(listSection(t('page.prompt.working', 'Still working'), p.working, 'working'));
    grid.appendChild(listSection(t('page.prompt.urgent', 'Urgent (runs out within a day)'), p.urgent, 'urgent'));
    grid.appendChild(listSection(t('page.prompt.can_wait', 'Can wait'), p.can_wait, 'can_wait'));
    body.appendChild(grid);

    var r = p.reserves || {};
    var res = el('section', 'plist reserves');
    res.dataset.list = 'reserves';
    res.appendChild(el('h3', null, t('page.prompt.reserves', 'Reserves')));
    var figs = el('div', 'figures');
    [
      [fmtDays(r.water_days_current), t('page.figure.water_days_current', 'days of water at current use')],
      [fmtDays(r.water_days_minimum), t('page.figure.water_days_minimum', 'days of water at minimum use')],
      [fmtDays(r.power_hours_left), t('page.figure.power_hours', 'hours of power')],
    ].forEach(function (f) {
      var d = el('div', 'figure');
      d.appendChild(el('span', 'big', f[0]));
      d.appendChild(el('span', 'unit', f[1]));
      figs.appendChild(d);
    });
    res.appendChild(figs);
    var risk = r.cold_units_at_risk || [];
    res.appendChild(
      el(
        'p',
        null,
        risk.length
          ? t('page.prompt.cold_at_risk', 'Cold storage at risk: {units}', { units: risk.join(', ') })
          : t('page.prompt.no_cold_at_risk', 'No cold storage at risk.'),
      ),
    );
    body.appendChild(res);
    fillAssemblyTool(body, p);

    var nb = el('section', 'plist plist-neighbours');
    nb.dataset.list = 'neighbours';
    nb.appendChild(el('h3', null, t('page.prompt.neighbours', 'What neighbours offer')));
    var nl = el('ul');
    (p.neighbours || []).forEach(function (n) {
      var li = el('li');
      li.appendChild(el('strong', null, str(n.village)));
      li.appendChild(el('span', null, ': ' + str(n.offer)));
      if (n.heard_at) li.appendChild(el('span', 'muted', ' (' + fmtClock(n.heard_at) + ')'));
      nl.appendChild(li);
    });
    if (!nl.children.length) nl.appendChild(el('li', 'muted empty', t('page.prompt.no_offers', 'no offers heard yet')));
    nb.appendChild(nl);
    body.appendChild(nb);

    body.appendChild(listSection(t('page.prompt.questions', 'Questions for the assembly'), p.questions, 'questions', true));

    var ns = el('section', 'plist plist-notes');
    ns.dataset.list = 'notes';
    ns.appendChild(el('h3', null, t('page.prompt.notes', 'Notes')));
    var ul = el('ul', 'notes');
    (p.notes || []).forEach(function (n) {
      var li = el('li', 'note');
      li.appendChild(el('strong', 'note-author', n.author || t('page.note.anonymous', 'anonymous')));
      li.appendChild(el('time', 'muted', ' ' + fmtClock(n.at)));
      li.appendChild(el('p', 'note-text', n.text));
      ul.appendChild(li);
    });
    if (!ul.children.length) ul.appendChild(el('li', 'muted empty', t('page.prompt.no_notes', 'no notes yet')));
    ns.appendChild(ul);
    // a busy prompt carries only its latest notes; all of them are at /api/assembly/<id>/notes
    var shown = (p.notes || []).length;
    var more, all;
    if (p.notes_total > shown) {
      more = el(
        'p',
        'muted notes-more',
        t('page.prompt.notes_more', 'Showing the latest {shown} of {total} notes.', { shown: shown, total: p.notes_total }) + ' ',
      );
      all = el('a', null, t('page.prompt.all_notes', 'All notes'));
      all.href = '/api/assembly/' + encodeURIComponent(p.id) + '/notes';
      more.appendChild(all);
      ns.appendChild(more);
    }
    body.appendChild(ns);
  }

  // ---------- the assembly's own tool: options, plan, decisions, volunteers, the record ----------
  // the name typed in a note form, else the one this phone kept
  function whoAmI() {
    var typed = Array.prototype.map
      .call(document.querySelectorAll('.note-form input[name="author"]'), function (i) {
        return i.value.trim();
      })
      .filter(Boolean)[0];
    if (typed) return typed;
    try {
      return (localStorage.getItem(KEY_AUTHOR) || '').trim();
    } catch (_e) {
      return '';
    }
  }
  function planWords(plan) {
    var parts = [];
    if (plan && isNum(plan.water_lpd)) parts.push(t('assembly.plan.water_words', '{lpd} L a person a day', { lpd: plan.water_lpd }));
    if (plan && isNum(plan.load_w)) parts.push(t('assembly.plan.load_words', 'a load of {w}', { w: fmtWatts(plan.load_w) }));
    return parts.join(', ');
  }
  function fillAssemblyTool(body, p) {
    var o = p.options;
    if (o && o.texts && o.texts.length) body.appendChild(listSection(t('assembly.options.title', 'Options before the assembly, as facts'), o.texts, 'options'));

    var pl = p.plan,
      ps,
      figs,
      fig;
    if (pl) {
      ps = el('section', 'plist plist-plan');
      ps.dataset.list = 'plan';
      ps.appendChild(el('h3', null, t('assembly.plan.title', 'The plan agreed, beside what happens')));
      figs = el('div', 'figures');
      fig = function (big, unit, key) {
        var d = el('div', 'figure');
        d.dataset.figure = key;
        d.appendChild(el('span', 'big', big));
        d.appendChild(el('span', 'unit', unit));
        figs.appendChild(d);
      };
      if (isNum(pl.water_lpd)) {
        fig(fmtNum(pl.water_lpd, 0) + ' L', t('assembly.plan.water_agreed', 'agreed a person a day'), 'water_agreed');
        fig(isNum(pl.actual_lpd) ? fmtNum(pl.actual_lpd, 0) + ' L' : '—', t('assembly.plan.water_actual', 'used a person a day (last 24 h)'), 'water_actual');
        fig(fmtDays(pl.days_left_plan), t('assembly.plan.days', 'days of water at the plan'), 'days_plan');
      }
      if (isNum(pl.load_w)) {
        fig(fmtWatts(pl.load_w), t('assembly.plan.load_agreed', 'load agreed'), 'load_agreed');
        fig(fmtWatts(pl.actual_load_w), t('assembly.plan.load_actual', 'load (smoothed)'), 'load_actual');
        fig(fmtDays(pl.hours_left_plan), t('assembly.plan.hours', 'hours of power at the plan'), 'hours_plan');
      }
      ps.appendChild(figs);
      ps.appendChild(
        el('p', 'muted', t('assembly.plan.since', 'Agreed {time}. tend follows the plan with figures; the assembly decides.', { time: fmtClock(pl.since) })),
      );
      body.appendChild(ps);
    }

    var ds = el('section', 'plist plist-decisions');
    ds.dataset.list = 'decisions';
    ds.appendChild(el('h3', null, t('assembly.decisions.title', 'What the assembly agreed')));
    var dl = el('ul', 'decisions');
    (p.decisions || []).forEach(function (d) {
      var li = el('li', 'decision');
      li.dataset.decision = str(d.id);
      li.appendChild(el('time', 'muted', fmtClock(d.at) + ' '));
      if (d.by) li.appendChild(el('strong', null, d.by + ': '));
      li.appendChild(el('span', 'decision-text', d.text));
      var words = d.plan ? planWords(d.plan) || t('assembly.decisions.plan_ended', 'the plan ended') : '';
      if (words) li.appendChild(el('span', 'muted', ' — ' + t('assembly.decisions.plan', 'plan: {plan}', { plan: words })));
      dl.appendChild(li);
    });
    if (!dl.children.length) dl.appendChild(el('li', 'muted empty', t('assembly.decisions.none', 'nothing recorded yet')));
    ds.appendChild(dl);
    body.appendChild(ds);

    var is = el('section', 'plist plist-items');
    is.dataset.list = 'items';
    is.appendChild(el('h3', null, t('assembly.items.title', 'Who is looking at what')));
    var il = el('ul', 'items');
    var me = whoAmI().toLowerCase();
    (p.items || []).forEach(function (it) {
      var li = el('li', 'item');
      li.dataset.item = str(it.id);
      li.appendChild(el('strong', 'item-name', it.name.charAt(0).toUpperCase() + it.name.slice(1)));
      var holders = it.holders || [];
      li.appendChild(
        el(
          'span',
          'item-holders',
          holders.length
            ? ' — ' +
                holders
                  .map(function (h) {
                    return t('assembly.items.holder', '{by} since {time}', { by: h.by, time: fmtClock(h.since) });
                  })
                  .join(', ')
            : ' — ' + t('assembly.items.nobody', 'nobody has said yet'),
        ),
      );
      var mine = holders.some(function (h) {
        return h.by.toLowerCase() === me && me !== '';
      });
      var btn = el(
        'button',
        mine ? 'item-release' : 'item-take',
        mine ? t('assembly.items.release', 'I have let it go') : t('assembly.items.take', "I'm looking at it"),
      );
      btn.type = 'button';
      var msg = el('span', 'item-state muted');
      msg.setAttribute('aria-live', 'polite');
      btn.addEventListener('click', function () {
        postHold(p, it, mine ? 'release' : 'take', btn, msg);
      });
      li.appendChild(btn);
      li.appendChild(msg);
      il.appendChild(li);
    });
    if (!il.children.length) il.appendChild(el('li', 'muted empty', t('assembly.items.none', 'nothing damaged or urgent listed')));
    is.appendChild(il);
    body.appendChild(is);
  }
  function postHold(p, it, what, btn, msg) {
    var by = whoAmI();
    if (!by) {
      msg.textContent = ' ' + t('assembly.items.need_name', 'Your name goes in the form below ("Your name") first.');
      return;
    }
    if (!getToken()) {
      msg.textContent = ' ' + t('assembly.need_key', 'This needs the village write key; it can be saved under "This device".');
      return;
    }
    btn.disabled = true;
    fetch('/api/assembly/' + encodeURIComponent(p.id) + '/items/' + encodeURIComponent(it.id) + '/' + what, {
      method: 'POST',
      headers: authHeaders(),
      body: JSON.stringify({ by: by }),
    }).then(
      function (r) {
        btn.disabled = false;
        if (!r.ok) {
          msg.textContent = ' ' + t('assembly.not_saved', 'Not saved (HTTP {status}).', { status: r.status });
          return;
        }
        return r.json().then(function (j) {
          if (j && j.id === p.id) upsertPrompt(j, false);
        });
      },
      function () {
        btn.disabled = false;
        msg.textContent = ' ' + t('assembly.no_connection', 'Not sent: no connection to tend.');
      },
    );
  }
  // built once per prompt, like the note form, so an update never wipes what someone is typing
  function buildDecisionForm(p) {
    var form = el('form', 'decision-form');
    form.setAttribute('autocomplete', 'off');
    form.appendChild(el('h3', null, t('assembly.decisions.form_title', 'Record what the assembly agreed')));
    var lblT = el('label', null, t('assembly.decisions.text', 'What was agreed'));
    var text = el('textarea');
    text.name = 'decision';
    text.rows = 2;
    text.maxLength = 1000;
    lblT.appendChild(text);
    var lblW = el('label', null, t('assembly.decisions.water', 'Litres a person a day, if the agreement has a figure'));
    var water = el('input');
    water.name = 'water_lpd';
    water.type = 'number';
    water.min = '1';
    water.max = '500';
    water.step = '0.5';
    lblW.appendChild(water);
    var lblL = el('label', null, t('assembly.decisions.load', 'Load in watts, if the agreement has a figure'));
    var load = el('input');
    load.name = 'load_w';
    load.type = 'number';
    load.min = '1';
    load.step = '10';
    lblL.appendChild(load);
    var btn = el('button', null, t('assembly.decisions.submit', 'Record the decision'));
    btn.type = 'submit';
    var msg = el('span', 'decision-state muted');
    msg.setAttribute('aria-live', 'polite');
    [lblT, lblW, lblL, btn, msg].forEach(function (x) {
      form.appendChild(x);
    });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var what = text.value.trim();
      if (!what) {
        msg.textContent = t('assembly.decisions.empty', 'The decision is empty.');
        return;
      }
      if (!getToken()) {
        msg.textContent = t('assembly.need_key', 'This needs the village write key; it can be saved under "This device".');
        return;
      }
      var body = { text: what };
      var by = whoAmI();
      if (by) body.by = by;
      var plan = {};
      if (water.value !== '') plan.water_lpd = Number(water.value);
      if (load.value !== '') plan.load_w = Number(load.value);
      if (plan.water_lpd !== undefined || plan.load_w !== undefined) body.plan = plan;
      btn.disabled = true;
      msg.textContent = t('assembly.sending', 'Sending…');
      fetch('/api/assembly/' + encodeURIComponent(p.id) + '/decisions', { method: 'POST', headers: authHeaders(), body: JSON.stringify(body) }).then(
        function (r) {
          btn.disabled = false;
          if (!r.ok) {
            return r.json().then(
              function (j) {
                msg.textContent = t('assembly.not_saved_why', 'Not saved: {why}', { why: (j && j.error) || 'HTTP ' + r.status });
              },
              function () {
                msg.textContent = t('assembly.not_saved', 'Not saved (HTTP {status}).', { status: r.status });
              },
            );
          }
          text.value = water.value = load.value = '';
          msg.textContent = t('assembly.decisions.saved', 'Decision recorded.');
          return r.json().then(function (j) {
            if (j && j.prompt && j.prompt.id === p.id) upsertPrompt(j.prompt, false);
          });
        },
        function () {
          btn.disabled = false;
          msg.textContent = t('assembly.no_connection', 'Not sent: no connection to tend.');
        },
      );
    });
    return form;
  }
  // the ended prompt links to its record, read here on the page (and as Markdown)
  function recordLink(p) {
    var a = el('a', 'record-link', t('assembly.record.read', 'Read the record'));
    a.href = '/api/assembly/' + encodeURIComponent(p.id) + '/record?format=md';
    a.addEventListener('click', function (ev) {
      ev.preventDefault();
      getJSON('/api/assembly/' + encodeURIComponent(p.id) + '/record').then(showRecord, function () {
        window.location.href = a.href;
      });
    });
    return a;
  }
  function showRecord(r) {
    var old = document.querySelector('article.record[data-record="' + cssId(r.prompt_id) + '"]');
    if (old) old.remove();
    var card = el('article', 'card record');
    card.dataset.record = r.prompt_id;
    card.id = 'record-' + encodeURIComponent(r.prompt_id);
    card.appendChild(el('h2', null, t('assembly.record.title', 'Record: {headline}', { headline: r.headline })));
    card.appendChild(
      el(
        'p',
        'muted',
        t('assembly.record.span', 'Opened {opened} · ended {closed}', { opened: fmtClock(r.opened_at), closed: r.closed_at ? fmtClock(r.closed_at) : '—' }),
      ),
    );
    var f = r.figures || {};
    function lowest(x) {
      return x && isNum(x.lowest) ? fmtDays(x.lowest) : '—';
    }
    card.appendChild(
      listSection(
        t('assembly.record.figures', 'Key figures at their lowest'),
        [
          t('assembly.record.water_min', '{n} days of water at minimum use', { n: lowest(f.water_days_minimum) }),
          t('assembly.record.power', '{n} hours of stored power', { n: lowest(f.power_hours_left) }),
        ],
        'record-figures',
      ),
    );
    card.appendChild(
      listSection(
        t('assembly.record.alerts', 'Alerts'),
        (r.alerts || []).map(function (a) {
          return fmtClock(a.fired_at) + ' ' + a.title;
        }),
        'record-alerts',
      ),
    );
    card.appendChild(
      listSection(
        t('assembly.decisions.title', 'What the assembly agreed'),
        (r.decisions || []).map(function (d) {
          return fmtClock(d.at) + (d.by ? ' ' + d.by + ':' : '') + ' ' + d.text;
        }),
        'record-decisions',
      ),
    );
    card.appendChild(
      listSection(
        t('assembly.items.title', 'Who is looking at what'),
        (r.items || []).map(function (h) {
          return h.by + ': ' + h.name + ', ' + fmtClock(h.since) + ' – ' + (h.until ? fmtClock(h.until) : '…');
        }),
        'record-items',
      ),
    );
    card.appendChild(
      listSection(
        t('page.prompt.notes', 'Notes'),
        (r.notes || []).map(function (n) {
          return fmtClock(n.at) + ' ' + n.author + ': ' + n.text;
        }),
        'record-notes',
      ),
    );
    card.appendChild(listSection(t('assembly.record.questions', 'Questions for the recovery'), r.questions || [], 'record-questions', true));
    var md = el('a', null, t('assembly.record.markdown', 'The record as Markdown'));
    md.href = '/api/assembly/' + encodeURIComponent(r.prompt_id) + '/record?format=md';
    card.appendChild(md);
    $('prompts').appendChild(card);
    card.scrollIntoView();
  }

  // ---------- federation ----------
  function refreshFederation() {
    getJSON('/api/federation').then(renderFederation, function (err) {
      setBadge($('fed-state'), 'unknown', err && err.status === 404 ? t('page.fed.off', 'OFF') : levelWord('unknown'));
      clear($('fed-body'));
      var p = $('fed-empty');
      p.hidden = false;
      p.textContent =
        err && err.status === 404
          ? t('page.fed.not_in_link', 'This village is not in a federation link.')
          : t('page.fed.unavailable', 'Federation status not available.');
    });
  }
  function renderFederation(f) {
    f = f || {};
    var b = $('fed-state');
    var list0 = Array.isArray(f.neighbours) ? f.neighbours : [];
    var off = !f.connected && !list0.length && !(f.own && f.own.configured);
    setBadge(
      b,
      off ? 'unknown' : f.connected ? 'ok' : 'watch',
      off ? t('page.fed.off', 'OFF') : f.connected ? t('page.fed.linked', 'LINKED') : t('page.fed.not_linked', 'NOT LINKED'),
    );
    var box = $('fed-body');
    clear(box);
    var list = Array.isArray(f.neighbours) ? f.neighbours : [];
    var p = $('fed-empty');
    p.hidden = list.length > 0;
    p.textContent = off
      ? t('page.fed.not_in', 'This village is not in a federation.')
      : f.connected
        ? t('page.fed.none_yet', 'No neighbour has reported yet.')
        : t('page.fed.no_link', 'Not linked to the federation; no neighbour news.');
    list.forEach(function (n) {
      var card = el('article', 'neighbour');
      card.dataset.village = str(n.village);
      var heard = parseTime(n.heard_at);
      var offline = n.link === 'offline';
      var old = n.stale === true || offline || heard == null || heard < serverNow() - NEIGHBOUR_OLD_MS;
      if (old) card.classList.add('stale');
      var head = el('header');
      head.appendChild(el('h3', null, str(n.name || n.village)));
      if (n.incident_open) setBadge(head.appendChild(el('span', 'badge')), 'strained', t('page.fed.incident_open', 'INCIDENT OPEN'));
      var lab;
      if (old) {
        lab = el('span', 'stale-label');
        showStale(lab, true, n.heard_at, offline);
        head.appendChild(lab);
      } else {
        head.appendChild(seenSpan('seen muted', n.heard_at, t('page.seen.heard', 'heard') + ' '));
      }
      card.appendChild(head);
      var figs = el('div', 'nb-figures');
      [
        [fmtDays(n.water_days_current), t('page.figure.water_days_current', 'days of water at current use')],
        [fmtDays(n.water_days_minimum), t('page.figure.water_days_minimum', 'days of water at minimum use')],
        [fmtDays(n.power_hours_left), t('page.figure.power_hours', 'hours of power')],
      ].forEach(function (x) {
        var d = el('div', 'nb-figure');
        d.appendChild(el('span', 'nb-num', x[0]));
        d.appendChild(el('span', 'unit', x[1]));
        figs.appendChild(d);
      });
      card.appendChild(figs);
      var offer = el('p', 'offer');
      offer.appendChild(el('span', 'muted', t('page.fed.can_share', 'Can share:') + ' '));
      offer.appendChild(el('span', 'offer-text', n.offer ? n.offer : t('page.fed.nothing_reported', 'nothing reported')));
      var risk = Array.isArray(n.cold_at_risk) ? n.cold_at_risk.length : n.cold_at_risk;
      if (risk) offer.appendChild(el('span', 'muted', ' · ' + t('page.fed.cold_at_risk', 'cold storage at risk: {n}', { n: risk })));
      card.appendChild(offer);
      // beside the offer, what the neighbour has said it needs (its own words, as text)
      var need = el('p', 'need');
      need.appendChild(el('span', 'muted', t('page.fed.need.needs', 'Needs:') + ' '));
      need.appendChild(el('span', 'need-text', n.need && n.need.text ? needWords(n.need) : t('page.fed.need.nothing', 'nothing reported')));
      card.appendChild(need);
      box.appendChild(card);
    });
    renderMatches(box, Array.isArray(f.matches) ? f.matches : []);
    renderOwnOffer(f.own);
    renderOwnNeed(f.own);
  }

  // Our own offer to the federation (POST /api/federation/offer, token).
  function renderOwnOffer(own) {
    var form = $('offer-form');
    form.hidden = !(own && own.configured);
    if (form.hidden) return;
    // what an edited offer counts, so a neighbour's need can be matched with it
    var figs = $('offer-figures');
    var textRow = $('offer-text').parentNode;
    if (!figs) {
      figs = figureRow('offer-');
      figs.id = 'offer-figures';
      textRow.parentNode.insertBefore(figs, textRow.nextSibling);
    }
    setText(
      'offer-now',
      own.withdrawn
        ? t('page.offer.nothing', 'Now offering nothing.')
        : own.offer
          ? t('page.offer.now', 'Now offered: {offer}', { offer: own.offer }) +
            (own.offer_source === 'computed'
              ? ' ' + t('page.offer.computed', '(worked out from our reserves)')
              : own.offer_source === 'config'
                ? ' ' + t('page.offer.from_config', '(from the config)')
                : '')
          : t('page.offer.none', 'No offer published yet.'),
    );
  }
  function postOffer(body) {
    if (!getToken()) {
      setText('offer-state', t('page.offer.needs_key', 'Changing the offer needs the village write key.'));
      return;
    }
    if (typeof body.offer === 'string') readFigures('offer-', body);
    setText('offer-state', t('page.send.sending', 'Sending…'));
    fetch('/api/federation/offer', { method: 'POST', headers: authHeaders(), body: JSON.stringify(body) }).then(
      function (r) {
        if (r.status === 401 || r.status === 403) {
          setText('offer-state', t('page.send.key_refused', 'The write key was not accepted.'));
          return;
        }
        if (!r.ok) {
          setText('offer-state', t('page.send.not_saved', 'Not saved (HTTP {status}).', { status: r.status }));
          return;
        }
        setText('offer-state', t('page.offer.saved', 'Saved; neighbours hear it with the next update.'));
        $('offer-text').value = '';
        clearFigures('offer-');
        return r.json().then(renderFederation, function () {});
      },
      function () {
        setText('offer-state', t('page.send.offline', 'Not sent: no connection to tend.'));
      },
    );
  }
  $('offer-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = $('offer-text').value.trim();
    if (!t) {
      setText('offer-state', tr('page.offer.empty', 'The offer is empty.'));
      return;
    }
    postOffer({ offer: t });
  });
  $('offer-auto').addEventListener('click', function () {
    postOffer({ offer: null });
  });
  $('offer-withdraw').addEventListener('click', function () {
    postOffer({ withdrawn: true });
  });

  // ---------- needs beside offers (POST /api/federation/need, token) ----------
  // [field, its label (in the viewer's language when drawn), input step]
  var NEED_FIGURES = [
    [
      'water_liters',
      function () {
        return t('page.fed.need.water', 'Water (litres)');
      },
      1,
    ],
    [
      'power_kwh',
      function () {
        return t('page.fed.need.power', 'Stored power (kWh)');
      },
      0.1,
    ],
    [
      'freezer_liters',
      function () {
        return t('page.fed.need.freezer', 'Freezer space (litres)');
      },
      1,
    ],
    [
      'hands',
      function () {
        return t('page.fed.need.hands', 'Hands (people)');
      },
      1,
    ],
  ];
  // "1,500 L of water and the help of 4 people"
  function quantityWords(q) {
    q = q || {};
    var parts = [];
    if (q.water_liters > 0) parts.push(t('page.fed.amount.water', '{n} L of water', { n: fmtInt(q.water_liters) }));
    if (q.power_kwh > 0) parts.push(t('page.fed.amount.power', '{n} kWh of stored power', { n: fmtNum(q.power_kwh, q.power_kwh % 1 ? 1 : 0) }));
    if (q.freezer_liters > 0) parts.push(t('page.fed.amount.freezer', '{n} L of freezer space', { n: fmtInt(q.freezer_liters) }));
    if (q.hands > 0)
      parts.push(
        q.hands === 1 ? t('page.fed.amount.hands_one', 'the help of 1 person') : t('page.fed.amount.hands', 'the help of {n} people', { n: fmtInt(q.hands) }),
      );
    return parts.length > 1
      ? t('page.fed.amount.list', '{first} and {last}', { first: parts.slice(0, -1).join(', '), last: parts[parts.length - 1] })
      : parts.join('');
  }
  // number inputs for what an offer or a need counts (ids prefix + water_liters, …)
  function figureRow(prefix) {
    var figs = el('div', 'row need-figures');
    NEED_FIGURES.forEach(function (f) {
      var l = el('label', 'need-figure');
      l.appendChild(el('span', null, f[1]()));
      var i = el('input');
      i.type = 'number';
      i.min = '0';
      i.step = String(f[2]);
      i.id = prefix + f[0];
      i.name = f[0];
      l.appendChild(i);
      figs.appendChild(l);
    });
    return figs;
  }
  function readFigures(prefix, body) {
    NEED_FIGURES.forEach(function (f) {
      var i = $(prefix + f[0]);
      if (i && i.value !== '') body[f[0]] = Number(i.value);
    });
    return body;
  }
  function clearFigures(prefix) {
    NEED_FIGURES.forEach(function (f) {
      var i = $(prefix + f[0]);
      if (i) i.value = '';
    });
  }
  function needWords(need) {
    var figures = quantityWords(need.quantities);
    return str(need.text) + (figures ? ' (' + figures + ')' : '');
  }
  // where a neighbour's offer could meet our need, or ours theirs: facts, worded by tend
  function renderMatches(box, matches) {
    if (!matches.length) return;
    var sec = el('section', 'fed-matches');
    sec.appendChild(el('h3', null, t('page.fed.match.title', 'Where an offer could meet a need')));
    var ul = el('ul');
    matches.forEach(function (m) {
      var li = el('li', m.stale ? 'stale' : null, str(m.text));
      ul.appendChild(li);
    });
    sec.appendChild(ul);
    box.appendChild(sec);
  }
  // the need form is built here, once, beside the offer form
  function needForm() {
    var form = $('need-form');
    if (form) return form;
    form = el('form', 'offer-form need-form');
    form.id = 'need-form';
    form.setAttribute('autocomplete', 'off');
    form.hidden = true;
    var label = el('label', null, t('page.fed.need.label', 'What we need from neighbours'));
    label.htmlFor = 'need-text';
    form.appendChild(label);
    form.appendChild(el('p', 'muted')).id = 'need-now';
    var row = el('div', 'row');
    var input = el('input');
    input.id = 'need-text';
    input.name = 'need';
    input.maxLength = 500;
    input.placeholder = t('page.fed.need.placeholder', 'e.g. drinking water for the school, people for pipe repair');
    row.appendChild(input);
    form.appendChild(row);
    form.appendChild(figureRow('need-'));
    var buttons = el('div', 'row');
    var send = el('button', null, t('page.fed.need.send', 'Share the need'));
    send.type = 'submit';
    var clearBtn = el('button', 'small', t('page.fed.need.clear', 'We need nothing now'));
    clearBtn.type = 'button';
    clearBtn.id = 'need-clear';
    buttons.appendChild(send);
    buttons.appendChild(clearBtn);
    form.appendChild(buttons);
    var st = el('span', 'muted');
    st.id = 'need-state';
    st.setAttribute('aria-live', 'polite');
    form.appendChild(st);
    var offerForm = $('offer-form');
    offerForm.parentNode.insertBefore(form, offerForm.nextSibling);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = input.value.trim();
      if (!text) {
        setText('need-state', t('page.fed.need.empty', 'The need has no words yet: what is it for?'));
        return;
      }
      postNeed(readFigures('need-', { need: text }));
    });
    clearBtn.addEventListener('click', function () {
      postNeed({ need: null });
    });
    return form;
  }
  function renderOwnNeed(own) {
    var form = needForm();
    form.hidden = !(own && own.configured);
    if (form.hidden) return;
    setText(
      'need-now',
      own.need && own.need.text
        ? t('page.fed.need.now', 'Now saying we need: {need}', { need: needWords(own.need) })
        : t('page.fed.need.none', 'No need published.'),
    );
  }
  function postNeed(body) {
    if (!getToken()) {
      setText('need-state', t('page.fed.need.needs_key', 'Changing the need takes the village write key.'));
      return;
    }
    setText('need-state', t('page.send.sending', 'Sending…'));
    fetch('/api/federation/need', { method: 'POST', headers: authHeaders(), body: JSON.stringify(body) }).then(
      function (r) {
        if (r.status === 401 || r.status === 403) {
          setText('need-state', t('page.send.key_refused', 'The write key was not accepted.'));
          return;
        }
        if (!r.ok) {
          // the server says why (too long, a figure out of range)
          return r.json().then(
            function (e) {
              setText('need-state', t('page.fed.need.refused', 'Not saved: {reason}', { reason: str(e && e.error) }));
            },
            function () {
              setText('need-state', t('page.send.not_saved', 'Not saved (HTTP {status}).', { status: r.status }));
            },
          );
        }
        setText('need-state', t('page.offer.saved', 'Saved; neighbours hear it with the next update.'));
        $('need-text').value = '';
        clearFigures('need-');
        return r.json().then(renderFederation, function () {});
      },
      function () {
        setText('need-state', t('page.send.offline', 'Not sent: no connection to tend.'));
      },
    );
  }

  // ---------- the page's own live link (SSE) ----------
  var es = null,
    retryMs = 1000,
    retryTimer = null;
  function setLink(s, detail) {
    if (state.link !== s) {
      // a short history of link changes (page console and tests can see a brief outage)
      state.linkLog.push({ at: Date.now(), state: s });
      if (state.linkLog.length > 50) state.linkLog.shift();
    }
    state.link = s;
    var e = $('link-state');
    e.className = 'link-state ' + s;
    e.dataset.state = s;
    setText(
      'link-text',
      s === 'live'
        ? t('page.live.live', 'live')
        : s === 'connecting'
          ? t('page.live.connecting', 'connecting…')
          : t('page.live.reconnecting', 'reconnecting…') + (detail ? ' ' + detail : ''),
    );
    renderPageAge();
  }
  function onEvent(kind, fn) {
    es.addEventListener(kind, function (ev) {
      state.lastEvent = Date.now();
      if (state.link !== 'live') setLink('live');
      var data;
      try {
        data = JSON.parse(ev.data);
      } catch (_e) {
        state.badEvents++;
        return;
      }
      fn(data);
    });
  }
  function connect() {
    if (retryTimer) {
      clearTimeout(retryTimer);
      retryTimer = null;
    }
    if (es) {
      try {
        es.close();
      } catch (_e) {
        /* ignore */
      }
    }
    if (state.link !== 'reconnecting') setLink('connecting');
    es = new EventSource('/api/stream');
    es.onopen = function () {
      retryMs = 1000;
      state.lastEvent = Date.now();
      setLink('live');
      refreshAll(); // catch up on anything missed while the link was down
    };
    es.onerror = function () {
      setLink('reconnecting');
      if (es.readyState === 2) {
        // CLOSED: the browser gave up; retry ourselves, growing and capped
        retryTimer = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    };
    onEvent('status', applyStatus);
    onEvent('alert', function (a) {
      state.alertEvents++;
      applyAlert(a);
    });
    onEvent('assembly', function (p) {
      state.promptEvents++;
      if (Array.isArray(p)) applyPromptList(p);
      else upsertPrompt(p, false);
    });
    es.onmessage = function () {
      state.lastEvent = Date.now();
    };
  }

  function renderPageAge() {
    var bar = $('page-stale');
    var old = state.statusReceived && state.link !== 'live' && Date.now() - state.statusReceived > PAGE_OLD_MS;
    document.body.classList.toggle('page-old', !!old);
    bar.hidden = !old;
    if (old)
      bar.textContent = t('page.live.old', 'No live link to tend — the figures below are from {time} ({ago}) and may be out of date.', {
        time: fmtClock(state.status && state.status.at),
        ago: fmtAgo(state.status && state.status.at),
      });
    if (state.status) setText('updated', t('page.live.as_of', 'as of {time}', { time: fmtClock(state.status.at) }));
  }

  // ---------- the 1-second tick: keep every "… ago" current ----------
  function tick() {
    var nodes = document.querySelectorAll('[data-seen]'),
      i,
      n;
    for (i = 0; i < nodes.length; i++) {
      n = nodes[i];
      if (n.dataset.staleLabel === '1') n.textContent = staleText(n.dataset.seen, n.dataset.offline === '1');
      else if (n.dataset.staleLabel === '')
        continue; // hidden label
      else n.textContent = (n.dataset.prefix || '') + fmtAgo(n.dataset.seen);
    }
    renderPageAge();
    if (state.link === 'live' && state.lastEvent && Date.now() - state.lastEvent > QUIET_RECONNECT_MS) {
      setLink('reconnecting', t('page.live.quiet', '(quiet)'));
      connect();
    }
  }

  // The page's way to end an exercise early: the all-clear follows and the banner says so.
  function endExercise(btn, msg) {
    if (!getToken()) {
      setText(msg, t('page.drill.end_needs_key', 'Ending the exercise needs the village write key (under "This device").'));
      return;
    }
    btn.disabled = true;
    setText(msg, t('page.drill.ending', 'Ending…'));
    fetch('/api/drill/end', { method: 'POST', headers: authHeaders(), body: '{}' }).then(
      function (r) {
        btn.disabled = false;
        setText(
          msg,
          r.ok
            ? t('page.drill.ended', 'Exercise ended.')
            : r.status === 401 || r.status === 403
              ? t('page.send.key_refused', 'The write key was not accepted.')
              : r.status === 409
                ? t('page.drill.already_ended', 'The exercise has already ended.')
                : t('page.drill.not_ended', 'Not ended (HTTP {status}).', { status: r.status }),
        );
      },
      function () {
        btn.disabled = false;
        setText(msg, t('page.send.offline', 'Not sent: no connection to tend.'));
      },
    );
  }
  // The zone became known (or changed): redraw what shows a time.
  function rerenderTimes() {
    renderAlerts();
    Object.keys(promptEls).forEach(function (id) {
      if (state.prompts[id]) renderPromptOnly(state.prompts[id]);
    });
  }

  // ---------- settings: write key and drill ----------
  $('write-key').value = getToken();
  showKeyState();
  $('key-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    setToken($('write-key').value.trim());
    showKeyState();
  });
  var drillArmed = 0;
  $('drill-button').addEventListener('click', function () {
    var btn = $('drill-button');
    if (!getToken()) {
      setText('drill-state', t('page.drill.needs_key', 'Starting a drill needs the village write key.'));
      return;
    }
    if (!drillArmed || Date.now() - drillArmed > 6000) {
      drillArmed = Date.now();
      btn.textContent = t('page.drill.confirm', 'Start the storm exercise now? Tap again to confirm');
      setTimeout(function () {
        if (drillArmed && Date.now() - drillArmed >= 6000) {
          drillArmed = 0;
          btn.textContent = t('page.drill.start', 'Start a storm exercise');
        }
      }, 6100);
      return;
    }
    drillArmed = 0;
    btn.textContent = t('page.drill.start', 'Start a storm exercise');
    btn.disabled = true;
    fetch('/api/drill', { method: 'POST', headers: authHeaders(), body: '{}' }).then(
      function (r) {
        btn.disabled = false;
        if (r.ok) {
          return r.json().then(
            function (j) {
              var ends = j && j.ends_at ? fmtClock(j.ends_at) : '';
              setText(
                'drill-state',
                ends
                  ? t('page.drill.started_until', 'Storm exercise started; its prompt is marked EXERCISE and it ends at {time}.', { time: ends })
                  : t('page.drill.started', 'Storm exercise started; its prompt is marked EXERCISE.'),
              );
            },
            function () {
              setText('drill-state', t('page.drill.started', 'Storm exercise started; its prompt is marked EXERCISE.'));
            },
          );
        }
        setText(
          'drill-state',
          r.status === 401 || r.status === 403
            ? t('page.send.key_refused', 'The write key was not accepted.')
            : r.status === 409
              ? t('page.drill.running', 'An exercise is already running.')
              : t('page.drill.not_started', 'Not started (HTTP {status}).', { status: r.status }),
        );
      },
      function () {
        btn.disabled = false;
        setText('drill-state', t('page.send.offline', 'Not sent: no connection to tend.'));
      },
    );
  });

  // ---------- the page's language: the village's, or this viewer's choice ----------
  state.languages = []; // [{tag, name}] from /languages
  function knownLanguage(tag) {
    var base = str(tag).toLowerCase().split('-')[0];
    return state.languages.some(function (l) {
      return l.tag === base;
    })
      ? base
      : '';
  }
  function fillLanguagePick() {
    var pick = $('language-select');
    if (!pick) return;
    clear(pick);
    state.languages.forEach(function (l) {
      var o = el('option', null, str(l.name || l.tag));
      o.value = str(l.tag);
      o.lang = str(l.tag);
      pick.appendChild(o);
    });
    pick.value = state.lang;
    pick.parentNode.hidden = state.languages.length < 2;
  }
  // Everything drawn from data is drawn again in the new words; texts in index.html and elements
  // built once follow through translateStatic(). Other parts of the page may listen for
  // 'tend:language' on document to do the same.
  function rerenderAll() {
    showSoundToggle();
    showKeyState();
    // the same status drawn again: its age and the clock offset stay as they were
    var s = state.status,
      received = state.statusReceived,
      offset = state.serverOffset;
    if (s) {
      state.status = null;
      applyStatus(s);
      state.statusReceived = received;
      state.serverOffset = offset;
    }
    rerenderTimes();
    updatePill();
    setLink(state.link);
    refreshSensors();
    refreshFederation();
    try {
      document.dispatchEvent(new CustomEvent('tend:language', { detail: { lang: state.lang } }));
    } catch (_e) {
      /* very old browser */
    }
  }
  function switchLanguage(tag) {
    return loadWords(tag).then(function (words) {
      useLanguage(tag, words);
      rerenderAll();
    });
  }
  if ($('language-select'))
    $('language-select').addEventListener('change', function (ev) {
      var tag = knownLanguage(ev.target.value) || 'en';
      try {
        localStorage.setItem(KEY_LANGUAGE, tag);
      } catch (_e) {
        /* private mode: the choice lasts until the page closes */
      }
      switchLanguage(tag).then(null, function () {
        ev.target.value = state.lang;
      });
    });
  // The words come before the figures, so the page does not open in English and change a moment
  // later; a slow or failed answer holds nothing back for long (English until the words arrive).
  function startLanguage(done) {
    var started = false;
    function go() {
      if (started) return;
      started = true;
      done();
    }
    setTimeout(go, 3000);
    getJSON('/languages')
      .then(function (info) {
        state.languages = info && Array.isArray(info.languages) ? info.languages : [];
        var tag = knownLanguage(savedLanguage()) || knownLanguage(info && info.village) || 'en';
        return loadWords(tag).then(function (words) {
          useLanguage(tag, words);
          fillLanguagePick();
          if (started) rerenderAll();
        });
      })
      .then(go, go);
  }
  window.tend.t = t;

  // ---------- start ----------
  if (TV) startTv();
  placeIcons();
  translateStatic();
  showSoundToggle();
  startLanguage(function () {
    showSoundToggle();
    showKeyState();
    connect();
    refreshAll();
  });
  // prompts already open when the page loads get a banner, and a chime once someone taps
  setTimeout(function () {
    state.booted = true;
    var open = Object.keys(state.prompts).filter(function (id) {
      return state.prompts[id].status === 'open';
    });
    if (open.length) chime(state.prompts[open[0]].exercise ? 'exercise' : 'prompt');
  }, 1500);
  setInterval(tick, 1000);
  setInterval(refreshSensors, SENSORS_REFRESH_MS);
  setInterval(refreshFederation, FEDERATION_REFRESH_MS);
  setInterval(function () {
    Object.keys(state.history).forEach(loadHistory);
  }, 60000);
})();
