// The province map panel of the Grafana dashboard, as Grafana's Geomap
// draws its GeoJSON layer: an OpenLayers vector source with the GeoJSON
// format reading the layer's URL, styled by the layer's rules (first
// matching rule, else the layer's style; fill at the style's opacity,
// outline in its colour). No basemap: it would come from the internet.
// The settings come in the URL's fragment as JSON: {src, rules, style,
// center, zoom, points: [[lon, lat]]}.
(async () => {
  const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  const rgba = (hex, a) => {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
  };
  const style = (s) => new ol.style.Style({
    fill: new ol.style.Fill({ color: s.opacity === 1 ? s.color.fixed : rgba(s.color.fixed, s.opacity ?? 0.8) }),
    stroke: new ol.style.Stroke({ color: s.color.fixed, width: s.lineWidth ?? 1 }),
  });
  const ops = {
    eq: (a, b) => a == b, neq: (a, b) => a != b, gt: (a, b) => a > b, gte: (a, b) => a >= b, lt: (a, b) => a < b, lte: (a, b) => a <= b,
  };
  const rules = cfg.rules.map((r) => ({ check: r.check, style: style(r.style) }));
  const fallback = style(cfg.style);
  const source = new ol.source.Vector({ url: cfg.src, format: new ol.format.GeoJSON() });
  const layer = new ol.layer.Vector({
    source,
    style: (f) => rules.find((r) => ops[r.check.operation](f.get(r.check.property), r.check.value))?.style ?? fallback,
  });
  const map = new ol.Map({ target: 'map', layers: [layer], controls: [], view: new ol.View({ center: ol.proj.fromLonLat(cfg.center), zoom: cfg.zoom }) });
  let loadError = null;
  await new Promise((resolve) => {
    source.once('featuresloadend', resolve);
    source.once('featuresloaderror', () => { loadError = 'featuresloaderror: the layer URL did not load'; resolve(); });
    setTimeout(() => { loadError = 'no answer within 30 s'; resolve(); }, 30000);
  });
  await new Promise((resolve) => { map.once('rendercomplete', resolve); map.render(); });
  window.interopResult = {
    loadError,
    features: source.getFeatures().length,
    points: cfg.points.map((p) => map.getPixelFromCoordinate(ol.proj.fromLonLat(p))),
  };
})();
