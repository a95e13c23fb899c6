/*! footfall tracker. Settings: data-* attributes on this script tag, see docs/tracker.md */
(function (w, d) {
  'use strict';
  var s = d.currentScript, l = w.location;
  if (!s || (w.footfall && w.footfall.ff)) return; // not a classic script tag, or loaded twice
  function attr(n) { return s.getAttribute('data-' + n); }
  function on(n) { var v = attr(n); return v != null && v !== 'false'; }

  var api = attr('api') || new URL(s.src).origin + '/api/event';
  var domain = attr('domain') || l.hostname;
  var hash = on('hash'), local = on('allow-localhost'), out = on('outbound-links');
  var files = on('file-downloads') && (attr('file-types') ||
    'pdf,xlsx,docx,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,zip,avi,mov,mp4,mpeg,wmv,' +
    'midi,mp3,wav,wma,dmg').toLowerCase().split(/\s*,\s*/);

  function ignored() {
    try {
      if (localStorage.footfall_ignore === 'true' || localStorage.plausible_ignore === 'true') {
        return 'opted out';
      }
    } catch (e) { /* storage blocked */ }
    if (!local && (/^localhost$|^127(\.\d+){3}$|^\[::1?\]$/.test(l.hostname) ||
        l.protocol === 'file:')) return 'localhost';
  }

  function track(name, o) {
    o = o || {};
    if (d.prerendering) { // wait until shown; a discarded prerender sends nothing
      return d.addEventListener('prerenderingchange', function () { track(name, o); },
        { once: true });
    }
    var why = ignored(), cb = o.callback;
    if (why) {
      console.warn('footfall: ignoring ' + name + ' (' + why + ')');
      return cb && cb();
    }
    var e = { n: name, u: o.u || o.url || l.href, d: domain, r: d.referrer || null };
    if (o.props) e.p = o.props;
    if (o.revenue) e.$ = o.revenue;
    if (o.interactive === false) e.i = false;
    if (hash) e.h = 1;
    fetch(api, {
      method: 'POST', headers: { 'Content-Type': 'text/plain' }, keepalive: true,
      body: JSON.stringify(e)
    }).then(function (r) { cb && cb({ status: r.status }); },
      function (err) { cb && cb({ error: err }); });
  }

  var last;
  function page(spa) {
    var key = l.pathname + (hash ? l.hash : '');
    if (spa && key === last) return;
    last = key;
    track('pageview');
  }

  function click(e) {
    var a = e.target.closest && e.target.closest('a[href]');
    if (!a || typeof a.href !== 'string' || (e.type === 'auxclick' && e.button !== 1)) return;
    if (out && /^https?:$/.test(a.protocol) && a.host !== l.host) {
      track('Outbound Link: Click', { props: { url: a.href } });
    } else if (files && files.indexOf(a.pathname.split('.').pop().toLowerCase()) >= 0) {
      track('File Download', { props: { url: a.href.split(/[?#]/)[0] } });
    }
  }

  var queue = [].concat((w.footfall && w.footfall.q) || [], (w.plausible && w.plausible.q) || []);
  w.footfall = w.plausible = function (name, o) { track(name, o); };
  w.footfall.ff = 1;

  if (!on('manual')) {
    var h = w.history, push = h.pushState;
    h.pushState = function () { push.apply(this, arguments); page(1); };
    w.addEventListener('popstate', function () { page(1); });
    if (hash) w.addEventListener('hashchange', function () { page(1); });
    w.addEventListener('pageshow', function (e) { if (e.persisted) page(); });
    page();
  }
  if (out || files) {
    d.addEventListener('click', click);
    d.addEventListener('auxclick', click);
  }
  for (var i = 0; i < queue.length; i++) track.apply(null, queue[i]);
})(window, document);
