// Simple icons for the village page, drawn inline (no image files, nothing fetched): one for each
// domain, each status and each alert kind, so a reader who reads little still finds the water,
// the power and what is wrong. An icon always stands beside its word, never in place of it, and
// colour never carries the meaning alone. Plain browser JS, loaded before app.js.
'use strict';

(function () {
  var SVGNS = 'http://www.w3.org/2000/svg';
  // 24×24, drawn with lines in the text colour: each entry is a list of path data
  var DROP = 'M12 3c-3.5 4.5-6 7.8-6 11a6 6 0 0 0 12 0c0-3.2-2.5-6.5-6-11z';
  var BOLT = 'M13 2 4 14h7l-1 8 9-12h-7z';
  var CLOUD = 'M7 18h10a4 4 0 0 0 .5-8 6 6 0 0 0-11.5 1.6A3.3 3.3 0 0 0 7 18z';
  var SIGNAL = 'M12 12v9M8.5 8.5a5 5 0 0 1 7 0M5.5 5.5a9.2 9.2 0 0 1 13 0';
  var SLASH = 'M3 3l18 18';
  var PATHS = {
    // domains
    water: [DROP],
    power: [BOLT],
    cold: ['M12 2v20M3.3 7l17.4 10M3.3 17l17.4-10', 'M9.5 3.5 12 6l2.5-2.5M9.5 20.5 12 18l2.5 2.5'],
    weather: [CLOUD, 'M3 21h6M13 21h8'],
    sensors: [SIGNAL, 'M12 12.5a.5.5 0 1 0 0-1 .5.5 0 0 0 0 1z'],
    federation: ['M2 20v-8l5-5 5 5v8zM12 20v-8l5-5 5 5v8z', 'M5 20v-4h4v4M15 20v-4h4v4'],
    // the page's language
    language: ['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M3 12h18M12 3c2.5 2.5 3.8 5.5 3.8 9s-1.3 6.5-3.8 9c-2.5-2.5-3.8-5.5-3.8-9S9.5 5.5 12 3z'],
    // statuses: a shape for each, so they differ without colour
    ok: ['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M7.5 12.5l3 3 6-7'],
    watch: ['M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z', 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z'],
    strained: ['M12 3 2 21h20z', 'M12 10v5M12 18v.5'],
    critical: ['M8 2h8l6 6v8l-6 6H8l-6-6V8z', 'M12 7v6M12 16.5v.5'],
    unknown: ['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.7v.5M12 17v.5'],
    // alert kinds (the rule that raised the alert)
    water_low: [DROP, 'M7.5 16h9'],
    tank_drop: ['M5 4h14v16H5z', 'M12 7v9M9 13l3 3 3-3'],
    night_flow: ['M13 3a7 7 0 1 0 8 9 5.5 5.5 0 0 1-8-9z', 'M7 14c-1 1.4-2 2.6-2 3.8a2 2 0 0 0 4 0c0-1.2-1-2.4-2-3.8z'],
    battery_low: ['M3 8h16v8H3z', 'M21 10.5v3', 'M5.5 10.5h3v3h-3z'],
    power_unstable: ['M2 12h4l2-6 4 12 3-9 2 3h5'],
    power_out: [BOLT, SLASH],
    cold_above_safe: ['M10 4a2 2 0 0 1 4 0v10a4 4 0 1 1-4 0z', 'M12 9v7', 'M17 5h4M17 9h3'],
    sensor_offline: [SIGNAL, SLASH],
    sensor_stuck: ['M3 3v18h18', 'M7 12h12', 'M16 6v3M19 6v3'],
    storm: [CLOUD, 'M12 12l-2 4h3l-2 4'],
  };

  /**
   * An icon element. With a label it is an image with that accessible name (for an icon that
   * stands for something on its own); without one it is decoration beside a word (aria-hidden).
   */
  function icon(name, label) {
    var paths = PATHS[name] || PATHS.unknown;
    var title;
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '1.1em');
    svg.setAttribute('height', '1.1em');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    svg.setAttribute('class', 'icon icon-' + name);
    svg.setAttribute('data-icon', name);
    svg.setAttribute('focusable', 'false');
    svg.style.verticalAlign = '-0.15em';
    svg.style.flexShrink = '0';
    if (label) {
      svg.setAttribute('role', 'img');
      svg.setAttribute('aria-label', label);
      title = document.createElementNS(SVGNS, 'title');
      title.textContent = label;
      svg.appendChild(title);
    } else {
      svg.setAttribute('aria-hidden', 'true');
    }
    paths.forEach(function (d) {
      var p = document.createElementNS(SVGNS, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    });
    return svg;
  }

  window.tendIcons = { icon: icon, names: Object.keys(PATHS) };
})();
