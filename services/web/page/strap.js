// Strapping a tank with the crew: plain browser JS, no build step, nothing fetched from elsewhere.
// The crew records the level after each known volume added; the points are kept on this phone
// (a power cut in the middle of a session loses nothing), and tend builds and checks the table
// (POST /api/strapping with the write key the main page keeps).
'use strict';

(function () {
  var KEY_TOKEN = 'tend.token';
  var KEY_LANGUAGE = 'tend.language';
  var KEY_POINTS = 'tend.strap.';
  var state = { tanks: [], tank: null, steps: [], result: null };
  window.tendStrap = { state: state };

  // the village's language, as on the main page: English here, other words from /language/<tag>.json
  function t(key, english, slots) {
    var words = window.TEND_WORDS || {};
    var text = Object.hasOwn(words, key) ? words[key] : english;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return slots && Object.hasOwn(slots, name) ? String(slots[name]) : all;
    });
  }
  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
  }
  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (_e) {
      /* private mode: the session lasts until the page closes */
    }
  }
  function stored(key) {
    try {
      return localStorage.getItem(key) || '';
    } catch (_e) {
      return '';
    }
  }
  function num(text) {
    var s = String(text).trim();
    // a decimal comma is a decimal point
    if (/^-?\d+,\d+$/.test(s)) s = s.replace(',', '.');
    return s === '' ? NaN : Number(s);
  }
  function fmt(n) {
    return Number.isFinite(n) ? (Math.round(n * 10) / 10).toLocaleString('en-GB') : '—';
  }
  function getJSON(path) {
    return fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    });
  }

  function translate() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (e) {
      if (e.dataset.en == null) e.dataset.en = e.textContent;
      e.textContent = t(e.dataset.t, e.dataset.en);
    });
  }
  function loadLanguage() {
    return getJSON('/languages')
      .then(function (info) {
        var known = (info && info.languages) || [];
        var want = (stored(KEY_LANGUAGE) || (info && info.village) || 'en').toLowerCase().split('-')[0];
        var ok = known.some(function (l) {
          return l.tag === want;
        });
        if (!ok || want === 'en') return;
        document.documentElement.lang = want;
        return getJSON('/language/' + encodeURIComponent(want) + '.json').then(function (w) {
          window.TEND_WORDS = w || {};
        });
      })
      .then(translate, translate);
  }

  // ---------- the tank and its saved session ----------
  function saveSteps() {
    if (state.tank) store(KEY_POINTS + state.tank.id, state.steps.length ? JSON.stringify(state.steps) : null);
  }
  function chooseTank(id) {
    state.tank =
      state.tanks.filter(function (x) {
        return x.id === id;
      })[0] || null;
    state.steps = [];
    var saved;
    try {
      saved = JSON.parse(stored(KEY_POINTS + id) || '[]');
      if (Array.isArray(saved)) state.steps = saved;
    } catch (_e) {
      /* a damaged save: start again */
    }
    var tk = state.tank;
    $('strap-tank-info').textContent = tk
      ? t('strap.tank.info', 'Present shape: {shape}, {height} mm high, {litres} L when full.', {
          shape: tk.shape.replace(/_/g, ' '),
          height: fmt(tk.height_mm),
          litres: fmt(tk.capacity_liters),
        })
      : t('strap.tank.none', 'This village has no tank in its config yet.');
    $('strap-result').hidden = true;
    $('strap-error').hidden = true;
    renderSteps();
  }
  function loadTanks() {
    return getJSON('/api/strapping').then(function (r) {
      state.tanks = (r && r.tanks) || [];
      var sel = $('strap-tank');
      clear(sel);
      state.tanks.forEach(function (tk) {
        var o = el('option', null, tk.name);
        o.value = tk.id;
        sel.appendChild(o);
      });
      var want = new URLSearchParams(location.search).get('tank');
      if (
        want &&
        state.tanks.some(function (x) {
          return x.id === want;
        })
      )
        sel.value = want;
      chooseTank(sel.value);
    });
  }

  // ---------- the points ----------
  function totals() {
    var sum = 0;
    return state.steps.map(function (s) {
      sum += s.added_l;
      return [s.level_mm, Math.round(sum * 1000) / 1000];
    });
  }
  function renderSteps() {
    var body = $('strap-points').tBodies[0];
    clear(body);
    var pts = totals();
    state.steps.forEach(function (s, i) {
      var tr = el('tr');
      // said at once; tend refuses such a table when it is built
      var low = i > 0 && !(pts[i][0] > pts[i - 1][0] && pts[i][1] > pts[i - 1][1]);
      if (low) tr.className = 'not-rising';
      tr.appendChild(el('td', null, fmt(s.level_mm)));
      tr.appendChild(el('td', null, fmt(s.added_l)));
      tr.appendChild(el('td', null, fmt(pts[i][1]) + (low ? ' · ' + t('strap.points.not_rising', 'not above the point before') : '')));
      var td = el('td');
      var rm = el('button', 'small', t('strap.points.remove', 'Remove'));
      rm.type = 'button';
      rm.setAttribute('aria-label', t('strap.points.remove_n', 'Remove point {n}', { n: i + 1 }));
      rm.addEventListener('click', function () {
        state.steps.splice(i, 1);
        saveSteps();
        renderSteps();
      });
      td.appendChild(rm);
      tr.appendChild(td);
      body.appendChild(tr);
    });
    var tr0, td0;
    if (!state.steps.length) {
      tr0 = el('tr');
      td0 = el('td', 'muted', t('strap.points.empty', 'No points yet. The first is the level at the start, with the litres in the tank then.'));
      td0.colSpan = 4;
      tr0.appendChild(td0);
      body.appendChild(tr0);
    }
  }

  function liveLevel() {
    var msg = $('strap-live-state');
    if (!state.tank) return;
    getJSON('/api/status').then(
      function (s) {
        var tank = ((s && s.water && s.water.tanks) || []).filter(function (x) {
          return x.id === state.tank.id;
        })[0];
        if (!tank || !Number.isFinite(tank.level_mm)) {
          msg.textContent = t('strap.live.none', 'No level from this tank’s sensor; a dipstick reading can go in instead.');
          return;
        }
        $('strap-level').value = String(tank.level_mm);
        msg.textContent = tank.stale
          ? t('strap.live.stale', 'The sensor’s last level, not current: {level} mm. Is a dipstick reading closer?', { level: fmt(tank.level_mm) })
          : t('strap.live.ok', 'The sensor reads {level} mm now.', { level: fmt(tank.level_mm) });
      },
      function () {
        msg.textContent = t('strap.live.offline', 'No connection to tend for the sensor’s level.');
      },
    );
  }

  function bucketsToLitres() {
    var n = num($('strap-bucket-count').value);
    var size = num($('strap-bucket-size').value);
    if (Number.isFinite(n) && Number.isFinite(size)) $('strap-added').value = String(Math.round(n * size * 1000) / 1000);
  }

  function addStep(ev) {
    ev.preventDefault();
    var msg = $('strap-step-state');
    var level = num($('strap-level').value);
    var added = num($('strap-added').value);
    if (!Number.isFinite(level) || level < 0) {
      msg.textContent = t('strap.step.bad_level', 'The level is not a number of mm (0 or more).');
      return;
    }
    if (!Number.isFinite(added) || added < 0) {
      msg.textContent = t('strap.step.bad_added', 'The litres added are not a number (0 or more).');
      return;
    }
    state.steps.push({ level_mm: level, added_l: added });
    saveSteps();
    renderSteps();
    $('strap-level').value = '';
    $('strap-added').value = '';
    $('strap-bucket-count').value = '';
    msg.textContent = t('strap.step.added_ok', 'Point {n} added.', { n: state.steps.length });
    $('strap-result').hidden = true;
  }

  // ---------- building the table ----------
  function build() {
    var err = $('strap-error');
    err.hidden = true;
    var token = stored(KEY_TOKEN);
    if (!token) {
      err.textContent = t('strap.build.no_key', 'Building the table needs the village write key; it can be saved on the village page under “This device”.');
      err.hidden = false;
      return;
    }
    fetch('/api/strapping', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token },
      body: JSON.stringify({ tank: state.tank ? state.tank.id : null, points: totals() }),
    }).then(
      function (r) {
        return r.json().then(function (j) {
          if (!r.ok) {
            $('strap-result').hidden = true;
            err.textContent =
              r.status === 401
                ? t('strap.build.key_refused', 'The write key was not accepted.')
                : t('strap.build.refused', 'No table yet: {reason}', { reason: (j && j.error) || 'HTTP ' + r.status });
            err.hidden = false;
            return;
          }
          state.result = j;
          showResult(j);
        });
      },
      function () {
        err.textContent = t('strap.build.offline', 'No connection to tend.');
        err.hidden = false;
      },
    );
  }

  var SVG = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) {
      e.setAttribute(k, String(attrs[k]));
    });
    return e;
  }
  /** litres (up) by level (across): the measured table and the present shape, on one scale */
  function drawChart(table, shape) {
    var svg = $('strap-chart');
    clear(svg);
    var W = 320;
    var H = 200;
    var pad = 28;
    var all = table.concat(shape || []);
    var maxL = Math.max.apply(
      null,
      all
        .map(function (p) {
          return p[0];
        })
        .concat([1]),
    );
    var maxV = Math.max.apply(
      null,
      all
        .map(function (p) {
          return p[1];
        })
        .concat([1]),
    );
    function x(l) {
      return pad + ((W - pad - 8) * l) / maxL;
    }
    function y(v) {
      return H - pad - ((H - pad - 8) * v) / maxV;
    }
    svg.appendChild(svgEl('line', { x1: pad, y1: H - pad, x2: W - 8, y2: H - pad, class: 'axis' }));
    svg.appendChild(svgEl('line', { x1: pad, y1: 8, x2: pad, y2: H - pad, class: 'axis' }));
    var lx = svgEl('text', { x: W - 8, y: H - 8, 'text-anchor': 'end', class: 'axis-label' });
    lx.textContent = fmt(maxL) + ' mm';
    svg.appendChild(lx);
    var ly = svgEl('text', { x: 4, y: 16, class: 'axis-label' });
    ly.textContent = fmt(maxV) + ' L';
    svg.appendChild(ly);
    function line(points, cls) {
      return svgEl('polyline', {
        class: cls,
        fill: 'none',
        points: points
          .map(function (p) {
            return x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1);
          })
          .join(' '),
      });
    }
    if (shape && shape.length) svg.appendChild(line(shape, 'curve-shape'));
    svg.appendChild(line(table, 'curve-table'));
    table.forEach(function (p) {
      svg.appendChild(svgEl('circle', { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 3, class: 'curve-point' }));
    });
  }
  function showResult(r) {
    var table = (r.table && r.table.points) || [];
    drawChart(table, state.tank ? state.tank.curve : null);
    var d = r.largest_difference;
    var words = d
      ? t('strap.result.compare', 'The largest difference from the present shape is {litres} L ({percent} % of the tank) at {level} mm.', {
          litres: (d.liters >= 0 ? '+' : '') + fmt(d.liters),
          percent: d.percent === null ? '—' : (d.percent >= 0 ? '+' : '') + fmt(d.percent),
          level: fmt(d.level_mm),
        })
      : '';
    var last = table[table.length - 1];
    if (r.below_top) {
      words +=
        ' ' +
        t('strap.result.below_top', 'The points stop at {level} mm, below the top: above it the table reads {litres} L. Is another step possible?', {
          level: fmt(last[0]),
          litres: fmt(last[1]),
        });
    }
    $('strap-compare').textContent = words.trim();
    $('strap-snippet').textContent = r.snippet;
    $('strap-result').hidden = false;
  }

  function copySnippet() {
    var text = $('strap-snippet').textContent;
    var msg = $('strap-copy-state');
    var done = function () {
      msg.textContent = t('strap.result.copied', 'Copied.');
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {
        msg.textContent = t('strap.result.copy_by_hand', 'This browser keeps the clipboard closed; the lines above can be selected and copied by hand.');
      });
    } else {
      msg.textContent = t('strap.result.copy_by_hand', 'This browser keeps the clipboard closed; the lines above can be selected and copied by hand.');
    }
  }

  $('strap-tank').addEventListener('change', function (ev) {
    chooseTank(ev.target.value);
  });
  $('strap-live').addEventListener('click', liveLevel);
  $('strap-bucket-count').addEventListener('input', bucketsToLitres);
  $('strap-bucket-size').addEventListener('input', bucketsToLitres);
  $('strap-form').addEventListener('submit', addStep);
  $('strap-build').addEventListener('click', build);
  $('strap-clear').addEventListener('click', function () {
    state.steps = [];
    saveSteps();
    renderSteps();
    $('strap-result').hidden = true;
    $('strap-error').hidden = true;
  });
  $('strap-copy').addEventListener('click', copySnippet);

  loadLanguage().then(function () {
    loadTanks().then(null, function () {
      $('strap-tank-info').textContent = t('strap.tank.offline', 'No connection to tend for the list of tanks.');
    });
  });
})();
