/** Static files and the built-in noVNC viewer (--web, --novnc); see docs/web.md. */
export { createWebHandler } from './handler.js';
export { viewerUrl } from './viewer-url.js';
