// Package tile knows web-mercator map tiles: the tile that holds a point,
// Bing quadkeys (as Ookla's open data names its tiles), a tile's extent, and
// which tiles the regions of a level cover, the cells of the coverage map.
package tile
