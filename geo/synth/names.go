package synth

import (
	"math/rand/v2"
	"strings"
)

// provinceCodes are Indonesia's 38 province codes, so that codes look as
// operators know them; the shapes and names are invented.
var provinceCodes = []string{
	"11", "12", "13", "14", "15", "16", "17", "18", "19", "21",
	"31", "32", "33", "34", "35", "36",
	"51", "52", "53",
	"61", "62", "63", "64", "65",
	"71", "72", "73", "74", "75", "76",
	"81", "82",
	"91", "92", "93", "94", "95", "96",
}

// spareProvinceCodes serve a country of more provinces than Indonesia's.
var spareProvinceCodes = func() []string {
	used := make(map[string]bool)
	for _, c := range provinceCodes {
		used[c] = true
	}
	var out []string
	for i := 10; i <= 99; i++ {
		if c := string(rune('0'+i/10)) + string(rune('0'+i%10)); !used[c] {
			out = append(out, c)
		}
	}
	return out
}()

var (
	namePrefixes = []string{"Suka", "Karang", "Tanjung", "Sumber", "Ci", "Mekar", "Sinar", "Pasir", "Bojong", "Muara",
		"Teluk", "Batu", "Talang", "Lubuk", "Padang", "Sungai", "Kampung", "Wana", "Giri", "Tirta", "Rawa", "Gunung", "Sido", "Banyu"}
	nameRoots = []string{"jaya", "maju", "mulya", "sari", "makmur", "asih", "wangi", "rejo", "agung", "baru", "indah",
		"harapan", "mekar", "raya", "tani", "luhur", "kencana", "mukti", "rahayu", "damai", "sejahtera", "lestari", "manik", "tengah"}
)

// namer invents Indonesian-sounding place names from its own stream, so
// that names do not disturb the shapes' random draws.
type namer struct{ rng *rand.Rand }

func newNamer(parent *rand.Rand) namer {
	return namer{rand.New(rand.NewPCG(parent.Uint64(), parent.Uint64()))}
}

func (n namer) place() string {
	p := namePrefixes[n.rng.IntN(len(namePrefixes))]
	r := nameRoots[n.rng.IntN(len(nameRoots))]
	if p == "Sungai" || p == "Kampung" || p == "Gunung" || p == "Padang" || p == "Teluk" || p == "Batu" {
		return p + " " + strings.ToUpper(r[:1]) + r[1:]
	}
	return p + r
}

func (n namer) province() string { return n.place() }

func (n namer) kabupaten(kota bool) string {
	if kota {
		return "Kota " + n.place()
	}
	return "Kabupaten " + n.place()
}
