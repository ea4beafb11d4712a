// Package geo knows the land: regions with hierarchical Kemendagri codes
// (province 36, kabupaten 36.01, kecamatan 36.01.05, desa 36.01.05.2003),
// which region a point falls in, the status of a cell and the colours it is
// drawn in, and the SVG map. Hierarchy comes from the codes alone, so a
// boundary file of one level yields every level above it.
package geo
