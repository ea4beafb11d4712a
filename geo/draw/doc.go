// Package draw draws regions and cells for people and map clients: Mapbox
// Vector Tiles for slippy maps and GIS, and standalone SVG maps for the map
// page and reports. It is told the colours and properties to draw and
// knows nothing of statuses or of where the figures come from.
package draw
