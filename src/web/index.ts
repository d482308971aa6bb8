/** Static files and the built-in noVNC viewer (--web, --novnc); see the README section "Web client". */
export { createWebHandler } from './handler.js';
export { viewerUrl } from './viewer-url.js';
