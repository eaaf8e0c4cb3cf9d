/**
 * The app's own script (a few hundred bytes of progressive enhancement):
 * live regions refreshed from server-sent events, and the score history chart
 * drawn with uPlot. Pages work without it.
 */
export const APP_JS = `(() => {
  'use strict';
  // Live: when the server says something changed, fetch this page again and
  // swap every [data-live-region] for its new version (no full reload).
  const live = document.body.dataset.live;
  if (live && 'EventSource' in window) {
    let busy = false, again = false;
    const refresh = async () => {
      if (busy) { again = true; return; }
      busy = true;
      try {
        const res = await fetch(location.href, { headers: { 'x-live-refresh': '1' }, credentials: 'same-origin' });
        if (res.ok) {
          const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
          for (const el of document.querySelectorAll('[data-live-region]')) {
            if (el.contains(document.activeElement) && document.activeElement !== document.body && el.querySelector('form')) continue;
            const fresh = doc.getElementById(el.id);
            if (fresh) el.replaceWith(fresh);
          }
          drawCharts();
          document.body.dataset.liveVersion = String(Number(document.body.dataset.liveVersion || 0) + 1);
        }
      } finally {
        busy = false;
        if (again) { again = false; refresh(); }
      }
    };
    const source = new EventSource(live);
    source.addEventListener('change', refresh);
    source.addEventListener('ready', () => { document.body.dataset.liveReady = '1'; });
  }

  // Charts: <div data-chart='{"x":[…unix s…],"y":[…],"from":s,"to":s,"label":"…"}'>
  function drawCharts() {
    if (!window.uPlot) return;
    for (const el of document.querySelectorAll('[data-chart]:not([data-drawn])')) {
      const spec = JSON.parse(el.dataset.chart);
      el.dataset.drawn = '1';
      const width = Math.max(280, el.clientWidth || 600);
      new window.uPlot({
        width, height: 220,
        scales: {
          x: { time: true, range: () => [spec.from, spec.to] },
          y: { range: [0, 100] },
        },
        series: [{}, { label: spec.label, stroke: '#1d4ed8', width: 2, spanGaps: true, points: { show: true, size: 6, fill: '#1d4ed8' } }],
        axes: [{}, { values: (u, v) => v.map((x) => String(x)) }],
        legend: { show: false },
      }, [spec.x, spec.y], el);
    }
  }
  window.addEventListener('load', drawCharts);

  // Forms that ask before they act: <form data-confirm="…">
  document.addEventListener('submit', (e) => {
    const msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !confirm(msg)) e.preventDefault();
  });
})();
`;
