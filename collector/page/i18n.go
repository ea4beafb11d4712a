package page

import (
	"fmt"

	"github.com/jangkau/jangkau/collector/coverage"
)

// labels are the map page's words in one language. Bahasa Indonesia is the
// default: the page is for the province's planners.
type labels struct {
	Name, Lang                                         string
	Title, Level, Window, Service, Carrier, All        string
	Legend, Summary, NoneBlank, PeopleAffected         string
	Regions, People, Estimated, From, To, Refresh      string
	Code, RegionName, StatusCol, Samples, Availability string
	Loss, P50, P95, Probes, LastSeen, Population       string
	Measured, Affected, Rules                          string
	Status                                             map[coverage.Status]string
	Levels                                             map[int]string
}

func (l labels) levelName(n int) string {
	if s, ok := l.Levels[n]; ok {
		return s
	}
	return fmt.Sprintf("level %d", n)
}

var pageLabels = map[string]labels{
	"id": {
		Name: "Bahasa Indonesia", Lang: "id",
		Title: "jangkau — cakupan layanan", Level: "Tingkat", Window: "Rentang", Service: "Layanan",
		Carrier: "Operator", All: "semua", Legend: "Keterangan", Summary: "Blank spot atau senyap",
		NoneBlank: "tidak ada", PeopleAffected: "penduduk terdampak", Regions: "wilayah", People: "jiwa",
		Estimated: "perkiraan menurut luas wilayah", From: "Dari", To: "sampai",
		Refresh: "Halaman diperbarui setiap", Code: "kode", RegionName: "nama", StatusCol: "status",
		Samples: "sampel", Availability: "ketersediaan", Loss: "paket hilang", P50: "p50 ms", P95: "p95 ms",
		Probes: "probe", LastSeen: "terakhir terlihat", Population: "penduduk", Measured: "ubin terukur",
		Affected: "terdampak",
		Rules:    "Aturan status: lihat README, bagian \"Status rules\".",
		Status: map[coverage.Status]string{
			coverage.StatusGood: "baik", coverage.StatusDegraded: "menurun", coverage.StatusBlank: "blank spot",
			coverage.StatusSilent: "senyap", coverage.StatusUnmeasured: "belum terukur",
		},
		Levels: map[int]string{1: "provinsi", 2: "kabupaten/kota", 3: "kecamatan", 4: "desa/kelurahan"},
	},
	"en": {
		Name: "English", Lang: "en",
		Title: "jangkau — service coverage", Level: "Level", Window: "Window", Service: "Service",
		Carrier: "Carrier", All: "all", Legend: "Legend", Summary: "Blank or silent",
		NoneBlank: "none", PeopleAffected: "people affected", Regions: "regions", People: "people",
		Estimated: "estimated by area share", From: "From", To: "to",
		Refresh: "The page refreshes every", Code: "code", RegionName: "name", StatusCol: "status",
		Samples: "samples", Availability: "availability", Loss: "packet loss", P50: "p50 ms", P95: "p95 ms",
		Probes: "probes", LastSeen: "last seen", Population: "population", Measured: "tiles measured",
		Affected: "affected",
		Rules:    "Status rules: see the README, \"Status rules\".",
		Status: map[coverage.Status]string{
			coverage.StatusGood: "good", coverage.StatusDegraded: "degraded", coverage.StatusBlank: "blank",
			coverage.StatusSilent: "silent", coverage.StatusUnmeasured: "unmeasured",
		},
		Levels: map[int]string{1: "province", 2: "kabupaten/kota", 3: "kecamatan", 4: "desa/kelurahan"},
	},
}
