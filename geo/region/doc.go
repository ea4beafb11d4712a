// Package region knows the land: administrative regions with hierarchical
// Kemendagri codes (province 36, kabupaten 36.01, kecamatan 36.01.05, desa
// 36.01.05.2003), which region a point falls in, and how many people live
// there. Hierarchy comes from the codes alone, so a boundary file of one
// level yields every level above it.
package region
