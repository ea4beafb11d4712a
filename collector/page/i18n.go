package page

import (
	"fmt"
	"strings"

	"github.com/jangkau/jangkau/collector/coverage"
)

// labels are the map page's words in one language. Bahasa Indonesia is the
// default: the page is for the province's planners.
type labels struct {
	Name, Lang                                         string
	Title, Level, Window, Service, Carrier, All        string
	Legend, Summary, PeopleAffected, OnlyMeasured      string
	Estimated, From, To, Refresh, Skip, MapCaption     string
	Code, RegionName, StatusCol, Samples, Availability string
	Loss, P50, P95, Probes, LastSeen, Population       string
	Measured, Affected, Since, Why, Unknown, Lighter   string
	Table, Yes, No, Trend, Trend30                     string
	Changes, Better, Worse, NoChange, Report           string
	Status                                             map[coverage.Status]string
	Levels                                             map[int]string

	// regions is a count of regions: "1 region", "2 regions".
	regions func(n string, plural bool) string
	// noneBlank says no region of the level is blank or silent; people
	// is the people of blank or silent regions below it ("" for none).
	noneBlank func(level, deepest, people string) string
	// measured is "measured in 1 of 2,415 desa (2,483 of 1.53 M people)".
	measured func(n, of, level, people string) string
	// uplinkDown, failing and silentFor say why.
	uplinkDown string
	failing    func(services, outage string) string
	silentFor  func(since string) string
	// rules explains the statuses with the thresholds in force.
	rules func(th coverage.Thresholds, pct func(float64) string) string
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
		PeopleAffected: "penduduk terdampak", OnlyMeasured: "hanya penduduk wilayah yang terukur",
		Estimated: "perkiraan menurut luas wilayah", From: "Dari", To: "sampai",
		Refresh: "Halaman diperbarui setiap", Skip: "Langsung ke tabel wilayah",
		MapCaption: "Peta status per wilayah; klik wilayah untuk tingkat berikutnya.",
		Code:       "kode", RegionName: "nama", StatusCol: "status",
		Samples: "sampel", Availability: "ketersediaan", Loss: "paket hilang", P50: "p50 ms", P95: "p95 ms",
		Probes: "probe", LastSeen: "terakhir terlihat", Population: "penduduk", Measured: "terukur",
		Affected: "terdampak", Since: "sejak", Why: "penyebab", Unknown: "tidak diketahui",
		Lighter: "warna pucat: hanya sebagian wilayah yang terukur", Table: "Wilayah", Yes: "ya", No: "tidak", Trend: "ketersediaan 7 hari terakhir",
		Trend30: "ketersediaan 30 hari terakhir", Changes: "Perubahan sejak minggu lalu", Better: "membaik", Worse: "memburuk",
		Report:   "Laporan bulan ini untuk dicetak",
		NoChange: "tidak ada kabupaten/kota atau kecamatan yang berubah status",
		Status: map[coverage.Status]string{
			coverage.StatusGood: "baik", coverage.StatusDegraded: "menurun", coverage.StatusBlank: "blank spot",
			coverage.StatusSilent: "senyap", coverage.StatusUnmeasured: "belum terukur",
		},
		Levels:  map[int]string{1: "provinsi", 2: "kabupaten/kota", 3: "kecamatan", 4: "desa/kelurahan"},
		regions: func(n string, _ bool) string { return n + " wilayah" },
		noneBlank: func(level, deepest, people string) string {
			if people == "" {
				return "Tidak ada " + level + " yang blank spot atau senyap."
			}
			return "Tidak ada " + level + " yang blank spot atau senyap secara keseluruhan, tetapi " + people +
				" jiwa tinggal di " + deepest + " yang blank spot atau senyap di dalamnya."
		},
		measured: func(n, of, level, people string) string {
			return "terukur di " + n + " dari " + of + " " + level + " (" + people + ")"
		},
		uplinkDown: "uplink mati",
		failing: func(services, outage string) string {
			s := "uplink baik; layanan gagal: " + services
			if outage != "" {
				s += " (" + outage + " juga gangguan di pusat layanan)"
			}
			return s
		},
		silentFor: func(since string) string {
			return "tidak ada laporan sejak " + since + ": sambungan atau listrik putus"
		},
		rules: func(th coverage.Thresholds, pct func(float64) string) string {
			return fmt.Sprintf("Aturan status: blank spot bila ketersediaan di bawah %s (atau paket hilang %s ke atas); "+
				"menurun bila di bawah %s atau lambat; senyap bila probe tidak melapor lebih dari %s; "+
				"belum terukur bila kurang dari %d sampel. Rinciannya: docs/status.md.",
				pct(th.BlankBelow), pct(th.BlankLoss), pct(th.DegradedBelow), minutes(th.SilentAfter.Minutes(), "menit", "menit"), th.MinSamples)
		},
	},
	"en": {
		Name: "English", Lang: "en",
		Title: "jangkau — service coverage", Level: "Level", Window: "Window", Service: "Service",
		Carrier: "Carrier", All: "all", Legend: "Legend", Summary: "Blank or silent",
		PeopleAffected: "people affected", OnlyMeasured: "people of measured regions only",
		Estimated: "estimated by area share", From: "From", To: "to",
		Refresh: "The page refreshes every", Skip: "Skip to the table of regions",
		MapCaption: "Status by region; select a region for the next level.",
		Code:       "code", RegionName: "name", StatusCol: "status",
		Samples: "samples", Availability: "availability", Loss: "packet loss", P50: "p50 ms", P95: "p95 ms",
		Probes: "probes", LastSeen: "last seen", Population: "population", Measured: "measured",
		Affected: "affected", Since: "since", Why: "why", Unknown: "unknown",
		Lighter: "pale: only part of the region was measured", Table: "Regions", Yes: "yes", No: "no", Trend: "availability over the last 7 days",
		Trend30: "availability over the last 30 days", Changes: "Changes since last week", Better: "better", Worse: "worse",
		Report:   "This month's report, to print",
		NoChange: "no kabupaten/kota or kecamatan changed status",
		Status: map[coverage.Status]string{
			coverage.StatusGood: "good", coverage.StatusDegraded: "degraded", coverage.StatusBlank: "blank",
			coverage.StatusSilent: "silent", coverage.StatusUnmeasured: "unmeasured",
		},
		Levels: map[int]string{1: "province", 2: "kabupaten/kota", 3: "kecamatan", 4: "desa/kelurahan"},
		regions: func(n string, plural bool) string {
			if plural {
				return n + " regions"
			}
			return n + " region"
		},
		noneBlank: func(level, deepest, people string) string {
			if people == "" {
				return "No " + level + " is blank or silent."
			}
			return "No " + level + " is blank or silent as a whole, but " + people + " people live in blank or silent " +
				deepest + " inside."
		},
		measured: func(n, of, level, people string) string {
			return "measured in " + n + " of " + of + " " + level + " (" + people + ")"
		},
		uplinkDown: "uplink down",
		failing: func(services, outage string) string {
			s := "uplink fine; failing: " + services
			if outage != "" {
				s += " (" + outage + " also down at its end)"
			}
			return s
		},
		silentFor: func(since string) string { return "no report since " + since + ": link or power cut" },
		rules: func(th coverage.Thresholds, pct func(float64) string) string {
			return fmt.Sprintf("Status rules: blank when availability is below %s (or packet loss %s or more); "+
				"degraded below %s or when slow; silent when no probe reported for more than %s; "+
				"unmeasured with fewer than %d samples. Details: docs/status.md.",
				pct(th.BlankBelow), pct(th.BlankLoss), pct(th.DegradedBelow), minutes(th.SilentAfter.Minutes(), "minute", "minutes"), th.MinSamples)
		},
	},
}

func minutes(m float64, one, many string) string {
	s := strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", m), "0"), ".")
	if s == "1" {
		return s + " " + one
	}
	return s + " " + many
}
