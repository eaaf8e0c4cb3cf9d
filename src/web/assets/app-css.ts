/** The app's stylesheet: system fonts, high contrast, no framework. */
export const APP_CSS = `
:root { --fg:#111827; --muted:#4b5563; --bg:#f8fafc; --card:#fff; --line:#d1d5db; --accent:#1d4ed8; --accent-fg:#fff;
  --green:#166534; --green-bg:#dcfce7; --yellow:#854d0e; --yellow-bg:#fef9c3; --red:#991b1b; --red-bg:#fee2e2; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
.skip { position:absolute; left:-999px; top:0; background:var(--accent); color:var(--accent-fg); padding:.5rem 1rem; z-index:10; }
.skip:focus { left:0; }
header.top { display:flex; align-items:center; gap:1.5rem; padding:.6rem 1.5rem; background:#0f172a; color:#fff; flex-wrap:wrap; }
header.top a { color:#e0e7ff; text-decoration:none; }
header.top a:hover, header.top a:focus { text-decoration:underline; }
.brand { font-weight:700; font-size:1.1rem; color:#fff !important; }
header nav ul { display:flex; gap:1rem; list-style:none; margin:0; padding:0; flex-wrap:wrap; }
header nav a[aria-current=page] { color:#fff; font-weight:600; border-bottom:2px solid #93c5fd; }
.who { margin-left:auto; display:flex; align-items:center; gap:1rem; }
.person { color:#cbd5e1; }
button.link { background:none; border:0; color:#e0e7ff; padding:0; font:inherit; cursor:pointer; text-decoration:underline; }
main { padding:1.25rem 1.5rem 3rem; max-width:1500px; margin:0 auto; }
main:focus { outline:none; }
h1 { font-size:1.5rem; margin:.25rem 0 1rem; }
h2 { font-size:1.15rem; margin:1.5rem 0 .5rem; }
.panel > h2:first-child, .panel > p + h2 { margin-top:0; }
h3 { font-size:1rem; margin:1.25rem 0 .5rem; }
.muted { color:var(--muted); }
.notice { background:#e0f2fe; border:1px solid #7dd3fc; padding:.5rem .75rem; border-radius:6px; }
.error-box { background:var(--red-bg); border:1px solid #fca5a5; color:var(--red); padding:.5rem .75rem; border-radius:6px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(180px, 1fr)); gap:.75rem; margin-bottom:1rem; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:.75rem 1rem; }
.card .big { font-size:1.6rem; font-weight:700; }
.card .label { color:var(--muted); font-size:.85rem; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:1rem; margin-bottom:1rem; overflow-x:auto; }
.grid2 { display:grid; grid-template-columns:repeat(auto-fit, minmax(380px, 1fr)); gap:1rem; }
table { border-collapse:collapse; width:100%; background:var(--card); font-size:.875rem; }
th, td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
.nowrap, td.num { white-space:nowrap; }
td.small { font-size:.8rem; color:var(--muted); }
td .mono.muted, td .muted.mono { font-size:.75rem; }
th { font-size:.8rem; color:var(--muted); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.band { white-space:nowrap; display:inline-block; padding:0 .5rem; border-radius:999px; font-size:.85rem; font-weight:600; }
.band.green { color:var(--green); background:var(--green-bg); }
.band.yellow { color:var(--yellow); background:var(--yellow-bg); }
.band.red { color:var(--red); background:var(--red-bg); }
.band.none { color:var(--muted); background:#f1f5f9; }
.sev-critical, .sev-high { color:var(--red); font-weight:600; }
.sev-medium { color:var(--yellow); font-weight:600; }
.spark { color:var(--accent); vertical-align:middle; }
form.filters { display:flex; flex-wrap:wrap; gap:.75rem; align-items:flex-end; margin-bottom:1rem; }
form.filters label, form.stack label { display:flex; flex-direction:column; font-size:.85rem; color:var(--muted); gap:.2rem; }
form.stack { display:flex; flex-direction:column; gap:.6rem; max-width:28rem; }
form.row { display:flex; flex-wrap:wrap; gap:.4rem; align-items:center; margin:.15rem 0; }
fieldset.roles { border:0; padding:0; margin:0; display:flex; flex-wrap:wrap; gap:.2rem .6rem; }
fieldset.roles legend { font-size:.85rem; color:var(--muted); padding:0; }
label.check { display:inline-flex; gap:.25rem; align-items:center; font-size:.9rem; color:var(--fg); }
.sr { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
form.stack.wide { max-width:none; }
form.inline { display:inline; }
nav.row { display:flex; gap:.4rem; margin-bottom:.75rem; }
input, select, textarea { font:inherit; padding:.3rem .45rem; border:1px solid #6b7280; border-radius:5px; background:#fff; color:var(--fg); }
textarea { width:100%; min-height:16rem; font-family:ui-monospace, monospace; font-size:.85rem; }
button, .button { white-space:nowrap; font:inherit; padding:.3rem .8rem; border-radius:5px; border:1px solid var(--accent); background:var(--accent); color:var(--accent-fg); cursor:pointer; text-decoration:none; display:inline-block; }
button.secondary { background:#fff; color:var(--accent); }
:focus-visible { outline:3px solid #f59e0b; outline-offset:2px; }
.bandbar { width:100%; height:1.1rem; border:1px solid var(--line); border-radius:4px; display:block; }
.signin { max-width:24rem; margin:3rem auto; }
.chart { min-height:230px; }
svg.chart { width:100%; max-width:420px; height:auto; min-height:0; display:block; margin:.5rem 0; }
svg.chart.wide { max-width:640px; }
.notice.proposal h2 { margin:.1rem 0 .3rem; font-size:1.05rem; }
dl.generic { margin:.2rem 0; }
dl.generic > div { display:flex; gap:.5rem; }
dl.generic dt { color:var(--muted); min-width:10rem; }
dl.generic dd { margin:0; }
tr.changed th { border-left:3px solid var(--accent); }
th.group { text-align:left; background:#f8fafc; }
input.narrow { width:6rem; }
input.wide-input { width:100%; min-width:16rem; }
p.row a { margin-right:.75rem; }
.timeline { list-style:none; padding:0; margin:0; }
.timeline li { padding:.3rem 0; border-bottom:1px solid var(--line); }
.tag { display:inline-block; font-size:.75rem; padding:0 .4rem; border:1px solid var(--line); border-radius:4px; color:var(--muted); margin-right:.35rem; }
.pager { margin-top:.75rem; }
caption.left { text-align:left; padding:.25rem .6rem; }
details summary { cursor:pointer; color:var(--accent); }
code, .mono { font-family:ui-monospace, monospace; font-size:.85rem; overflow-wrap:anywhere; }
`;
