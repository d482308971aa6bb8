// wstcp's built-in viewer: connects noVNC back to the bridge that served this page.
// Page parameters: token (routes the session, e.g. vnc.html?token=abc), path (the WebSocket path,
// as in noVNC's own vnc.html: path=websockify%3Ftoken%3Dabc), shared (0 asks for exclusive access).
import RFB from './core/rfb.js';

const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];

const params = new URLSearchParams(window.location.search);
const statusEl = document.getElementById('status');
const screenEl = document.getElementById('screen');
const reconnectButton = document.getElementById('reconnect');
const loginForm = document.getElementById('login');
const loginMessage = document.getElementById('login-message');
const usernameRow = document.getElementById('username-row');
const usernameInput = document.getElementById('username');
const passwordInput = document.getElementById('password');
const tokenForm = document.getElementById('token-form');
const tokenInput = document.getElementById('token');

/** The WebSocket URL: same host and port as the page, wss when the page came over https. */
function socketUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const token = params.get('token');
  let path = params.get('path');
  if (path === null) path = token === null ? 'websockify' : `websockify?token=${encodeURIComponent(token)}`;
  return `${scheme}://${window.location.host}/${path.replace(/^\/+/, '')}`;
}

/** The same URL over http(s), for the probe: same origin, so cookies and Basic credentials go with it. */
function probeUrl() {
  return socketUrl().replace(/^ws/, 'http');
}

/** What the bridge's refusal codes mean for someone looking at this page. */
const REFUSALS = {
  WSTCP_TOKEN_MISSING: () =>
    'This bridge routes by token, and the page address has none: enter the token, or add ?token=YOUR_TOKEN to the address.',
  WSTCP_TOKEN_UNKNOWN: () => 'The bridge does not know this token: check the ?token= in the page address.',
  WSTCP_TOKEN_EXPIRED: () => 'The token has expired (or is not valid yet): ask for a new link.',
  WSTCP_TARGET_UNREACHABLE: (reason) => `The VNC server is down or cannot be reached: ${reason}`,
  WSTCP_TARGET_TIMEOUT: (reason) => `The VNC server did not answer: ${reason}`,
  WSTCP_TARGET_NOT_ALLOWED: () => 'The bridge is not allowed to connect to this desktop (--allow-target).',
  WSTCP_UNAUTHORIZED: () => 'The bridge asks for a user name and password: reload the page to log in.',
  WSTCP_FORBIDDEN: (reason) => `The bridge refused this page: ${reason}`,
  WSTCP_STORE_UNAVAILABLE: () => 'The bridge cannot look tokens up right now (its token store is down).',
  WSTCP_TOO_MANY_CONNECTIONS: () => 'The bridge has too many connections right now.',
  WSTCP_TOO_MANY_FROM_ADDRESS: () => 'Too many connections from this address right now.',
};

/**
 * Asks the bridge why the WebSocket failed (browsers hide the status of a refused handshake): a POST to
 * the same URL with X-Wstcp-Probe runs the same checks and answers with the refusal. Undefined when the
 * bridge would admit the connection now, or cannot say (an older bridge, a proxy in between).
 */
async function refusalReason() {
  let response;
  try {
    response = await fetch(probeUrl(), { method: 'POST', headers: { 'X-Wstcp-Probe': '1' }, cache: 'no-store' });
  } catch {
    return undefined;
  }
  const code = response.headers.get('X-Wstcp-Error');
  if (response.status === 204 || !code) return undefined;
  // The code is shown once, at the end; some reasons repeat it.
  const reason = (await response.text()).trim().replace(` (${code})`, '');
  const explain = REFUSALS[code];
  const text = `${explain ? explain(reason) : `The bridge refused the connection: ${reason}`} (${response.status} ${code}).`;
  return { text, code };
}

/** The bridge routes by token and the page has none: ask for it, and reload the page with it. */
function askForToken() {
  if (params.has('token') || params.has('path')) return;
  tokenForm.hidden = false;
  tokenInput.focus();
}

tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (tokenInput.value === '') return;
  const next = new URLSearchParams(window.location.search);
  next.set('token', tokenInput.value);
  window.location.search = next.toString();
});

let rfb = null;
let desktopName = '';
let credentials = {};
let everConnected = false;
let attempt = 0;
// Per connection: a login was tried (credentials sent) and the server refused it.
let sentCredentials = false;
let loginRefused = false;
// Across the reconnect that follows a refused login, so the form says why it is back.
let askAgain = false;
let retryTimer = null;
let countdownTimer = null;

function show(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function clearRetry() {
  clearTimeout(retryTimer);
  clearInterval(countdownTimer);
  retryTimer = null;
  countdownTimer = null;
  reconnectButton.hidden = true;
}

function connect() {
  clearRetry();
  sentCredentials = Object.keys(credentials).length > 0;
  loginRefused = false;
  show(
    'connecting',
    everConnected ? 'Reconnecting to the remote desktop…' : 'Connecting to the remote desktop…',
  );
  try {
    rfb = new RFB(screenEl, socketUrl(), { credentials, shared: params.get('shared') !== '0' });
  } catch (err) {
    show('failed', `The viewer could not start: ${err.message}`);
    return;
  }
  rfb.scaleViewport = true;
  rfb.background = '#1e1e1e';
  rfb.addEventListener('connect', onConnect);
  rfb.addEventListener('disconnect', onDisconnect);
  rfb.addEventListener('credentialsrequired', onCredentialsRequired);
  rfb.addEventListener('securityfailure', onSecurityFailure);
  // noVNC reports the name during the handshake, before 'connect'; it may also change later.
  rfb.addEventListener('desktopname', (e) => {
    desktopName = e.detail.name;
    document.title = desktopName || 'Remote desktop';
    if (statusEl.dataset.state === 'connected') showConnected();
  });
}

function onConnect() {
  everConnected = true;
  attempt = 0;
  askAgain = false;
  loginForm.hidden = true;
  showConnected();
  rfb.focus();
}

function showConnected() {
  show('connected', desktopName ? `Connected to ${desktopName}` : 'Connected');
}

function onCredentialsRequired(e) {
  const types = e.detail.types;
  usernameRow.hidden = !types.includes('username');
  loginMessage.textContent = askAgain
    ? 'The password was not accepted. Try again.'
    : 'The remote desktop asks for a password.';
  loginForm.hidden = false;
  show('password', 'Waiting for the password…');
  (usernameRow.hidden ? passwordInput : usernameInput).focus();
}

function onSecurityFailure(e) {
  loginRefused = true;
  credentials = {};
  const reason = e.detail.reason ? ` (${e.detail.reason})` : '';
  show('failed', `The remote desktop refused the login${reason}.`);
}

async function onDisconnect(e) {
  rfb = null;
  if (loginRefused && sentCredentials) {
    // Ask again at once: the server wants a password and the last one was wrong. The user answers
    // the form before anything is sent, so this cannot spin.
    askAgain = true;
    connect();
    return;
  }
  const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)];
  attempt += 1;
  let what;
  if (everConnected && e.detail.clean) {
    what = 'The remote desktop closed the session.';
  } else {
    if (!everConnected) show('connecting', 'The connection failed; asking the bridge why…');
    const refused = e.detail.clean || loginRefused ? undefined : await refusalReason();
    if (refused) {
      what = refused.text;
      if (refused.code === 'WSTCP_TOKEN_MISSING') askForToken();
    }
    else if (everConnected) what = 'The connection to the remote desktop was lost.';
    else {
      what = 'The remote desktop could not be reached.';
      // Newer VNC login methods use WebCrypto, which browsers offer only to https pages (and localhost).
      if (!window.isSecureContext) {
        what += ' If the VNC server needs a modern login, open this page over https.';
      }
    }
  }
  let left = Math.round(delay / 1000);
  const tick = () => show('reconnecting', `${what} Trying again in ${left} s.`);
  tick();
  countdownTimer = setInterval(() => {
    left = Math.max(0, left - 1);
    tick();
  }, 1000);
  retryTimer = setTimeout(connect, delay);
  reconnectButton.hidden = false;
}

loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  credentials = { password: passwordInput.value };
  if (!usernameRow.hidden) credentials.username = usernameInput.value;
  passwordInput.value = '';
  loginForm.hidden = true;
  if (rfb) {
    sentCredentials = true;
    show('connecting', 'Logging in…');
    rfb.sendCredentials(credentials);
  } else {
    connect();
  }
});

reconnectButton.addEventListener('click', () => {
  attempt = 0;
  connect();
});

window.addEventListener('online', () => {
  if (retryTimer !== null) connect();
});

connect();
