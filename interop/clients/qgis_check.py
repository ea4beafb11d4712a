"""A partner's QGIS (Debian qgis, python3-qgis), headless. Input (JSON on
stdin): {base, key, collections, points: [[lon, lat]], blank, geojson,
csv}. With a Basic auth config (any user, the partner key as password:
QGIS 3.22 cannot send a custom header), it opens every OGC collection with
the OAPIF provider, the partner vector tiles with the xyz provider (drawn
to an image: the colour at each point), and the exports with ogr; writes
counts, invalid geometries, field types and messages as JSON to the file
named by the last argument.

Known PyQGIS crashes: QgsError.summary() and exitQgis() segfault, so the
script ends with os._exit(0) and reads provider messages from the log.
"""
import json
import os
import sys
import tempfile

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QGIS_AUTH_DB_DIR_PATH", tempfile.mkdtemp(prefix="qgis-auth-"))

from qgis.core import (QgsApplication, QgsAuthMethodConfig, QgsCoordinateReferenceSystem,  # noqa: E402
                       QgsCoordinateTransform, QgsFillSymbol, QgsMapRendererParallelJob, QgsMapSettings,
                       QgsPointXY, QgsProject, QgsRectangle, QgsVectorLayer, QgsVectorTileBasicRenderer,
                       QgsVectorTileBasicRendererStyle, QgsVectorTileLayer, QgsWkbTypes)
from qgis.PyQt.QtCore import QSize, QVariant  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

cfg = json.load(sys.stdin)
out = {"layers": {}, "files": {}, "messages": []}
app = QgsApplication([], False)
app.initQgis()
app.messageLog().messageReceived.connect(
    lambda msg, tag, level: out["messages"].append("%s: %s" % (tag, msg)) if len(out["messages"]) < 200 else None)


def auth_config():
    am = QgsApplication.authManager()
    am.setMasterPassword("interop", True)
    c = QgsAuthMethodConfig()
    c.setName("jangkau partner")
    c.setMethod("Basic")
    c.setConfig("username", "partner")
    c.setConfig("password", cfg["key"])
    if not am.storeAuthenticationConfig(c):
        raise SystemExit("cannot store the auth config")
    return c.id()


def describe(layer):
    r = {"valid": layer.isValid(), "count": 0, "invalid": 0, "null": 0, "fields": {}}
    if not layer.isValid():
        return r
    for f in layer.fields():
        r["fields"][f.name()] = QVariant.typeToName(f.type())
    for feat in layer.getFeatures():
        r["count"] += 1
        g = feat.geometry()
        if g.isNull():
            r["null"] += 1
        elif not g.isGeosValid():
            r["invalid"] += 1
    return r


def tile_pixels(authid):
    url = cfg["base"] + "/api/v1/export/tiles/{z}/{x}/{y}.mvt"
    layer = QgsVectorTileLayer("type=xyz&url=%s&zmin=0&zmax=14&authcfg=%s" % (url.replace("&", "%26"), authid), "tiles")
    r = {"valid": layer.isValid(), "pixels": []}
    if not layer.isValid():
        return r
    style = QgsVectorTileBasicRendererStyle("blank", "regions", QgsWkbTypes.PolygonGeometry)
    style.setFilterExpression("\"status\" = 'blank'")
    style.setSymbol(QgsFillSymbol.createSimple({"color": cfg["blank"], "outline_style": "no"}))
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles([style])
    layer.setRenderer(renderer)
    merc = QgsCoordinateReferenceSystem("EPSG:3857")
    to_merc = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), merc, QgsProject.instance())
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(merc)
    settings.setOutputSize(QSize(800, 700))
    settings.setBackgroundColor(QColor("#ffffff"))
    settings.setExtent(to_merc.transformBoundingBox(QgsRectangle(105.0, -7.1, 106.9, -5.7)))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    m2p = job.mapSettings().mapToPixel()
    for lon, lat in cfg["points"]:
        p = m2p.transform(to_merc.transform(QgsPointXY(lon, lat)))
        c = QColor(img.pixel(int(p.x()), int(p.y())))
        r["pixels"].append(c.name())
    return r


try:
    authid = auth_config()
    for coll in cfg["collections"]:
        uri = "url='%s/ogc' typename='%s' authcfg='%s'" % (cfg["base"], coll, authid)
        out["layers"][coll] = describe(QgsVectorLayer(uri, coll, "OAPIF"))
    out["tiles"] = tile_pixels(authid)
    out["files"]["geojson"] = describe(QgsVectorLayer(cfg["geojson"], "geojson", "ogr"))
    csv = cfg["csv"] + "|option:GEOM_POSSIBLE_NAMES=wkt|option:KEEP_GEOM_COLUMNS=NO|option:AUTODETECT_TYPE=YES"
    out["files"]["csv"] = describe(QgsVectorLayer(csv, "csv", "ogr"))
except BaseException as e:  # noqa: B902 - report anything, then leave without exitQgis
    out["error"] = repr(e)
with open(sys.argv[-1], "w") as f:
    json.dump(out, f)
sys.stdout.flush()
os._exit(0)
