"""The Jinja2 page every HTML report uses (kept in Python so it ships with the package)."""

# ruff: noqa: E501, RUF001  (HTML markup, with typographic dashes)

PAGE = r"""{% macro stats_table(rows, what, labels=False) %}
{% if rows %}<table><tr><th>{{ what }}</th><th>sent</th><th>delivered</th><th>opened</th>
<th>clicked</th><th>replied</th><th>reply rate</th><th>95% interval</th><th>unsubscribed</th>
<th>bounced</th><th>machine opens</th></tr>
{% for s in rows %}<tr><td>{{ s.label if labels else s.key }}</td><td>{{ s.sent|num }}</td>
<td>{{ s.delivery_rate|pct }}</td><td>{{ s.open_rate|pct }}</td><td>{{ s.click_rate|pct }}</td>
<td>{{ s.replied|num }}</td><td>{{ s.reply_rate|pct }}</td><td class="ci">{{ s.reply_rate|ci }}</td>
<td>{{ s.unsubscribe_rate|pct(2) }}</td><td>{{ s.bounce_rate|pct(2) }}</td>
<td>{{ s.machine_opens|num }}</td></tr>{% endfor %}</table>
{% else %}<p class="lead">Nothing in this range.</p>{% endif %}
{% endmacro -%}
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rapport · {{ title }}</title>
<style>
  :root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --card:#ffffff;
          --accent:#2563eb; --good:#059669; --bad:#dc2626; --warn:#d97706; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--ink);
         font:15px/1.45 "DejaVu Sans", system-ui, -apple-system, "Segoe UI", sans-serif; }
  header { background:#111827; color:#f9fafb; padding:28px 40px 24px; }
  header h1 { margin:0 0 4px; font-size:26px; letter-spacing:-0.01em; }
  header .sub { color:#cbd5e1; font-size:14px; }
  main { max-width:1180px; margin:0 auto; padding:24px 40px 48px; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(160px, 1fr));
           gap:14px; margin:0 0 22px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:10px;
          padding:14px 16px; }
  .card .label { color:var(--muted); font-size:12.5px; text-transform:uppercase;
                 letter-spacing:.04em; }
  .card .value { font-size:26px; font-weight:700; margin-top:2px; }
  .card .hint { color:var(--muted); font-size:12.5px; }
  .card.bad .value { color:var(--bad); } .card.good .value { color:var(--good); }
  section { background:var(--card); border:1px solid var(--line); border-radius:10px;
            padding:18px 22px; margin:0 0 18px; }
  section h2 { margin:0 0 10px; font-size:18px; }
  section p.lead { margin:0 0 12px; color:var(--muted); font-size:14px; }
  .grid2 { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
  @media (max-width: 900px) { .grid2 { grid-template-columns:1fr; } }
  svg.chart { width:auto; max-width:100%; height:auto; display:block; margin:4px 0 8px; }
  table { border-collapse:collapse; width:100%; font-size:13.5px; }
  th, td { padding:6px 8px; border-bottom:1px solid var(--line); text-align:right;
           white-space:nowrap; }
  th:first-child, td:first-child { text-align:left; white-space:normal; }
  th { color:var(--muted); font-weight:600; font-size:12.5px; background:#f9fafb; }
  td.na { color:var(--muted); }
  tr.flag td { background:#fef2f2; }
  tr.flag td:first-child { border-left:3px solid var(--bad); }
  .pill { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px;
          font-weight:600; }
  .pill.bad { background:#fee2e2; color:var(--bad); }
  .pill.good { background:#d1fae5; color:var(--good); }
  .pill.muted { background:#f3f4f6; color:var(--muted); }
  ul.notes { margin:0; padding-left:18px; color:var(--muted); font-size:13.5px; }
  footer { color:var(--muted); font-size:12.5px; text-align:center; padding:0 0 30px; }
  .ci { color:var(--muted); font-size:12px; }
</style>
</head>
<body>
<header>
  <h1>{{ title }}</h1>
  <div class="sub">
  {% if r.since %}{{ r.since|day }} to {{ r.until|day }} (until excluded){% endif %}
  {% if kind == "fairness" %}{{ r.label }} · {{ r.selection_rule }}{% endif %}
  {% if kind == "models" %} · {{ r.model_name }} version {{ r.model_version }}{% endif %}
  </div>
</header>
<main>

{% if kind == "campaigns" %}
{% set t = r.totals %}
<div class="cards">
  <div class="card"><div class="label">Sends</div><div class="value">{{ t.sent|num }}</div>
    <div class="hint">{{ r.campaigns|num }} campaigns and sequence threads</div></div>
  <div class="card"><div class="label">Delivered</div>
    <div class="value">{{ t.delivery_rate|pct }}</div><div class="hint">of email sends</div></div>
  <div class="card"><div class="label">Opened</div><div class="value">{{ t.open_rate|pct }}</div>
    <div class="hint">human opens; {{ t.machine_opens|num }} machine-opened sends excluded</div></div>
  <div class="card"><div class="label">Clicked</div><div class="value">{{ t.click_rate|pct }}</div>
    <div class="hint">of delivered</div></div>
  <div class="card good"><div class="label">Replied</div>
    <div class="value">{{ t.reply_rate|pct }}</div><div class="hint">{{ t.reply_rate|ci }}</div></div>
  <div class="card"><div class="label">Unsubscribed</div>
    <div class="value">{{ t.unsubscribe_rate|pct(2) }}</div>
    <div class="hint">bounced {{ t.bounce_rate|pct(2) }}</div></div>
</div>
<section><h2>Sends and outcomes</h2>{{ charts.funnel }}</section>
<section>
  <h2>Templates</h2>
  <p class="lead">Rates with 95% Wilson intervals. "n/a" means fewer sends than the minimum
  behind the rate: too few to judge.</p>
  <div class="grid2"><div>{{ charts.templates }}</div><div>{{ charts.opens }}</div></div>
  {{ stats_table(r.by_template, "template") }}
</section>
<section>
  <h2>A/B comparisons</h2>
  <p class="lead">Templates sent at the same channel and step are variants of each other; each
  is compared with the leader on its {{ (r.comparisons[0].metric if r.comparisons else "reply") }}
  rate. p-values are Holm-adjusted across the whole report.</p>
  {% if r.comparisons %}
  <table><tr><th>group</th><th>leader</th><th>variant</th><th>leader rate</th>
  <th>variant rate</th><th>difference (95%)</th><th>test</th><th>adjusted p</th><th></th></tr>
  {% for c in r.comparisons %}
  <tr><td>{{ c.group }}</td><td>{{ c.leader }}</td><td>{{ c.variant }}</td>
  <td>{{ c.leader_rate|pct }}</td><td>{{ c.variant_rate|pct }}</td>
  <td>{% if c.enough_data %}{{ "%+.1f"|format(100 * c.difference) }} pts
     <span class="ci">({{ "%+.1f"|format(100 * c.difference_ci_low) }} to
     {{ "%+.1f"|format(100 * c.difference_ci_high) }})</span>{% else %}n/a{% endif %}</td>
  <td>{{ c.test }}</td><td>{{ "%.3g"|format(c.p_adjusted) }}</td>
  <td>{% if not c.enough_data %}<span class="pill muted">not enough data</span>
      {% elif c.significant %}<span class="pill bad">significant</span>
      {% else %}<span class="pill good">no difference</span>{% endif %}</td></tr>
  {% endfor %}</table>
  {% else %}<p class="lead">No template has a variant at the same step in this range.</p>{% endif %}
</section>
<section><h2>Sequence steps</h2>{{ charts.steps }}{{ stats_table(r.by_step, "step", True) }}</section>
{% if r.by_sequence %}<section><h2>Sequences</h2>{{ stats_table(r.by_sequence, "sequence", True) }}</section>{% endif %}
{% if r.by_content %}<section><h2>Content items (NextBestContent)</h2>{{ stats_table(r.by_content, "content item", True) }}</section>{% endif %}
<section><h2>Channels</h2>{{ stats_table(r.by_channel, "channel") }}</section>
{% endif %}

{% if kind == "pools" %}
{% set last = r.funnel[-1] if r.funnel else None %}
<div class="cards">
  <div class="card"><div class="label">In the pool</div><div class="value">{{ r.pool_size|num }}</div>
    <div class="hint">at the end of the range</div></div>
  <div class="card"><div class="label">Joined</div><div class="value">{{ r.added|num }}</div>
    <div class="hint">in the range</div></div>
  <div class="card"><div class="label">First contact</div>
    <div class="value">{{ r.time_to_first_contact.median_hours|hours if r.time_to_first_contact.count else "n/a" }}</div>
    <div class="hint">median; p90 {{ r.time_to_first_contact.p90_hours|hours if r.time_to_first_contact.count else "n/a" }}</div></div>
  <div class="card"><div class="label">Time to reply</div>
    <div class="value">{{ r.time_to_reply.median_hours|hours if r.time_to_reply.count else "n/a" }}</div>
    <div class="hint">median; p90 {{ r.time_to_reply.p90_hours|hours if r.time_to_reply.count else "n/a" }}</div></div>
  <div class="card good"><div class="label">Hired</div>
    <div class="value">{{ last.count|num if last else 0 }}</div>
    <div class="hint">{{ last.from_start|pct if last else "" }} of those who joined</div></div>
  <div class="card"><div class="label">Re-engaged</div>
    <div class="value">{{ r.reengagement.replied|pct }}</div>
    <div class="hint">replied, of {{ r.reengagement.contacted|num }} touches after {{ r.reengagement.dormant_days }}+ quiet days</div></div>
</div>
<section><h2>Growth</h2>{{ charts.growth }}</section>
<section><h2>Funnel</h2>{{ charts.funnel }}
  <table><tr><th>stage</th><th>people</th><th>of previous</th><th>of everyone</th></tr>
  {% for f in r.funnel %}<tr><td>{{ f.stage }}</td><td>{{ f.count|num }}</td>
  <td>{{ f.from_previous|pct }}</td><td>{{ f.from_start|pct }}</td></tr>{% endfor %}</table>
</section>
<section><h2>Source quality</h2>
  <p class="lead">Of the people each source brought in during the range, the share who got
  this far by its end (95% intervals).</p>
  <div class="grid2"><div>{{ charts.interview }}</div><div>{{ charts.hired }}</div></div>
  <table><tr><th>source</th><th>people</th><th>contacted</th><th>replied</th><th>interview</th>
  <th>final round</th><th>hired</th></tr>
  {% for s in r.sources %}<tr><td>{{ s.source }}</td><td>{{ s.candidates|num }}</td>
  <td>{{ s.contacted|pct }}</td><td>{{ s.replied|pct }}</td><td>{{ s.interview|pct }}</td>
  <td>{{ s.final_round|pct }}</td><td>{{ s.hired|pct }}</td></tr>{% endfor %}</table>
</section>
{% endif %}

{% if kind == "models" %}
{% set worst = r.drift[0] if r.drift else None %}
<div class="cards">
  <div class="card"><div class="label">Model</div><div class="value">v{{ r.model_version }}</div>
    <div class="hint">{{ r.model_name }}, horizon {{ r.horizon_days|round|int }} days</div></div>
  <div class="card"><div class="label">ROC-AUC</div>
    <div class="value">{{ "%.3f"|format(r.roc_auc) if r.roc_auc is not none else "n/a" }}</div>
    <div class="hint">on {{ r.outcomes|num }} recent outcomes</div></div>
  <div class="card"><div class="label">Calibration error</div>
    <div class="value">{{ "%.3f"|format(r.ece) if r.ece is not none else "n/a" }}</div>
    <div class="hint">Brier {{ "%.4f"|format(r.brier) if r.brier is not none else "n/a" }}</div></div>
  <div class="card"><div class="label">Predicted vs observed</div>
    <div class="value">{{ "%.1f%%"|format(100 * r.mean_predicted) if r.mean_predicted is not none else "n/a" }}</div>
    <div class="hint">observed {{ r.observed_rate|pct }}</div></div>
  <div class="card {{ 'bad' if worst and worst.warning else 'good' }}"><div class="label">Largest drift</div>
    <div class="value">{{ "%.2f"|format(worst.psi) if worst else "n/a" }}</div>
    <div class="hint">{{ worst.feature if worst else "" }} (PSI; warning at {{ r.psi_warning }})</div></div>
</div>
<section><h2>Scores and calibration</h2>
  <div class="grid2"><div>{{ charts.histogram }}</div><div>{{ charts.calibration }}</div></div>
  <table><tr><th>predicted</th><th>people</th><th>mean predicted</th><th>observed</th><th>95% interval</th></tr>
  {% for b in r.calibration if b.count %}<tr><td>{{ "%.2f"|format(b.low) }}–{{ "%.2f"|format(b.high) }}</td>
  <td>{{ b.count|num }}</td><td>{{ "%.3f"|format(b.mean_predicted) }}</td><td>{{ b.observed|pct }}</td>
  <td>{{ b.observed|ci }}</td></tr>{% endfor %}</table>
</section>
<section><h2>Feature drift</h2>
  <p class="lead">Population stability index of each input: its distribution when the model's
  training data was taken ({{ r.reference_as_of|day }}) against now ({{ r.until|day }}).</p>
  {{ charts.drift }}
  {% if r.drift %}<table><tr><th>feature</th><th>PSI</th><th>kind</th><th>mean then</th><th>mean now</th></tr>
  {% for d in r.drift %}<tr class="{{ 'flag' if d.warning }}"><td>{{ d.feature }}</td>
  <td>{{ "%.3f"|format(d.psi) if d.psi is not none else "n/a" }}</td><td>{{ d.kind }}</td>
  <td>{{ "%.2f"|format(d.reference_mean) if d.reference_mean is not none else "" }}</td>
  <td>{{ "%.2f"|format(d.recent_mean) if d.recent_mean is not none else "" }}</td></tr>{% endfor %}</table>{% endif %}
</section>
<section><h2>Ranking usage</h2><p class="lead">{{ r.ranking_usage.note }}</p></section>
{% endif %}

{% if kind == "fairness" %}
<div class="cards">
  <div class="card"><div class="label">Assessed</div><div class="value">{{ r.population|num }}</div>
    <div class="hint">{{ r.selection_rule }}</div></div>
  <div class="card"><div class="label">Selected</div><div class="value">{{ r.selected|num }}</div>
    <div class="hint">{{ "%.1f%%"|format(100 * r.selected / r.population) if r.population else "n/a" }} overall</div></div>
  <div class="card {{ 'bad' if r.flagged_groups else 'good' }}"><div class="label">Flagged groups</div>
    <div class="value">{{ r.flagged_groups }}</div>
    <div class="hint">impact ratio below {{ r.threshold }}</div></div>
  <div class="card"><div class="label">Too small to judge</div>
    <div class="value">{{ too_small }}</div>
    <div class="hint">under {{ "%.0f%%"|format(100 * r.min_share) }} or {{ r.min_count }} people</div></div>
</div>
<section><h2>Method</h2><p class="lead">{{ r.method }}</p></section>
{% for t in r.tables %}
<section><h2>{{ t.characteristic }}</h2>
  {{ charts[t.characteristic] }}
  {% if t.note %}<p class="lead">{{ t.note }}</p>{% endif %}
  <table><tr><th>group</th><th>people</th><th>share</th><th>selected</th><th>selection rate</th>
  <th>impact ratio</th><th>p vs highest</th><th></th></tr>
  {% for g in t.groups %}<tr class="{{ 'flag' if g.flagged }}"><td>{{ g.group }}</td>
  <td>{{ g.total|num }}</td><td>{{ "%.1f%%"|format(100 * g.share) }}</td><td>{{ g.selected|num }}</td>
  <td>{% if g.too_small %}{{ g.selected|num }} of {{ g.total|num }}{% else %}{{ g.selection_rate|pct }}{% endif %}</td>
  <td>{{ "%.2f"|format(g.impact_ratio) if g.impact_ratio is not none and not g.too_small else "–" }}</td>
  <td>{{ "%.3g"|format(g.p_value) if g.p_value is not none else "–" }}</td>
  <td>{% if g.too_small %}<span class="pill muted">too small to judge</span>
      {% elif g.reference %}<span class="pill good">highest rate</span>
      {% elif g.flagged %}<span class="pill bad">below {{ r.threshold }}</span>{% endif %}</td></tr>{% endfor %}
  <tr><td>unknown (not in the ratios)</td><td>{{ t.unknown|num }}</td><td colspan="6"></td></tr>
  </table>
</section>
{% endfor %}
{% endif %}

{% if r.notes %}<section><h2>Notes</h2><ul class="notes">
{% for n in r.notes %}<li>{{ n }}</li>{% endfor %}</ul></section>{% endif %}
</main>
<footer>Generated by Rapport on {{ generated_at }} · self-contained page, no scripts</footer>
</body>
</html>
"""
