// The /dashboard page's script (served as /dashboard.js by src/web/dashboard.ts; same origin, so the page's CSP
// stays `script-src 'self'`). It asks /graphql for `stats` and draws the totals, the flattrs-per-day chart (inline
// SVG) and the top-things table. Every value goes into the page through textContent or setAttribute, never as HTML.
(function () {
  'use strict';

  var TOKEN_KEY = 'flattr-stats-token';
  var SVG = 'http://www.w3.org/2000/svg';
  var root = document.getElementById('dashboard');
  if (!root) return;
  var status = document.getElementById('status');

  var QUERY =
    'query Dashboard($from: String, $to: String) { stats { ' +
    'totals { users things flattrs activeSubscriptions } ' +
    'flattrs(from: $from, to: $to, interval: DAY) { start count } ' +
    'topThings(from: $from, to: $to, limit: 10) { rank flattrs thing { databaseId title webUrl owner { username } } } ' +
    '} }';

  function setStatus(text, state) {
    status.textContent = text;
    root.setAttribute('data-state', state);
  }

  // Errors go to the page's one error box, under a bad date the server may already have put there.
  function showError(text) {
    var box = document.getElementById('dashboard-errors');
    box.querySelector('ul').appendChild(element('li', {}, text));
    box.hidden = false;
    setStatus('', 'error');
  }

  // `#token=...` (or `#access_token=...`): kept for this tab only, and taken out of the address bar.
  function credentials() {
    var match = /(?:^#|&)(?:access_)?token=([^&]+)/.exec(window.location.hash);
    if (match) {
      try {
        window.sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      } catch (e) {
        /* storage refused: the token still works for this page view */
      }
      var token = decodeURIComponent(match[1]);
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
      return { Authorization: 'Bearer ' + token };
    }
    var stored = null;
    try {
      stored = window.sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      stored = null;
    }
    if (stored) return { Authorization: 'Bearer ' + stored };
    if (root.getAttribute('data-auth') === 'session') return { 'X-CSRF-Token': root.getAttribute('data-csrf') || '' };
    return null;
  }

  function element(name, attributes, text) {
    var node = document.createElement(name);
    Object.keys(attributes || {}).forEach(function (key) {
      node.setAttribute(key, attributes[key]);
    });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function svg(name, attributes, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) {
      node.setAttribute(key, String(attributes[key]));
    });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function drawTotals(totals) {
    var list = document.getElementById('totals');
    list.textContent = '';
    [
      ['users', 'Users'],
      ['things', 'Things'],
      ['flattrs', 'Flattrs'],
      ['activeSubscriptions', 'Active subscriptions'],
    ].forEach(function (entry) {
      var item = element('div', { 'data-total': entry[0] });
      item.appendChild(element('dt', {}, entry[1]));
      item.appendChild(element('dd', {}, totals[entry[0]]));
      list.appendChild(item);
    });
  }

  function drawChart(series) {
    var chart = document.getElementById('chart');
    chart.textContent = '';
    var width = 720;
    var height = 240;
    var left = 40;
    var bottom = 24;
    var top = 12;
    var plotHeight = height - bottom - top;
    var max = series.reduce(function (m, b) {
      return Math.max(m, b.count);
    }, 0);
    var scale = max > 0 ? plotHeight / max : 0;
    var step = (width - left) / Math.max(1, series.length);
    chart.appendChild(svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: '#999' }));
    chart.appendChild(svg('text', { x: left - 4, y: top + 4, 'text-anchor': 'end', class: 'y-max' }, max));
    chart.appendChild(svg('text', { x: left - 4, y: height - bottom, 'text-anchor': 'end' }, 0));
    series.forEach(function (bucket, i) {
      var barHeight = bucket.count * scale;
      var bar = svg('rect', {
        class: 'bar',
        x: (left + i * step + step * 0.1).toFixed(2),
        y: (height - bottom - barHeight).toFixed(2),
        width: Math.max(1, step * 0.8).toFixed(2),
        height: barHeight.toFixed(2),
        'data-day': bucket.start,
        'data-count': bucket.count,
      });
      bar.appendChild(svg('title', {}, bucket.start + ': ' + bucket.count + ' flattr' + (bucket.count === 1 ? '' : 's')));
      chart.appendChild(bar);
    });
    if (series.length) {
      chart.appendChild(svg('text', { x: left, y: height - 6, class: 'x-first' }, series[0].start));
      chart.appendChild(svg('text', { x: width, y: height - 6, 'text-anchor': 'end', class: 'x-last' }, series[series.length - 1].start));
    }
    var total = series.reduce(function (sum, b) {
      return sum + b.count;
    }, 0);
    var peak = series.reduce(function (best, b) {
      return best === null || b.count > best.count ? b : best;
    }, null);
    document.getElementById('chart-summary').textContent = series.length
      ? total + ' flattrs from ' + series[0].start + ' to ' + series[series.length - 1].start + (peak && peak.count > 0 ? '; busiest day ' + peak.start + ' with ' + peak.count + '.' : '.')
      : 'No days in the range.';
  }

  function drawTopThings(rows) {
    var body = document.querySelector('#top-things tbody');
    body.textContent = '';
    if (!rows.length) {
      var empty = element('tr');
      empty.appendChild(element('td', { colspan: '4' }, 'No flattrs in this range.'));
      body.appendChild(empty);
      return;
    }
    rows.forEach(function (row) {
      var tr = element('tr', { 'data-thing-id': row.thing ? row.thing.databaseId : '' });
      tr.appendChild(element('td', {}, row.rank));
      var titleCell = element('td', { class: 'title' });
      if (row.thing && /^https?:\/\//.test(row.thing.webUrl)) titleCell.appendChild(element('a', { href: row.thing.webUrl }, row.thing.title));
      else titleCell.textContent = row.thing ? row.thing.title : '(deleted thing)';
      tr.appendChild(titleCell);
      tr.appendChild(element('td', { class: 'owner' }, row.thing ? row.thing.owner.username : ''));
      tr.appendChild(element('td', { class: 'num flattrs' }, row.flattrs));
      body.appendChild(tr);
    });
  }

  function load() {
    var auth = credentials();
    if (!auth) {
      // The page already says what is missing (#access-help); nothing is drawn.
      setStatus('', 'no-access');
      return;
    }
    var headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    Object.keys(auth).forEach(function (key) {
      headers[key] = auth[key];
    });
    var variables = { from: document.getElementById('from').value || null, to: document.getElementById('to').value || null };
    fetch('/graphql', { method: 'POST', headers: headers, credentials: 'same-origin', body: JSON.stringify({ query: QUERY, variables: variables, operationName: 'Dashboard' }) })
      .then(function (response) {
        return response.json().then(function (result) {
          return { status: response.status, result: result };
        });
      })
      .then(function (answer) {
        var result = answer.result || {};
        var error = result.errors && result.errors[0];
        if (answer.status === 401 && auth.Authorization) {
          try {
            window.sessionStorage.removeItem(TOKEN_KEY);
          } catch (e) {
            /* nothing stored */
          }
        }
        if (error || !result.data || !result.data.stats) {
          var code = error && error.extensions && error.extensions.code;
          var refused = code === 'UNAUTHENTICATED' || answer.status === 401;
          var message =
            code === 'FORBIDDEN'
              ? 'This token does not have the stats scope.'
              : refused && auth.Authorization
                ? 'The statistics token is not valid: it may be mistyped, or revoked.'
                : refused
                  ? 'Your account does not have the statistics role (any more). An operator can grant it.'
                  : 'The statistics could not be loaded' + (error && error.message ? ': ' + error.message : '.');
          showError(message);
          return;
        }
        var stats = result.data.stats;
        drawTotals(stats.totals);
        drawChart(stats.flattrs);
        series = stats.flattrs;
        drawTopThings(stats.topThings);
        document.getElementById('results').hidden = false;
        var help = document.getElementById('access-help');
        if (help) help.hidden = true;
        setStatus('Statistics from ' + variables.from + ' to ' + variables.to + '.', 'ready');
        if (!live.started) startLive(headers);
      })
      .catch(function (e) {
        showError('The statistics could not be loaded: ' + e.message);
      });
  }

  // Live updates (issue 20): the `statsTotals` subscription over Server-Sent Events (fetch, so the same headers as the
  // query), which redraws the totals and today's bar. When the stream fails or ends, the page polls every
  // POLL_SECONDS and tries the stream again; `data-live` on #dashboard says which ("live", "polling").
  var POLL_SECONDS = 15;
  var LIVE_QUERY =
    'subscription DashboardLive { statsTotals(everySeconds: 2) { totals { users things flattrs activeSubscriptions } flattrsToday { start count } } }';
  var series = [];
  var live = { started: false, timer: null };

  function applyLive(event) {
    drawTotals(event.totals);
    var today = event.flattrsToday;
    var changed = false;
    series = series.map(function (bucket) {
      if (bucket.start !== today.start || bucket.count === today.count) return bucket;
      changed = true;
      return { start: bucket.start, count: today.count };
    });
    if (changed) drawChart(series);
  }

  function poll(headers) {
    var variables = { from: document.getElementById('from').value || null, to: document.getElementById('to').value || null };
    var body = JSON.stringify({ query: QUERY, variables: variables, operationName: 'Dashboard' });
    return fetch('/graphql', { method: 'POST', headers: headers, credentials: 'same-origin', body: body })
      .then(function (response) {
        return response.json();
      })
      .then(function (result) {
        if (!result.data || !result.data.stats) return;
        drawTotals(result.data.stats.totals);
        series = result.data.stats.flattrs;
        drawChart(series);
        drawTopThings(result.data.stats.topThings);
      });
  }

  function fallBack(headers) {
    if (live.timer) return;
    root.setAttribute('data-live', 'polling');
    live.timer = window.setTimeout(function () {
      live.timer = null;
      poll(headers)
        .catch(function () {
          /* the next attempt says more */
        })
        .then(function () {
          startLive(headers);
        });
    }, POLL_SECONDS * 1000);
  }

  function startLive(headers) {
    live.started = true;
    if (!window.ReadableStream || !window.TextDecoder) return fallBack(headers);
    var liveHeaders = {};
    Object.keys(headers).forEach(function (key) {
      liveHeaders[key] = headers[key];
    });
    liveHeaders.Accept = 'text/event-stream';
    fetch('/graphql', { method: 'POST', headers: liveHeaders, credentials: 'same-origin', body: JSON.stringify({ query: LIVE_QUERY, operationName: 'DashboardLive' }) })
      .then(function (response) {
        if (response.status !== 200 || !response.body) throw new Error('status ' + response.status);
        root.setAttribute('data-live', 'live');
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = '';
        function read() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error('stream ended');
            buffer += decoder.decode(chunk.value, { stream: true });
            var end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              var block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              var data = block.split('\n').filter(function (line) {
                return line.indexOf('data: {') === 0;
              })[0];
              if (!data) continue;
              var result = JSON.parse(data.slice(6));
              // A final event (the server ends the stream) or a refusal: fall back to polling.
              if (result.errors || !result.data) throw new Error(result.errors ? result.errors[0].message : 'no data');
              applyLive(result.data.statsTotals);
            }
            return read();
          });
        }
        return read();
      })
      .catch(function () {
        fallBack(headers);
      });
  }

  load();
})();
