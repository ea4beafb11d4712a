// A planner's web map: the collector's vector tiles, fetched cross-origin
// with a viewer key, regions filled by status. The settings come in the
// URL's fragment as JSON: {collector, key, colours: {status: colour},
// fallback, views: [{center, zoom}], points: [[lon, lat]]}.
import * as maplibregl from './node_modules/maplibre-gl/dist/maplibre-gl.mjs';

const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const fill = ['match', ['get', 'status']];
for (const [status, colour] of Object.entries(cfg.colours)) fill.push(status, colour);
fill.push(cfg.fallback);

const errors = [];
const map = new maplibregl.Map({
  container: 'map',
  ...cfg.views[0],
  fadeDuration: 0,
  attributionControl: false,
  style: {
    version: 8,
    sources: { jangkau: { type: 'vector', tiles: [cfg.collector + '/tiles/{z}/{x}/{y}.mvt'], maxzoom: 14 } },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#ffffff' } },
      { id: 'regions', type: 'fill', source: 'jangkau', 'source-layer': 'regions', paint: { 'fill-color': fill, 'fill-antialias': false } },
    ],
  },
  transformRequest: (url) => (url.startsWith(cfg.collector) ? { url, headers: { Authorization: 'Bearer ' + cfg.key } } : { url }),
});
map.on('error', (e) => errors.push(String(e.error?.message ?? e.error)));

const idle = () => new Promise((resolve) => map.once('idle', resolve));
await idle();
// Pan as a user does, each move animated, then back to the overview.
for (const view of cfg.views.slice(1)) {
  map.easeTo({ ...view, duration: 400 });
  await idle();
}
window.interopResult = { errors, points: cfg.points.map((p) => { const px = map.project(p); return [px.x, px.y]; }) };
