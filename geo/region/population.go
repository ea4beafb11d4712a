package region

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ApplyPopulationCSV sets the population of regions from a CSV whose
// header names a "code" and a "population" column, for boundary files that
// carry none (most do not below the kabupaten). A code that is not a region
// is an error, so that a typo does not go unseen. It returns how many
// regions got a figure.
func (rs *Regions) ApplyPopulationCSV(r io.Reader) (int, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("population csv header: %w", err)
	}
	codeCol, popCol := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "code", "kode":
			codeCol = i
		case "population", "penduduk":
			popCol = i
		}
	}
	if codeCol < 0 || popCol < 0 {
		return 0, fmt.Errorf("population csv header %q needs a code and a population column", head)
	}
	n := 0
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("population csv: %w", err)
		}
		code := strings.TrimSpace(rec[codeCol])
		reg := rs.Get(code)
		if reg == nil {
			return n, fmt.Errorf("population csv line %d: code %q is not a region", line, code)
		}
		pop, err := strconv.ParseInt(strings.TrimSpace(rec[popCol]), 10, 64)
		if err != nil || pop < 0 {
			return n, fmt.Errorf("population csv line %d: population %q of %s is not a whole number", line, rec[popCol], code)
		}
		reg.Population, reg.PopulationKnown = pop, true
		n++
	}
}

// ApplyPopulationFile is ApplyPopulationCSV on a file.
func (rs *Regions) ApplyPopulationFile(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := rs.ApplyPopulationCSV(f)
	if err != nil {
		return n, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}
