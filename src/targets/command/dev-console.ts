/**
 * --dev-console: a plain GET on a command path answers with a small page that opens a WebSocket to that
 * same path, sends what is typed and shows what comes back, as websocketd's developer console does. The
 * page is one static document (no template, no external asset): the URL it connects to is worked out by
 * the browser from its own location, so nothing from the request is ever written into it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const DEV_CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wstcp dev console</title>
<style>
  body { margin: 0; font: 14px/1.4 ui-monospace, Menlo, Consolas, monospace; background: #111; color: #ddd;
    display: flex; flex-direction: column; height: 100vh; }
  header { padding: 8px 12px; background: #222; display: flex; gap: 8px; align-items: center; }
  header input { flex: 1; }
  #log { flex: 1; overflow-y: auto; padding: 8px 12px; margin: 0; white-space: pre-wrap; }
  .in { color: #8fd18f; } .out { color: #8cb4ff; } .info { color: #999; font-style: italic; }
  .error { color: #ff8080; }
  form { display: flex; gap: 8px; padding: 8px 12px; background: #222; }
  form input { flex: 1; }
  input, button { font: inherit; background: #333; color: #eee; border: 1px solid #555; padding: 4px 8px; }
</style>
</head>
<body>
<header>
  <input id="url" aria-label="WebSocket URL">
  <button id="toggle" type="button">Connect</button>
</header>
<pre id="log" aria-live="polite"></pre>
<form id="send">
  <input id="message" autocomplete="off" placeholder="message to send (Enter)" aria-label="Message" disabled>
  <button type="submit" id="sendButton" disabled>Send</button>
</form>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const url = $('url'), toggle = $('toggle'), log = $('log'), message = $('message'), sendButton = $('sendButton');
  url.value = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + location.pathname + location.search;
  let ws = null;
  const show = (kind, text) => {
    const line = document.createElement('div');
    line.className = kind;
    line.textContent = (kind === 'in' ? '< ' : kind === 'out' ? '> ' : '') + text;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  };
  const setOpen = (open) => {
    message.disabled = sendButton.disabled = !open;
    toggle.textContent = open ? 'Disconnect' : 'Connect';
    if (open) message.focus();
  };
  const connect = () => {
    show('info', 'connecting to ' + url.value);
    ws = new WebSocket(url.value);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => { show('info', 'connected'); setOpen(true); };
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') show('in', e.data);
      else show('in', '[' + e.data.byteLength + ' bytes] ' + new TextDecoder().decode(e.data));
    };
    ws.onerror = () => show('error', 'connection error');
    ws.onclose = (e) => {
      show('info', 'closed (' + e.code + (e.reason ? ' ' + e.reason : '') + ')');
      setOpen(false);
      ws = null;
    };
  };
  toggle.onclick = () => (ws ? ws.close() : connect());
  $('send').onsubmit = (e) => {
    e.preventDefault();
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(message.value);
    show('out', message.value);
    message.value = '';
  };
  connect();
})();
</script>
</body>
</html>
`;

/** Answers a plain GET or HEAD with the console page. */
export function serveDevConsole(req: IncomingMessage, res: ServerResponse): void {
  const body = Buffer.from(DEV_CONSOLE_HTML, 'utf8');
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
