"""The small web page of seed 003: Check and Predict buttons, token typed by the user.

The page carries no data and no secret, so it is served without a token; every call it
makes sends the bearer token the user typed (kept in page memory only). Script and style
are external same-origin resources so the Content-Security-Policy can forbid inline code;
results are written with `textContent` only, never as HTML.
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
<section>
<h2>Check</h2>
<button id="check">Check()</button>
<pre id="check-out"></pre>
</section>
<section>
<h2>Predict</h2>
<label for="reviews">One review per line</label>
<textarea id="reviews" rows="5" cols="60">The movie was great!
The movie was okay.
The movie was terrible...</textarea>
<button id="predict">Predict()</button>
<pre id="predict-out"></pre>
</section>
<p><a href="/openapi.json">API description (OpenAPI)</a></p>
</body>
</html>
"""

UI_CSS = """body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; }
pre { background: #f4f4f4; padding: .75rem; white-space: pre-wrap; min-height: 1.5rem; }
textarea, input { font-family: monospace; }
button { margin-top: .5rem; }
"""

UI_JS = """'use strict';
function token() { return document.getElementById('token').value.trim(); }
async function call(path, options, outId) {
  const out = document.getElementById(outId);
  out.textContent = '...';
  try {
    const headers = Object.assign({'Authorization': 'Bearer ' + token()}, options.headers || {});
    const response = await fetch(path, Object.assign({}, options, {headers: headers}));
    const text = await response.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
    out.textContent = response.status + ' ' + response.statusText + '\\n' + shown;
  } catch (e) {
    out.textContent = 'request failed: ' + e;
  }
}
document.addEventListener('DOMContentLoaded', function () {
  document.getElementById('check').addEventListener('click', function () {
    call('/check', {method: 'GET'}, 'check-out');
  });
  document.getElementById('predict').addEventListener('click', function () {
    const reviews = document.getElementById('reviews').value.split('\\n').filter(function (l) { return l.trim(); });
    call('/predict', {method: 'POST', headers: {'Content-Type': 'application/json'},
                      body: JSON.stringify({reviews: reviews})}, 'predict-out');
  });
});
"""
