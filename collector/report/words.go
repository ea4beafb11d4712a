package report

// words are the report's own headings; every figure and status is
// written by collector/page in the same language.
type words struct {
	Title, Period, Generated, Measured, MeasuredShare            string
	Map, Blank, NoBlank, Services, Region, Uplink, Failing       string
	Changes, Better, Worse, NoChange, Since, Why, PeopleAffected string
}

var reportWords = map[string]words{
	"id": {Title: "Laporan cakupan layanan", Period: "Periode", Generated: "Dibuat",
		Measured: "Seberapa banyak yang terukur", MeasuredShare: "Provinsi",
		Map: "Peta per kabupaten/kota", Blank: "Blank spot dan wilayah senyap", NoBlank: "Tidak ada",
		Services: "Layanan × kabupaten/kota (ketersediaan)", Region: "wilayah", Uplink: "uplink",
		Failing: "tebal: gagal", Changes: "Perubahan sejak", Better: "Membaik", Worse: "Memburuk",
		NoChange: "Tidak ada kabupaten/kota atau kecamatan yang berubah status.", Since: "sejak", Why: "penyebab",
		PeopleAffected: "penduduk terdampak"},
	"en": {Title: "Coverage report", Period: "Period", Generated: "Generated",
		Measured: "How much was measured", MeasuredShare: "Province",
		Map: "Map by kabupaten/kota", Blank: "Blank spots and silent regions", NoBlank: "None",
		Services: "E-service × kabupaten/kota (availability)", Region: "region", Uplink: "uplink",
		Failing: "bold: failing", Changes: "Changes since", Better: "Better", Worse: "Worse",
		NoChange: "No kabupaten/kota or kecamatan changed status.", Since: "since", Why: "why",
		PeopleAffected: "people affected"},
}
