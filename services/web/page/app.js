// tend village page: plain browser JS, no build step, no framework, nothing fetched from elsewhere.
// Data comes from the village's own API and its SSE stream (/api/stream: status, alert, assembly).
// Every value that came from a device, a neighbour or a note is put in the page with textContent
// (never innerHTML), so a note holding markup shows as text.
'use strict';

(function () {
  var KEY_TOKEN = 'tend.token';
  var KEY_AUTHOR = 'tend.author';
  var KEY_SOUND = 'tend.sound';
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
    var text = Object.prototype.hasOwnProperty.call(words, key) ? words[key] : english;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return slots && Object.prototype.hasOwnProperty.call(slots, name) ? String(slots[name]) : all;
    });
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
  function fmtInt(n) {
    return isNum(n) ? Math.round(n).toLocaleString('en-GB') : '—';
  }
  function fmtNum(n, digits) {
    return isNum(n) ? n.toFixed(digits) : '—';
  }
  function fmtDays(n) {
    return isNum(n) ? (n < 100 ? n.toFixed(1) : String(Math.round(n))) : '—';
  }
  function fmtSigned(n, digits) {
    return isNum(n) ? (n > 0 ? '+' : n < 0 ? '−' : '±') + Math.abs(n).toFixed(digits) : '—';
  }
  function fmtWatts(w) {
    if (!isNum(w)) return '—';
    return Math.abs(w) >= 1000 ? (w / 1000).toFixed(1) + ' kW' : Math.round(w) + ' W';
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
    var t = parseTime(iso);
    if (t == null) return 'never';
    var s = Math.max(0, Math.round((serverNow() - t) / 1000));
    if (s < 60) return s + ' s ago';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ago';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + (m % 60) + ' min ago';
    return Math.floor(h / 24) + ' days ago';
  }
  // Times are the village's wall clock (its zone comes with /api/status), whatever zone the phone
  // is set to; a browser that cannot format in another zone shows the phone's own clock.
  var zoneFormats = {};
  function zoneParts(t) {
    var tz = state.timezone;
    var f = zoneFormats[tz];
    if (f === undefined) {
      try {
        f = new Intl.DateTimeFormat('en-GB', {
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
    if (!f) return { y: d.getFullYear(), mon: d.toLocaleDateString('en-GB', { month: 'short' }), d: d.getDate(), h: d.getHours(), m: d.getMinutes() };
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
    return LEVEL_WORDS[l] || 'NO DATA';
  }
  function setLevel(badgeId, sectionId, level) {
    var b = $(badgeId);
    if (b) {
      b.textContent = levelWord(level);
      b.dataset.level = level || 'unknown';
    }
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
    if (!iso) return offline ? 'OFFLINE — no reading yet' : 'NO READING YET';
    return (offline ? 'OFFLINE' : 'STALE') + ' — last seen ' + fmtAgo(iso);
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
    setText('key-state', getToken() ? 'A write key is saved on this device.' : 'No write key saved; reading works without one.');
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
    b.textContent = sound.enabled ? 'sound on' : 'sound off';
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
    getJSON('/api/status').then(applyStatus, function () {});
    getJSON('/api/alerts').then(applyAlertList, function () {});
    getJSON('/api/assembly').then(applyPromptList, function () {});
    refreshSensors();
    refreshFederation();
  }

  // ---------- reserve status ----------
  function applyStatus(s) {
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
        (s.sensors.online | 0) +
          ' of ' +
          (s.sensors.total | 0) +
          ' reporting' +
          (s.sensors.rejected_total ? ' · ' + s.sensors.rejected_total + ' bad messages refused' : ''),
      );
    if (Array.isArray(s.alerts)) applyAlertList(s.alerts, true);
    if (Array.isArray(s.assembly))
      s.assembly.forEach(function (p) {
        upsertPrompt(p, false);
      });
    renderPageAge();
  }

  function renderVillage(s) {
    var v = s.village || {};
    setText('village-name', v.name || v.id || 'tend');
    setText('village-meta', (v.population ? v.population + ' people' : '') + (state.timezone ? ' · times in ' + state.timezone : ''));
    document.title = (v.name || 'tend') + ' — reserves';
  }

  function renderWater(w) {
    setLevel('water-status', 'water', w.status);
    setText('water-liters', fmtInt(w.liters));
    setText('water-percent', isNum(w.percent) ? fmtNum(w.percent, 0) + '% of ' + fmtInt(w.capacity_liters) + ' L' : 'of ' + fmtInt(w.capacity_liters) + ' L');
    setText('water-days-current', fmtDays(w.days_left_current));
    renderWaterBasis(w);
    setText('water-draw', isNum(w.draw_lph) ? 'drawing ' + fmtInt(w.draw_lph) + ' L/h' : 'use not measured yet');
    setText('water-days-minimum', fmtDays(w.days_left_minimum));
    renderWaterStale(w);
    var v = state.status && state.status.village;
    setText('water-minimum-note', v && v.population ? 'at 15 L a person a day (Sphere)' : '');
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
    if (r && isNum(r[0]) && isNum(r[1])) range = 'range ' + fmtDays(r[0]) + '–' + fmtDays(r[1]) + ' days (heaviest to lightest day of the last 7)';
    else if (isNum(w.days_left_current)) range = 'range after two whole days of readings';
    setText('water-days-range', range);
    var basis = str(w.days_left_basis);
    if (basis && isNum(w.days_left_current) && isNum(w.daily_use_liters)) basis += ', about ' + fmtInt(w.daily_use_liters) + ' L a day';
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
    var text = missing ? 'leaves out ' + missing + (missing === 1 ? ' tank' : ' tanks') + ' with no reading' : '';
    var prefix = (text ? text + ' · ' : '') + 'includes ' + stale + (stale === 1 ? ' tank' : ' tanks') + ' last heard ';
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
    b.textContent = stale ? (offline ? 'OFFLINE' : 'STALE') : levelWord(t.status);
    b.dataset.level = stale ? 'unknown' : t.status || 'unknown';
    showStale(card.querySelector('.stale-label'), stale, t.last_seen, offline);
    setText(card.querySelector('.liters'), fmtInt(t.liters));
    setText(card.querySelector('.percent'), isNum(t.percent) ? fmtNum(t.percent, 0) + '%' : '');
    var pct = isNum(t.percent) ? Math.max(0, Math.min(100, t.percent)) : 0;
    card.querySelector('.fill').style.width = pct + '%';
    var bar = card.querySelector('.bar');
    bar.setAttribute('aria-valuenow', String(Math.round(pct)));
    bar.dataset.level = t.status || 'unknown';
    setText(card.querySelector('.capacity'), 'holds ' + fmtInt(t.capacity_liters) + ' L' + (isNum(t.level_mm) ? ' · level ' + fmtInt(t.level_mm) + ' mm' : ''));
    var seenEl = card.querySelector('.seen');
    seenEl.dataset.seen = str(t.last_seen);
    seenEl.dataset.prefix = 'updated ';
    seenEl.textContent = 'updated ' + fmtAgo(t.last_seen);
    // Live points between history fetches, so the sparkline moves with the figure.
    if (!stale && isNum(t.liters)) addLivePoint(t);
    drawSpark(card, t);
  }
  function addLivePoint(t) {
    var ts = parseTime(t.last_seen) || serverNow();
    if (!state.history[t.id]) state.history[t.id] = [];
    var h = state.history[t.id];
    var last = h[h.length - 1];
    // one live point a minute at most (the newest value wins), so a day stays ~1,440 points
    if (last && last.live && ts - last.b < 60000) {
      if (ts > last.t) {
        last.t = ts;
        last.v = t.liters;
      }
    } else if (!last || ts > last.t) h.push({ t: ts, v: t.liters, live: true, b: ts });
  }

  function loadHistory(id) {
    var now = Date.now();
    if (state.historyFetched[id] && now - state.historyFetched[id] < HISTORY_REFRESH_MS) return;
    state.historyFetched[id] = now;
    getJSON('/api/history?sensor=' + encodeURIComponent(id) + '&hours=24').then(
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
        var card = $('tanks').querySelector('[data-tank="' + cssId(id) + '"]');
        var t =
          state.status &&
          (state.status.water.tanks || []).filter(function (x) {
            return x.id === id;
          })[0];
        if (card && t) drawSpark(card, t);
      },
      function () {
        state.historyFetched[id] = now - HISTORY_REFRESH_MS + 30000; /* retry in 30 s */
      },
    );
  }

  var SVGNS = 'http://www.w3.org/2000/svg';
  function drawSpark(card, t) {
    var box = card.querySelector('.spark');
    var end = serverNow();
    var start = end - 24 * 3600 * 1000;
    var pts = (state.history[t.id] || []).filter(function (p) {
      return p.t >= start;
    });
    state.history[t.id] = pts;
    clear(box);
    if (pts.length < 2) {
      box.appendChild(el('span', 'muted', '24 h history: not enough readings yet'));
      return;
    }
    var W = 300,
      H = 48;
    var max =
      isNum(t.capacity_liters) && t.capacity_liters > 0
        ? t.capacity_liters
        : Math.max.apply(
            null,
            pts.map(function (p) {
              return p.v;
            }),
          );
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    var lo = Infinity,
      hi = -Infinity;
    var coords = pts.map(function (p) {
      lo = Math.min(lo, p.v);
      hi = Math.max(hi, p.v);
      var x = ((p.t - start) / (end - start)) * W;
      var y = H - 1 - (Math.max(0, Math.min(max, p.v)) / max) * (H - 2);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    var area = document.createElementNS(SVGNS, 'polygon');
    var first = coords[0].split(',')[0],
      lastX = coords[coords.length - 1].split(',')[0];
    area.setAttribute('points', first + ',' + H + ' ' + coords.join(' ') + ' ' + lastX + ',' + H);
    area.setAttribute('class', 'spark-area');
    var line = document.createElementNS(SVGNS, 'polyline');
    line.setAttribute('points', coords.join(' '));
    line.setAttribute('class', 'spark-line');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    var title = document.createElementNS(SVGNS, 'title');
    title.textContent = 'last 24 hours: lowest ' + fmtInt(lo) + ' L, highest ' + fmtInt(hi) + ' L';
    svg.appendChild(title);
    svg.appendChild(area);
    svg.appendChild(line);
    box.appendChild(svg);
    box.appendChild(el('span', 'spark-caption muted', '24 h · low ' + fmtInt(lo) + ' L · high ' + fmtInt(hi) + ' L'));
  }

  function renderPower(p) {
    if (!p) return;
    setLevel('power-status', 'power', p.stale ? 'unknown' : p.status);
    $('power').classList.toggle('stale', !!p.stale);
    showStale($('power-stale'), !!p.stale, sensorSeen(['battery_soc', 'load_power', 'battery_voltage']), false);
    setText('power-hours', fmtDays(p.hours_left));
    setText('power-soc', isNum(p.soc_percent) ? fmtNum(p.soc_percent, 0) + '%' : '—');
    setText(
      'power-stored',
      isNum(p.stored_kwh) ? fmtNum(p.stored_kwh, 1) + ' kWh stored' + (isNum(p.usable_kwh) ? ', ' + fmtNum(p.usable_kwh, 1) + ' kWh usable' : '') : '',
    );
    setText('power-net', isNum(p.net_w) ? (p.net_w > 0 ? '+' : p.net_w < 0 ? '−' : '') + fmtWatts(Math.abs(p.net_w)) : '—');
    var word = !isNum(p.net_w) ? 'net' : p.net_w > 0 ? 'charging' : p.net_w < 0 ? 'discharging' : 'balanced';
    setText('power-net-word', word);
    $('power-net').dataset.dir = word;
    var flows = [];
    if (isNum(p.solar_w)) flows.push('solar ' + fmtWatts(p.solar_w));
    if (isNum(p.load_w)) flows.push('load ' + fmtWatts(p.load_w));
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
      var b = el('span', 'badge', stale ? (offline ? 'OFFLINE' : 'STALE') : levelWord(u.status));
      b.dataset.level = stale ? 'unknown' : u.status || 'unknown';
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
      fig.appendChild(el('span', 'sub', 'safe up to ' + fmtNum(u.safe_max_c, 0) + ' °C'));
      card.appendChild(fig);
      var meta = el('div', 'muted');
      meta.appendChild(el('span', 'above-safe', u.minutes_above_safe > 0 ? Math.round(u.minutes_above_safe) + ' min above safe' : 'within safe range'));
      if (u.door_open === true) meta.appendChild(el('span', 'door-open', ' · door open'));
      meta.appendChild(document.createTextNode(' · '));
      meta.appendChild(seenSpan('seen', u.last_seen, 'updated '));
      card.appendChild(meta);
      box.appendChild(card);
    });
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
      setText('weather-tendency', fmtSigned(tnd, 1) + ' hPa in 3 h, ' + words);
    } else {
      setText('weather-tendency', '3-hour tendency not known yet');
    }
    $('weather-tendency').dataset.trend = words;
    setText('weather-wind', fmtNum(w.wind_ms, 1));
    var gust = isNum(w.gust_ms)
      ? 'gusts ' + fmtNum(w.gust_ms, 1) + ' m/s' + (w.gust_ms >= 24.5 ? ' (storm force)' : w.gust_ms >= 17.2 ? ' (gale force)' : '')
      : 'gusts —';
    if (isNum(w.rain_mm)) gust += ' · rain ' + fmtNum(w.rain_mm, 1) + ' mm';
    setText('weather-gust', gust);
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
    if (s.kind === 'door_open') return s.value ? 'open' : 'closed';
    var digits = s.kind === 'battery_voltage' || s.kind === 'cold_temp' || s.kind === 'wind_speed' || s.kind === 'wind_gust' ? 1 : 0;
    var u = KIND_UNITS[s.kind] || '';
    return (digits ? fmtNum(s.value, digits) : fmtInt(s.value)) + (u ? ' ' + u : '');
  }
  function refreshSensors() {
    getJSON('/api/sensors').then(
      function (r) {
        var list = r && Array.isArray(r.sensors) ? r.sensors : [];
        state.sensors = {};
        list.forEach(function (s) {
          if (s && s.id != null) state.sensors[s.id] = s;
        });
        renderSensors(list);
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
      ul.appendChild(li);
    });
  }
  var LINK_WORDS = {
    connected: 'connected',
    listening: 'listening',
    connecting: 'connecting',
    reconnecting: 'reconnecting',
    error: 'error',
    disconnected: 'disconnected',
  };
  function renderLinks(links) {
    var ul = $('link-list');
    clear(ul);
    if (!links.length) {
      ul.appendChild(el('li', 'muted', 'no device links reported'));
      return;
    }
    links.forEach(function (l) {
      var li = el('li', 'link');
      li.dataset.link = str(l.name);
      li.dataset.state = str(l.state);
      li.appendChild(el('span', 'dot'));
      li.appendChild(el('span', 'link-name', str(l.name) + (l.kind ? ' (' + l.kind + ')' : '')));
      li.appendChild(el('span', 'link-word', LINK_WORDS[l.state] || str(l.state)));
      // a `since` at the epoch means "since start, time unknown": leave it out
      if (l.since && (parseTime(l.since) || 0) > 946684800000) li.appendChild(seenSpan('seen muted', l.since, 'since '));
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
      if (l && l.kind === 'storage' && l.name === 'storage' && l.notice) text = 'Storage: ' + str(l.notice);
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
      li.appendChild(el('span', 'badge', (a.state === 'pending' ? 'CHECKING ' : '') + str(a.severity).toUpperCase()));
      li.appendChild(el('strong', 'alert-title', a.title));
      if (a.detail) li.appendChild(el('span', 'alert-detail', a.detail));
      li.appendChild(el('span', 'muted', 'since ' + fmtClock(a.fired_at || a.started_at)));
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
  function applyPromptList(list) {
    if (!Array.isArray(list)) return;
    var ids = {};
    list.forEach(function (p) {
      if (p && p.id != null) {
        ids[p.id] = true;
        upsertPrompt(p, true);
      }
    });
    // the list is authoritative: a prompt we hold open but the server no longer lists has closed
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
    pill.textContent = allDrill ? 'EXERCISE PROMPT OPEN' : 'PROMPT OPEN';
    if (open.length) pill.href = '#prompt-' + encodeURIComponent(open[0].id);
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
        done.appendChild(el('strong', null, (p.exercise ? 'EXERCISE · ' : '') + 'Prompt closed'));
        done.appendChild(el('span', null, ' ' + str(p.headline) + (p.closed_at ? ' (closed ' + fmtClock(p.closed_at) + ')' : '')));
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
    setText(bn.querySelector('.banner-kind'), p.exercise ? 'EXERCISE · Assembly prompt' : 'Assembly prompt');
    setText(bn.querySelector('.banner-headline'), p.headline);
    var ends = bn.querySelector('.banner-ends');
    var endsText = p.exercise && p.exercise_ends_at ? 'Exercise ends at ' + fmtClock(p.exercise_ends_at) : '';
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
    var a = el('a', 'banner-link', 'Read the prompt');
    a.href = '#prompt-' + encodeURIComponent(p.id);
    banner.appendChild(a);
    var endBtn = el('button', 'drill-end', 'End the exercise');
    endBtn.type = 'button';
    endBtn.hidden = true;
    var endState = el('span', 'drill-end-state');
    endState.setAttribute('aria-live', 'polite');
    endBtn.addEventListener('click', function () {
      endExercise(endBtn, endState);
    });
    banner.appendChild(endBtn);
    banner.appendChild(endState);
    var hint = el('span', 'sound-hint', 'Sound plays after the first tap on this page.');
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
    form.appendChild(el('h3', null, 'Add a note'));
    var lblA = el('label', null, 'Your name');
    var author = el('input');
    author.name = 'author';
    author.maxLength = 80;
    try {
      author.value = localStorage.getItem(KEY_AUTHOR) || '';
    } catch (_e) {
      /* ignore */
    }
    lblA.appendChild(author);
    var lblT = el('label', null, 'Note');
    var text = el('textarea');
    text.name = 'text';
    text.rows = 3;
    text.maxLength = 2000;
    lblT.appendChild(text);
    var btn = el('button', null, 'Add note');
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
        msg.textContent = 'The note is empty.';
        return;
      }
      if (!getToken()) {
        msg.textContent = 'Adding notes needs the village write key; it can be saved under "This device".';
        return;
      }
      try {
        localStorage.setItem(KEY_AUTHOR, who);
      } catch (_e) {
        /* ignore */
      }
      btn.disabled = true;
      msg.textContent = 'Sending…';
      fetch('/api/assembly/' + encodeURIComponent(p.id) + '/notes', {
        method: 'POST',
        headers: authHeaders(),
        body: JSON.stringify({ author: who, text: t }),
      }).then(
        function (r) {
          btn.disabled = false;
          if (r.status === 401 || r.status === 403) {
            msg.textContent = 'The write key was not accepted.';
            return;
          }
          if (!r.ok) {
            msg.textContent = 'Not saved (HTTP ' + r.status + ').';
            return;
          }
          text.value = '';
          msg.textContent = 'Note added.';
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
          msg.textContent = 'Not sent: no connection to tend.';
        },
      );
    });
    root.appendChild(form);
    $('prompts').appendChild(root);
    return { root: root, body: body, form: form, banner: banner };
  }

  function listSection(title, items, key, ordered) {
    var sec = el('section', 'plist plist-' + key);
    sec.dataset.list = key;
    sec.appendChild(el('h3', null, title));
    var ul = el(ordered ? 'ol' : 'ul');
    if (!items || !items.length) ul.appendChild(el('li', 'muted empty', 'nothing listed'));
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
        el('div', 'exercise-mark', 'EXERCISE — a drill, not a real event' + (p.exercise_ends_at ? '; it ends at ' + fmtClock(p.exercise_ends_at) : '')),
      );
    body.appendChild(el('h2', 'prompt-headline', p.headline));
    body.appendChild(
      el('p', 'muted prompt-meta', 'Opened ' + fmtClock(p.opened_at) + ' · updated ' + fmtClock(p.updated_at) + ' · version ' + (p.version | 0)),
    );

    var sit = el('section', 'plist plist-situation');
    sit.dataset.list = 'situation';
    sit.appendChild(el('h3', null, 'What the sensors show'));
    var sl = el('ul', 'situation');
    (p.situation || []).forEach(function (s) {
      var li = el('li');
      li.appendChild(el('time', 'at', fmtClock(s.at)));
      li.appendChild(el('span', null, ' ' + str(s.text)));
      sl.appendChild(li);
    });
    if (!sl.children.length) sl.appendChild(el('li', 'muted empty', 'nothing listed'));
    sit.appendChild(sl);
    body.appendChild(sit);

    var grid = el('div', 'plists');
    grid.appendChild(listSection('Damaged', p.damaged, 'damaged'));
    grid.appendChild(listSection('Still working', p.working, 'working'));
    grid.appendChild(listSection('Urgent (runs out within a day)', p.urgent, 'urgent'));
    grid.appendChild(listSection('Can wait', p.can_wait, 'can_wait'));
    body.appendChild(grid);

    var r = p.reserves || {};
    var res = el('section', 'plist reserves');
    res.dataset.list = 'reserves';
    res.appendChild(el('h3', null, 'Reserves'));
    var figs = el('div', 'figures');
    [
      [fmtDays(r.water_days_current), 'days of water at current use'],
      [fmtDays(r.water_days_minimum), 'days of water at minimum use'],
      [fmtDays(r.power_hours_left), 'hours of power'],
    ].forEach(function (f) {
      var d = el('div', 'figure');
      d.appendChild(el('span', 'big', f[0]));
      d.appendChild(el('span', 'unit', f[1]));
      figs.appendChild(d);
    });
    res.appendChild(figs);
    var risk = r.cold_units_at_risk || [];
    res.appendChild(el('p', null, risk.length ? 'Cold storage at risk: ' + risk.join(', ') : 'No cold storage at risk.'));
    body.appendChild(res);

    var nb = el('section', 'plist plist-neighbours');
    nb.dataset.list = 'neighbours';
    nb.appendChild(el('h3', null, 'What neighbours offer'));
    var nl = el('ul');
    (p.neighbours || []).forEach(function (n) {
      var li = el('li');
      li.appendChild(el('strong', null, str(n.village)));
      li.appendChild(el('span', null, ': ' + str(n.offer)));
      if (n.heard_at) li.appendChild(el('span', 'muted', ' (' + fmtClock(n.heard_at) + ')'));
      nl.appendChild(li);
    });
    if (!nl.children.length) nl.appendChild(el('li', 'muted empty', 'no offers heard yet'));
    nb.appendChild(nl);
    body.appendChild(nb);

    body.appendChild(listSection('Questions for the assembly', p.questions, 'questions', true));

    var ns = el('section', 'plist plist-notes');
    ns.dataset.list = 'notes';
    ns.appendChild(el('h3', null, 'Notes'));
    var ul = el('ul', 'notes');
    (p.notes || []).forEach(function (n) {
      var li = el('li', 'note');
      li.appendChild(el('strong', 'note-author', n.author || 'anonymous'));
      li.appendChild(el('time', 'muted', ' ' + fmtClock(n.at)));
      li.appendChild(el('p', 'note-text', n.text));
      ul.appendChild(li);
    });
    if (!ul.children.length) ul.appendChild(el('li', 'muted empty', 'no notes yet'));
    ns.appendChild(ul);
    // a busy prompt carries only its latest notes; all of them are at /api/assembly/<id>/notes
    var shown = (p.notes || []).length;
    var more, all;
    if (p.notes_total > shown) {
      more = el('p', 'muted notes-more', 'Showing the latest ' + shown + ' of ' + p.notes_total + ' notes. ');
      all = el('a', null, 'All notes');
      all.href = '/api/assembly/' + encodeURIComponent(p.id) + '/notes';
      more.appendChild(all);
      ns.appendChild(more);
    }
    body.appendChild(ns);
  }

  // ---------- federation ----------
  function refreshFederation() {
    getJSON('/api/federation').then(renderFederation, function (err) {
      setText('fed-state', err && err.status === 404 ? 'OFF' : 'NO DATA');
      $('fed-state').dataset.level = 'unknown';
      clear($('fed-body'));
      var p = $('fed-empty');
      p.hidden = false;
      p.textContent = err && err.status === 404 ? 'This village is not in a federation link.' : 'Federation status not available.';
    });
  }
  function renderFederation(f) {
    f = f || {};
    var b = $('fed-state');
    var list0 = Array.isArray(f.neighbours) ? f.neighbours : [];
    var off = !f.connected && !list0.length && !(f.own && f.own.configured);
    b.textContent = off ? 'OFF' : f.connected ? 'LINKED' : 'NOT LINKED';
    b.dataset.level = off ? 'unknown' : f.connected ? 'ok' : 'watch';
    var box = $('fed-body');
    clear(box);
    var list = Array.isArray(f.neighbours) ? f.neighbours : [];
    var p = $('fed-empty');
    p.hidden = list.length > 0;
    p.textContent = off
      ? 'This village is not in a federation.'
      : f.connected
        ? 'No neighbour has reported yet.'
        : 'Not linked to the federation; no neighbour news.';
    list.forEach(function (n) {
      var card = el('article', 'neighbour');
      card.dataset.village = str(n.village);
      var heard = parseTime(n.heard_at);
      var offline = n.link === 'offline';
      var old = n.stale === true || offline || heard == null || heard < serverNow() - NEIGHBOUR_OLD_MS;
      if (old) card.classList.add('stale');
      var head = el('header');
      head.appendChild(el('h3', null, str(n.name || n.village)));
      if (n.incident_open) head.appendChild(el('span', 'badge', 'INCIDENT OPEN')).dataset.level = 'strained';
      var lab;
      if (old) {
        lab = el('span', 'stale-label');
        showStale(lab, true, n.heard_at, offline);
        head.appendChild(lab);
      } else {
        head.appendChild(seenSpan('seen muted', n.heard_at, 'heard '));
      }
      card.appendChild(head);
      var figs = el('div', 'nb-figures');
      [
        [fmtDays(n.water_days_current), 'days of water at current use'],
        [fmtDays(n.water_days_minimum), 'days of water at minimum use'],
        [fmtDays(n.power_hours_left), 'hours of power'],
      ].forEach(function (x) {
        var d = el('div', 'nb-figure');
        d.appendChild(el('span', 'nb-num', x[0]));
        d.appendChild(el('span', 'unit', x[1]));
        figs.appendChild(d);
      });
      card.appendChild(figs);
      var offer = el('p', 'offer');
      offer.appendChild(el('span', 'muted', 'Can share: '));
      offer.appendChild(el('span', 'offer-text', n.offer ? n.offer : 'nothing reported'));
      var risk = Array.isArray(n.cold_at_risk) ? n.cold_at_risk.length : n.cold_at_risk;
      if (risk) offer.appendChild(el('span', 'muted', ' · cold storage at risk: ' + risk));
      card.appendChild(offer);
      box.appendChild(card);
    });
    renderOwnOffer(f.own);
  }

  // Our own offer to the federation (POST /api/federation/offer, token).
  function renderOwnOffer(own) {
    var form = $('offer-form');
    form.hidden = !(own && own.configured);
    if (form.hidden) return;
    setText(
      'offer-now',
      own.withdrawn
        ? 'Now offering nothing.'
        : own.offer
          ? 'Now offered: ' +
            own.offer +
            (own.offer_source === 'computed' ? ' (worked out from our reserves)' : own.offer_source === 'config' ? ' (from the config)' : '')
          : 'No offer published yet.',
    );
  }
  function postOffer(body) {
    if (!getToken()) {
      setText('offer-state', 'Changing the offer needs the village write key.');
      return;
    }
    setText('offer-state', 'Sending…');
    fetch('/api/federation/offer', { method: 'POST', headers: authHeaders(), body: JSON.stringify(body) }).then(
      function (r) {
        if (r.status === 401 || r.status === 403) {
          setText('offer-state', 'The write key was not accepted.');
          return;
        }
        if (!r.ok) {
          setText('offer-state', 'Not saved (HTTP ' + r.status + ').');
          return;
        }
        setText('offer-state', 'Saved; neighbours hear it with the next update.');
        $('offer-text').value = '';
        return r.json().then(renderFederation, function () {});
      },
      function () {
        setText('offer-state', 'Not sent: no connection to tend.');
      },
    );
  }
  $('offer-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = $('offer-text').value.trim();
    if (!t) {
      setText('offer-state', 'The offer is empty.');
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
    setText('link-text', s === 'live' ? 'live' : s === 'connecting' ? 'connecting…' : 'reconnecting…' + (detail ? ' ' + detail : ''));
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
    onEvent('alert', applyAlert);
    onEvent('assembly', function (p) {
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
      bar.textContent =
        'No live link to tend — the figures below are from ' +
        fmtClock(state.status && state.status.at) +
        ' (' +
        fmtAgo(state.status && state.status.at) +
        ') and may be out of date.';
    if (state.status) setText('updated', 'as of ' + fmtClock(state.status.at));
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
      setLink('reconnecting', '(quiet)');
      connect();
    }
  }

  // The page's way to end an exercise early: the all-clear follows and the banner says so.
  function endExercise(btn, msg) {
    if (!getToken()) {
      setText(msg, 'Ending the exercise needs the village write key (under "This device").');
      return;
    }
    btn.disabled = true;
    setText(msg, 'Ending…');
    fetch('/api/drill/end', { method: 'POST', headers: authHeaders(), body: '{}' }).then(
      function (r) {
        btn.disabled = false;
        setText(
          msg,
          r.ok
            ? 'Exercise ended.'
            : r.status === 401 || r.status === 403
              ? 'The write key was not accepted.'
              : r.status === 409
                ? 'The exercise has already ended.'
                : 'Not ended (HTTP ' + r.status + ').',
        );
      },
      function () {
        btn.disabled = false;
        setText(msg, 'Not sent: no connection to tend.');
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
      setText('drill-state', 'Starting a drill needs the village write key.');
      return;
    }
    if (!drillArmed || Date.now() - drillArmed > 6000) {
      drillArmed = Date.now();
      btn.textContent = 'Start the storm exercise now? Tap again to confirm';
      setTimeout(function () {
        if (drillArmed && Date.now() - drillArmed >= 6000) {
          drillArmed = 0;
          btn.textContent = 'Start a storm exercise';
        }
      }, 6100);
      return;
    }
    drillArmed = 0;
    btn.textContent = 'Start a storm exercise';
    btn.disabled = true;
    fetch('/api/drill', { method: 'POST', headers: authHeaders(), body: '{}' }).then(
      function (r) {
        btn.disabled = false;
        if (r.ok) {
          return r.json().then(
            function (j) {
              var ends = j && j.ends_at ? fmtClock(j.ends_at) : '';
              setText('drill-state', 'Storm exercise started; its prompt is marked EXERCISE' + (ends ? ' and it ends at ' + ends : '') + '.');
            },
            function () {
              setText('drill-state', 'Storm exercise started; its prompt is marked EXERCISE.');
            },
          );
        }
        setText(
          'drill-state',
          r.status === 401 || r.status === 403
            ? 'The write key was not accepted.'
            : r.status === 409
              ? 'An exercise is already running.'
              : 'Not started (HTTP ' + r.status + ').',
        );
      },
      function () {
        btn.disabled = false;
        setText('drill-state', 'Not sent: no connection to tend.');
      },
    );
  });

  // ---------- start ----------
  showSoundToggle();
  connect();
  refreshAll();
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
