package relay

import "html/template"

// The login page. Script and style are constants so that the
// Content-Security-Policy can allow exactly them by hash; the only server
// value in the page, the confirm-scan URL, goes through html/template.

var consoleTemplate = template.Must(template.New("console").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenQQ login</title>
<style>{{.Style}}</style>
</head>
<body data-confirm="{{.ConfirmScanURL}}">
<main>
<h1>OpenQQ</h1>
<p>Account <b id="account">…</b></p>
<p id="state" role="status">connecting to the relay…</p>
<img id="qr" alt="QR code: scan it with the QQ mobile app" width="256" height="256" hidden>
<p><button id="confirm" type="button" hidden>Confirm scan (sandbox)</button></p>
</main>
<script>{{.Script}}</script>
</body>
</html>
`))

const consoleStyle = `
body { font-family: system-ui, sans-serif; background: #f4f5f7; color: #222; margin: 0; }
main { max-width: 24rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); text-align: center; }
h1 { margin-top: 0; font-size: 1.4rem; }
#state { font-size: 1.1rem; min-height: 1.5em; }
#qr { image-rendering: pixelated; margin: 1rem auto; display: block; }
#qr[hidden] { display: none; }
button { font-size: 1rem; padding: .5rem 1rem; cursor: pointer; }
`

const consoleScript = `
"use strict";
const q = new URLSearchParams(location.search);
const token = q.get("access_token") || "";
const client = q.get("client") || "";
const headers = token ? {"X-Auth-Token": token} : {};
const qs = client ? "?client=" + encodeURIComponent(client) : "";
const confirmURL = document.body.dataset.confirm || "";
const el = (id) => document.getElementById(id);
const texts = {
  init: "starting", loading: "loading", scaning: "scan the QR code with the QQ mobile app",
  confirming: "scanned: confirm the login on the phone", updating: "logged in: loading contacts",
  running: "running", stop: "stopped",
};
let shown = null, qrURL = null, qrAt = 0;

async function poll() {
  try {
    const r = await fetch("/openqq/check_client" + qs, {headers, cache: "no-store"});
    const body = await r.json();
    if (!r.ok || body.code !== 0) { show(null, body.status || ("HTTP " + r.status)); return; }
    show(body.client[0] || {}, null);
  } catch (e) {
    show(null, "relay unreachable");
  }
}

function show(c, err) {
  const st = c ? c.state : null;
  if (c && c.account) el("account").textContent = c.account;
  let text = err;
  if (!err) {
    text = st ? (texts[st] || st) : "connector not started";
    if (st && !c.alive) text += " (connector not responding)";
  }
  el("state").textContent = text;
  const scanning = st === "scaning" && c.alive;
  if (scanning && (shown !== st || Date.now() - qrAt > 3000)) loadQR();
  if (!scanning) hideQR();
  el("confirm").hidden = !(confirmURL && scanning);
  shown = st;
}

async function loadQR() {
  qrAt = Date.now();
  try {
    const r = await fetch("/openqq/get_qrcode" + qs, {headers, cache: "no-store"});
    if (r.status !== 200) { hideQR(); return; }
    const url = URL.createObjectURL(await r.blob());
    if (qrURL) URL.revokeObjectURL(qrURL);
    qrURL = url;
    el("qr").src = url;
    el("qr").hidden = false;
  } catch (e) {
    hideQR();
  }
}

function hideQR() {
  el("qr").hidden = true;
  if (qrURL) { URL.revokeObjectURL(qrURL); qrURL = null; }
}

el("confirm").addEventListener("click", async () => {
  try { await fetch(confirmURL, {method: "POST", mode: "no-cors"}); } catch (e) { /* the state shows the outcome */ }
  poll();
});

poll();
setInterval(poll, 1000);
`
