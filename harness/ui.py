"""The small web page: check what was loaded, score reviews, call any model over `/v2`.

The page carries no data and no secret, so it is served without a token; every call it
makes sends the bearer token the user typed (kept in page memory only). Script and style
are external same-origin resources so the Content-Security-Policy can forbid inline code;
everything is written with `createElement` + `textContent` only, never as HTML.

What a person sees: `/check` as labelled fields, predictions as a table (review, score and
the label the model card's thresholds give it), a panel built from the model's Open
Inference Protocol metadata (`GET /v2/models/<name>`: inputs with datatypes and shapes, a
form per input, the outputs as a table), and errors that say what to do next.
"""

from __future__ import annotations

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

INDEX_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sealed model harness</title>
<link rel="stylesheet" href="/ui.css">
<script src="/ui.js" defer></script>
</head>
<body>
<h1>Sealed model harness</h1>
<p>The model was downloaded encrypted, decrypted in memory and verified before this
server reported ready. Paste your bearer token, then use the buttons.</p>
<label>Bearer token <input id="token" type="password" autocomplete="off" size="48"></label>
<details id="token-help" open>
<summary>Where is the token? Why did my browser warn about the certificate?</summary>
<p id="token-note">The token is the content of a file, not its name. Locally,
<code>make serve</code> prints it as the <code>token=</code> path on its READY line
(under <code>build/local/serve/</code> by default); paste the file's content here. Each
run writes a new token. On a cluster, the token is in the harness's bearer-token Secret
in your namespace.</p>
<p id="ca-note">Locally, the server's certificate is signed by a throwaway certificate
authority that <code>make serve</code> created for this run (the <code>ca=</code> path on
the READY line). Your browser does not know it, so it warns: that is expected on your
own machine only. Never accept such a warning for a deployed harness.</p>
</details>
<section aria-labelledby="check-title">
<h2 id="check-title">Check: what was loaded</h2>
<button id="check">Check()</button>
<p id="check-status" class="status" role="status" aria-live="polite"></p>
<dl id="check-out" aria-live="polite"></dl>
</section>
<section aria-labelledby="predict-title">
<h2 id="predict-title">Predict: score reviews</h2>
<label for="reviews">One review per line</label>
<textarea id="reviews" rows="5" cols="60">The movie was great!
The movie was okay.
The movie was terrible...</textarea>
<button id="predict">Predict()</button>
<p id="predict-status" class="status" role="status" aria-live="polite"></p>
<div id="predict-out" aria-live="polite"></div>
</section>
<section aria-labelledby="v2-title">
<h2 id="v2-title">Any model: Open Inference Protocol (/v2)</h2>
<p>Reads the model's signature from <code>GET /v2/models/&lt;name&gt;</code> and builds a
form from it; each input takes a JSON array (nested for more than one dimension).</p>
<button id="v2-load">Load model metadata</button>
<div id="v2-meta" aria-live="polite"></div>
<form id="v2-form" hidden></form>
<p id="v2-status" class="status" role="status" aria-live="polite"></p>
<div id="v2-out" aria-live="polite"></div>
</section>
<p><a href="/openapi.json">API description (OpenAPI)</a></p>
</body>
</html>
"""

UI_CSS = """body { font-family: system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem; }
textarea, input, code { font-family: monospace; }
label[for], textarea { display: block; }
label[for] { margin-top: .5rem; }
button { margin-top: .5rem; }
#v2-signature { margin-bottom: .5rem; }
section { margin-top: 1.5rem; }
table { border-collapse: collapse; margin-top: .5rem; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; font-family: monospace; overflow-wrap: anywhere; }
.status { min-height: 1.2rem; }
.error { color: #a00000; font-weight: 600; }
.label-positive { color: #106010; } .label-negative { color: #a00000; }
details { background: #f4f4f4; padding: .5rem .75rem; margin-top: .75rem; }
"""

UI_JS = """'use strict';
// Everything is built with createElement + textContent: nothing the server or the user
// typed is ever parsed as HTML.
const state = {model: null, metadata: null};

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) { node.textContent = String(text); }
  if (className) { node.className = className; }
  return node;
}
function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
function token() { return document.getElementById('token').value.trim(); }
function say(statusId, text, isError) {
  const node = document.getElementById(statusId);
  node.textContent = text;
  node.className = isError ? 'status error' : 'status';
}

// A refusal, said as what to do next.
class Refused extends Error {}

function explain(status, body, path, headers) {
  const message = body && typeof body === 'object' ? (body.message || body.error || '') : '';
  const code = body && typeof body === 'object' ? body.error : '';
  if (status === 401) {
    return 'The server refused the token (401). Paste the content of the token file: ' +
      'the token= path on the READY line of make serve. Each run writes a new token.';
  }
  if (status === 429) {
    const wait = headers.get('retry-after');
    return 'Too many requests (429): wait ' + (wait ? wait + ' s' : 'a moment') + ' and try again.';
  }
  if (status === 503) {
    return 'The model is still loading (503): try again in a second.';
  }
  if (status === 404 && code === 'no_seed_api') {
    return 'This model has no review-scoring API, so Predict cannot use it. ' +
      'Use the Open Inference Protocol (/v2) panel below.';
  }
  return 'The server answered ' + status + ' to ' + path + ': ' + (message || 'no details');
}

async function call(path, options) {
  if (!token()) {
    throw new Refused('Paste the bearer token first (see "Where is the token?" above).');
  }
  const headers = Object.assign({'Authorization': 'Bearer ' + token()}, options.headers || {});
  let response;
  try {
    response = await fetch(path, Object.assign({}, options, {headers: headers}));
  } catch (e) {
    throw new Refused('The server did not answer (' + path + '). Is make serve still running? ' +
      'If it was restarted, it has a new port, certificate and token: open the URL of its ' +
      'new READY line.');
  }
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = text; }
  if (!response.ok) { throw new Refused(explain(response.status, body, path, response.headers)); }
  return body;
}

function field(list, name, value) {
  list.appendChild(el('dt', name));
  list.appendChild(el('dd', value === undefined || value === null || value === '' ? '-' : value));
}

function showCheck(info) {
  const out = document.getElementById('check-out');
  clear(out);
  const model = info.model || {};
  const version = String(info.kms_key_version || '').split('/').pop();
  const flags = [];
  if (info.sha256_verified) { flags.push('verified'); }
  if (info.sha256_pinned) { flags.push('pinned'); }
  field(out, 'Status', info.status);
  field(out, 'Model', (model.name || '?') + ' version ' + (model.version || '?') +
        ' (' + (model.format || '?') + ')');
  field(out, 'Inputs', (model.inputs || []).join(', '));
  field(out, 'Outputs', (model.outputs || []).join(', '));
  const labels = model.labels;
  field(out, 'Labels', labels ? 'negative below ' + labels.negative_below + ', positive above ' +
        labels.positive_above + ', neutral between' : 'none (the model card has no thresholds)');
  field(out, 'Object', info.model_uri);
  field(out, 'Generation', info.generation);
  field(out, 'SHA-256', (info.sha256 || '?') + ' (' + (flags.join(', ') || 'not verified') + ')');
  field(out, 'KMS key', info.kms_key_uri);
  field(out, 'Key version', version);
  field(out, 'Keyset', info.keyset_key_type);
  field(out, 'Sealed at', info.sealed_at);
  field(out, 'Loaded at', info.loaded_at);
  field(out, 'Load time', info.load_seconds === undefined ? '' : info.load_seconds + ' s');
  field(out, 'Plaintext size', info.plaintext_bytes === undefined ? '' : info.plaintext_bytes + ' bytes');
}

async function loadCheck() {
  const info = await call('/check', {method: 'GET'});
  state.model = info.model || null;
  return info;
}

function labelOf(score, labels) {
  if (!labels) { return '-'; }
  if (score < labels.negative_below) { return 'negative'; }
  if (score > labels.positive_above) { return 'positive'; }
  return 'neutral';
}

function table(headers, rows) {
  const t = el('table');
  const head = el('thead');
  const hr = el('tr');
  headers.forEach(function (h) { const th = el('th', h); th.scope = 'col'; hr.appendChild(th); });
  head.appendChild(hr);
  t.appendChild(head);
  const body = el('tbody');
  rows.forEach(function (row) {
    const tr = el('tr');
    row.forEach(function (cell) {
      const td = cell instanceof Node ? cell : el('td', cell);
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  t.appendChild(body);
  return t;
}

function showPredictions(reviews, scores) {
  const out = document.getElementById('predict-out');
  clear(out);
  const labels = state.model ? state.model.labels : null;
  const rows = reviews.map(function (review, i) {
    const score = Number(scores[i][0]);
    const label = labelOf(score, labels);
    return [review, el('td', score.toFixed(4), 'num'), el('td', label, 'label-' + label)];
  });
  const t = table(['Review', 'Score (1 = positive)', 'Label'], rows);
  t.id = 'predict-table';
  out.appendChild(t);
  if (!labels) { out.appendChild(el('p', 'The model card has no thresholds, so no labels.')); }
}

// ---- Open Inference Protocol panel
function shapeOf(value) {
  const shape = [];
  let level = value;
  while (Array.isArray(level)) { shape.push(level.length); level = level[0]; }
  return shape;
}
function exampleFor(input) {
  const dims = input.shape.map(function (d) { return d < 0 ? 1 : d; });
  if (input.datatype === 'BYTES') {
    if (dims.length === 1) { return JSON.stringify(['The movie was great!']); }
  }
  function build(level) {
    if (level === dims.length) { return input.datatype === 'BYTES' ? 'text' : 0; }
    const out = [];
    for (let i = 0; i < dims[level]; i++) { out.push(build(level + 1)); }
    return out;
  }
  return JSON.stringify(build(0));
}
function shapeText(shape) {
  return '[' + shape.map(function (d) { return d < 0 ? 'any' : String(d); }).join(', ') + ']';
}

function showMetadata(meta) {
  const out = document.getElementById('v2-meta');
  clear(out);
  out.appendChild(el('p', 'Model ' + meta.name + ', versions ' + (meta.versions || []).join(', ') +
                          ', platform ' + meta.platform));
  const rows = [];
  meta.inputs.forEach(function (t) { rows.push(['input', t.name, t.datatype, shapeText(t.shape)]); });
  meta.outputs.forEach(function (t) { rows.push(['output', t.name, t.datatype, shapeText(t.shape)]); });
  const t = table(['Role', 'Tensor', 'Datatype', 'Shape'], rows);
  t.id = 'v2-signature';
  out.appendChild(t);
  const form = document.getElementById('v2-form');
  clear(form);
  meta.inputs.forEach(function (input, i) {
    const id = 'v2-input-' + i;
    const label = el('label', input.name + ' (' + input.datatype + ', shape ' +
                     shapeText(input.shape) + ') as a JSON array');
    label.htmlFor = id;
    const area = el('textarea');
    area.id = id;
    area.rows = 3;
    area.cols = 60;
    area.value = exampleFor(input);
    form.appendChild(label);
    form.appendChild(area);
  });
  const button = el('button', 'Infer');
  button.id = 'v2-infer';
  button.type = 'submit';
  form.appendChild(button);
  form.hidden = false;
}

function formatData(data, datatype) {
  return data.map(function (v) {
    return typeof v === 'number' && datatype.indexOf('FP') === 0 ? Number(v).toFixed(4) : String(v);
  }).join(', ');
}

function flat(value) {
  return Array.isArray(value) ? value.reduce(function (a, v) { return a.concat(flat(v)); }, []) : [value];
}

async function infer() {
  const meta = state.metadata;
  clear(document.getElementById('v2-out'));
  const inputs = [];
  for (let i = 0; i < meta.inputs.length; i++) {
    const spec = meta.inputs[i];
    let value;
    try {
      value = JSON.parse(document.getElementById('v2-input-' + i).value);
    } catch (e) {
      throw new Refused('Input ' + spec.name + ' is not valid JSON: type an array such as ' +
                        exampleFor(spec) + '.');
    }
    if (!Array.isArray(value)) {
      throw new Refused('Input ' + spec.name + ' must be a JSON array, such as ' + exampleFor(spec) + '.');
    }
    inputs.push({name: spec.name, datatype: spec.datatype, shape: shapeOf(value), data: flat(value)});
  }
  const path = '/v2/models/' + encodeURIComponent(meta.name) + '/infer';
  const answer = await call(path, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                   body: JSON.stringify({inputs: inputs})});
  const out = document.getElementById('v2-out');
  clear(out);
  const rows = (answer.outputs || []).map(function (o) {
    return [o.name, o.datatype, shapeText(o.shape), formatData(o.data || [], o.datatype)];
  });
  const t = table(['Output', 'Datatype', 'Shape', 'Data (row-major)'], rows);
  t.id = 'v2-result';
  out.appendChild(t);
}

function guard(statusId, busy, done, action) {
  return async function (event) {
    if (event) { event.preventDefault(); }
    say(statusId, busy, false);
    try {
      await action();
      say(statusId, done, false);
    } catch (e) {
      say(statusId, e instanceof Refused ? e.message : 'Unexpected problem in the page: ' + e, true);
    }
  };
}

document.addEventListener('DOMContentLoaded', function () {
  document.getElementById('check').addEventListener('click', guard('check-status',
    'Asking the server...', 'The model below was decrypted in memory and verified.', async function () {
      clear(document.getElementById('check-out'));
      showCheck(await loadCheck());
    }));
  document.getElementById('predict').addEventListener('click', guard('predict-status',
    'Scoring...', 'Scored.', async function () {
      clear(document.getElementById('predict-out'));
      const reviews = document.getElementById('reviews').value.split('\\n')
        .map(function (l) { return l.trim(); }).filter(function (l) { return l; });
      if (!reviews.length) { throw new Refused('Type at least one review, one per line.'); }
      if (!state.model) { await loadCheck(); }
      const scores = await call('/predict', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                             body: JSON.stringify({reviews: reviews})});
      showPredictions(reviews, scores);
    }));
  document.getElementById('v2-load').addEventListener('click', guard('v2-status',
    'Reading the model signature...', 'Fill in the inputs, then press Infer.', async function () {
      if (!state.model) { await loadCheck(); }
      const meta = await call('/v2/models/' + encodeURIComponent(state.model.name), {method: 'GET'});
      state.metadata = meta;
      showMetadata(meta);
    }));
  document.getElementById('v2-form').addEventListener('submit', guard('v2-status',
    'Running inference...', 'Done: the outputs are below.', infer));
});
"""
