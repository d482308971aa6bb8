/** Static files and the built-in noVNC viewer (--web, --novnc); see docs/readme/web.md. */
export { createWebHandler } from './handler.js';
export { WebRefusal } from './respond.js';
export { viewerUrl } from './viewer-url.js';
