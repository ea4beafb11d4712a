package lab

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jangkau/jangkau/collector/coverage"
	"github.com/jangkau/jangkau/internal/strictyaml"
)

// Scenario is a lab scenario file; lab/README.md documents every key.
type Scenario struct {
	Name string `yaml:"name"`
	// Duration is when the play ends, a time expression ("4m",
	// "outage_end+15s"); then every link is made clean again and the lab
	// waits up to Settle for every probe's backlog to reach the collector.
	Duration string        `yaml:"duration"`
	Settle   time.Duration `yaml:"settle"`
	// PopulationCSV (code,population), relative to the scenario file.
	PopulationCSV string         `yaml:"population_csv"`
	Collector     CollectorSpec  `yaml:"collector"`
	Probe         ProbeSpec      `yaml:"probe"`
	Services      []ServiceSpec  `yaml:"services"`
	Districts     []DistrictSpec `yaml:"districts"`
	Events        []EventSpec    `yaml:"events"`
	Assertions    []AssertSpec   `yaml:"assertions"`
	// ReportWindow is the window of the map and GeoJSON in the report.
	ReportWindow Window `yaml:"report_window"`
	// Soak, when set, makes this a load and soak run instead (see soak.go).
	Soak *SoakSpec `yaml:"soak"`

	dir string
}

// CollectorSpec is what the lab sets in the collector's config.
type CollectorSpec struct {
	Status coverage.Thresholds `yaml:"status"`
}

// ProbeSpec is every probe's config.
type ProbeSpec struct {
	UploadInterval time.Duration `yaml:"upload_interval"`
	UploadTimeout  time.Duration `yaml:"upload_timeout"`
	Checks         []CheckSpec   `yaml:"checks"`
}

// CheckSpec is one check every probe runs. Targets are the lab's own:
// icmp pings the internet namespace, dns asks the lab's DNS server for
// <name>.<zone>, http fetches the named e-service.
type CheckSpec struct {
	Name     string        `yaml:"name"`
	Kind     string        `yaml:"kind"`
	Service  string        `yaml:"service"`
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	// Count and PingInterval are icmp's packets per check and their spacing.
	Count        int           `yaml:"count"`
	PingInterval time.Duration `yaml:"ping_interval"`
}

// ServiceSpec is an e-service served in the internet namespace.
type ServiceSpec struct {
	Name string `yaml:"name"`
	Port int    `yaml:"port"`
	TLS  bool   `yaml:"tls"`
}

// DistrictSpec is one district: a namespace with a probe in Region, behind
// its own link.
type DistrictSpec struct {
	Name   string   `yaml:"name"`
	Region string   `yaml:"region"`
	Link   LinkSpec `yaml:"link"`
}

// LinkSpec is a link's impairments; in an event, only the keys given change.
type LinkSpec struct {
	// Delay is added to the round trip, half in each direction (TUN relay).
	Delay *time.Duration `yaml:"delay"`
	// Loss is the percentage of packets dropped in each direction
	// (nftables), so a ping's round trip loses 1-(1-loss)^2.
	Loss *int `yaml:"loss"`
	// Rate limits each direction (tc tbf), e.g. "2mbit"; "" removes it.
	Rate *string `yaml:"rate"`
	// Cut takes the link down at the router (ip link set down).
	Cut *bool `yaml:"cut"`
}

// EventSpec changes the lab at a time.
type EventSpec struct {
	// At is a time expression; Align moves it to the next multiple of
	// Align on the wall clock (so that a change fills whole minute buckets).
	At    string        `yaml:"at"`
	Align time.Duration `yaml:"align"`
	// Mark names the moment the event happened, for later expressions.
	Mark     string   `yaml:"mark"`
	District string   `yaml:"district"`
	Link     LinkSpec `yaml:"link"`
	// Service goes "down" (its listener closes: connection refused) or "up".
	Service string `yaml:"service"`
	State   string `yaml:"state"`
}

// Window is a span between two time expressions.
type Window struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// AssertSpec is one assertion: exactly one of its kinds is set.
type AssertSpec struct {
	Name       string            `yaml:"name"`
	Status     *StatusAssert     `yaml:"status"`
	Silent     *SilentAssert     `yaml:"silent"`
	Drained    *DrainedAssert    `yaml:"drained"`
	RTT        *RTTAssert        `yaml:"rtt"`
	Outage     *OutageAssert     `yaml:"outage"`
	StoredOnce *StoredOnceAssert `yaml:"stored_once"`
	Population *PopulationAssert `yaml:"population"`
}

// StatusAssert: each district's region at Level has a status in Want over
// the window (a past window: judged by the results alone).
type StatusAssert struct {
	Window    `yaml:",inline"`
	Districts []string `yaml:"districts"`
	Level     int      `yaml:"level"`
	Want      []string `yaml:"want"`
}

// SilentAssert: after the mark After, the district's region turns silent
// on the live map within [Min, Max].
type SilentAssert struct {
	District string        `yaml:"district"`
	After    string        `yaml:"after"`
	Min      time.Duration `yaml:"min"`
	Max      time.Duration `yaml:"max"`
}

// DrainedAssert: after the mark After, everything the district's probe had
// spooled by then reaches the collector within Max.
type DrainedAssert struct {
	District string        `yaml:"district"`
	After    string        `yaml:"after"`
	Max      time.Duration `yaml:"max"`
}

// RTTAssert: the median icmp RTT the probes measured in the window is the
// link's configured delay within Tolerance.
type RTTAssert struct {
	Window    `yaml:",inline"`
	Districts []string      `yaml:"districts"`
	Tolerance time.Duration `yaml:"tolerance"`
}

// OutageAssert: GET /api/v1/services over the window lists an outage of the
// service, and every district sees the service fail (availability below
// status.blank_below).
type OutageAssert struct {
	Window    `yaml:",inline"`
	Service   string   `yaml:"service"`
	Districts []string `yaml:"districts"`
}

// StoredOnceAssert: every probe's results are all stored, once: the
// collector's results_stored equals last_seq and nothing is lost.
type StoredOnceAssert struct{}

// PopulationAssert: the regions at Level carry the CSV's populations, and
// each one's people affected is the population of its blank or silent
// deepest regions; Affected lists the districts whose region must have
// people affected (the others must have none).
type PopulationAssert struct {
	Window   `yaml:",inline"`
	Level    int      `yaml:"level"`
	Affected []string `yaml:"affected"`
}

// LoadScenario reads and checks a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	sc.dir = filepath.Dir(path)
	if sc.PopulationCSV != "" && !filepath.IsAbs(sc.PopulationCSV) {
		sc.PopulationCSV = filepath.Join(sc.dir, sc.PopulationCSV)
	}
	if sc.PopulationCSV != "" {
		if sc.PopulationCSV, err = filepath.Abs(sc.PopulationCSV); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// ParseScenario decodes strictly (unknown keys are errors) over the
// defaults and validates.
func ParseScenario(data []byte) (*Scenario, error) {
	sc := &Scenario{Settle: 90 * time.Second, Collector: CollectorSpec{Status: coverage.DefaultThresholds},
		Probe: ProbeSpec{UploadInterval: 2 * time.Second, UploadTimeout: 5 * time.Second}}
	if err := strictyaml.Decode(data, sc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return sc, sc.Validate()
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// Validate checks the scenario's parts against each other.
func (sc *Scenario) Validate() error {
	if err := sc.Collector.Status.Validate(); err != nil {
		return fmt.Errorf("collector.status.%w", err)
	}
	if sc.Soak != nil {
		return sc.Soak.validate()
	}
	if len(sc.Districts) == 0 || len(sc.Districts) > 100 {
		return fmt.Errorf("districts: %d, want 1 to 100", len(sc.Districts))
	}
	districts := map[string]bool{}
	for i, d := range sc.Districts {
		if !nameRE.MatchString(d.Name) {
			return fmt.Errorf("districts[%d].name %q must be 1-16 of a-z 0-9, starting with a letter", i, d.Name)
		}
		if districts[d.Name] {
			return fmt.Errorf("districts[%d].name %q is used twice", i, d.Name)
		}
		districts[d.Name] = true
		if d.Region == "" {
			return fmt.Errorf("districts[%d] (%s): region is required", i, d.Name)
		}
		if err := d.Link.validate(); err != nil {
			return fmt.Errorf("districts[%d].link.%w", i, err)
		}
	}
	services := map[string]bool{}
	for i, s := range sc.Services {
		if !nameRE.MatchString(s.Name) || services[s.Name] {
			return fmt.Errorf("services[%d].name %q must be a new name of a-z 0-9", i, s.Name)
		}
		if s.Port < 1 || s.Port > 65535 {
			return fmt.Errorf("services[%d].port (%d) must be 1..65535", i, s.Port)
		}
		services[s.Name] = true
	}
	for i, c := range sc.Probe.Checks {
		switch {
		case c.Name == "":
			return fmt.Errorf("probe.checks[%d].name is required", i)
		case c.Kind != "icmp" && c.Kind != "dns" && c.Kind != "http":
			return fmt.Errorf("probe.checks[%d].kind %q: icmp, dns or http", i, c.Kind)
		case c.Kind == "http" && !services[c.Service]:
			return fmt.Errorf("probe.checks[%d].service %q is not in services", i, c.Service)
		case c.Interval <= 0 || c.Timeout <= 0 || c.Timeout >= c.Interval:
			return fmt.Errorf("probe.checks[%d] (%s): timeout (%s) must be positive and shorter than interval (%s)", i, c.Name, c.Timeout, c.Interval)
		}
	}
	marks := map[string]bool{"end": true}
	check := func(key, expr string) error {
		if _, _, err := parseWhen(expr); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if name, _, _ := parseWhen(expr); name != "" && !marks[name] {
			return fmt.Errorf("%s %q: no earlier event has mark %q", key, expr, name)
		}
		return nil
	}
	for i, e := range sc.Events {
		key := fmt.Sprintf("events[%d]", i)
		if err := check(key+".at", e.At); err != nil {
			return err
		}
		switch {
		case e.District != "" && !districts[e.District]:
			return fmt.Errorf("%s.district %q is not a district", key, e.District)
		case e.Service != "" && !services[e.Service]:
			return fmt.Errorf("%s.service %q is not a service", key, e.Service)
		case e.Service != "" && e.State != "down" && e.State != "up":
			return fmt.Errorf("%s.state %q: down or up", key, e.State)
		case (e.District == "") == (e.Service == ""):
			return fmt.Errorf("%s: give a district (with link) or a service (with state)", key)
		}
		if err := e.Link.validate(); err != nil {
			return fmt.Errorf("%s.link.%w", key, err)
		}
		if e.Mark != "" {
			if marks[e.Mark] {
				return fmt.Errorf("%s.mark %q is used twice", key, e.Mark)
			}
			marks[e.Mark] = true
		}
	}
	if sc.Duration == "" {
		return errors.New("duration is required")
	}
	if err := check("duration", sc.Duration); err != nil {
		return err
	}
	for i, a := range sc.Assertions {
		if err := a.validate(districts, services, check); err != nil {
			return fmt.Errorf("assertions[%d]: %w", i, err)
		}
	}
	if sc.ReportWindow.From == "" {
		sc.ReportWindow.From = "0s"
	}
	if sc.ReportWindow.To == "" {
		sc.ReportWindow.To = "end"
	}
	return nil
}

func (l LinkSpec) validate() error {
	switch {
	case l.Delay != nil && (*l.Delay < 0 || *l.Delay > 10*time.Second):
		return fmt.Errorf("delay (%s) must be within 0..10s", *l.Delay)
	case l.Loss != nil && (*l.Loss < 0 || *l.Loss > 100):
		return fmt.Errorf("loss (%d) must be a percentage 0..100", *l.Loss)
	case l.Rate != nil && *l.Rate != "" && !rateRE.MatchString(*l.Rate):
		return fmt.Errorf("rate %q must be like 512kbit or 2mbit", *l.Rate)
	}
	return nil
}

var rateRE = regexp.MustCompile(`^[0-9]+(bit|kbit|mbit|gbit)$`)

func (a AssertSpec) validate(districts, services map[string]bool, check func(string, string) error) error {
	n := 0
	for _, set := range []bool{a.Status != nil, a.Silent != nil, a.Drained != nil, a.RTT != nil, a.Outage != nil, a.StoredOnce != nil, a.Population != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("give exactly one of status, silent, drained, rtt, outage, stored_once, population")
	}
	known := func(names ...string) error {
		for _, d := range names {
			if !districts[d] {
				return fmt.Errorf("district %q is not a district", d)
			}
		}
		return nil
	}
	window := func(w Window) error {
		if err := check("from", w.From); err != nil {
			return err
		}
		return check("to", w.To)
	}
	switch {
	case a.Status != nil:
		for _, w := range a.Status.Want {
			if !validStatus(w) {
				return fmt.Errorf("status.want %q is not a status", w)
			}
		}
		if len(a.Status.Want) == 0 {
			return errors.New("status.want is empty")
		}
		if err := known(a.Status.Districts...); err != nil {
			return err
		}
		return window(a.Status.Window)
	case a.Silent != nil:
		if err := known(a.Silent.District); err != nil {
			return err
		}
		return check("silent.after", a.Silent.After)
	case a.Drained != nil:
		if err := known(a.Drained.District); err != nil {
			return err
		}
		return check("drained.after", a.Drained.After)
	case a.RTT != nil:
		if err := known(a.RTT.Districts...); err != nil {
			return err
		}
		return window(a.RTT.Window)
	case a.Outage != nil:
		if !services[a.Outage.Service] {
			return fmt.Errorf("outage.service %q is not a service", a.Outage.Service)
		}
		if err := known(a.Outage.Districts...); err != nil {
			return err
		}
		return window(a.Outage.Window)
	case a.Population != nil:
		if err := known(a.Population.Affected...); err != nil {
			return err
		}
		return window(a.Population.Window)
	}
	return nil
}

func validStatus(s string) bool {
	for _, st := range coverage.Statuses {
		if string(st) == s {
			return true
		}
	}
	return false
}

// parseWhen splits a time expression: "90s" (since the start), "cut",
// "cut+2m", "end-10s".
func parseWhen(expr string) (mark string, off time.Duration, err error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return "", 0, errors.New("empty time expression")
	}
	if d, err := time.ParseDuration(expr); err == nil {
		return "", d, nil
	}
	i := strings.IndexAny(expr, "+-")
	if i < 0 {
		mark = expr
	} else {
		mark = expr[:i]
		d, err := time.ParseDuration(expr[i+1:])
		if err != nil {
			return "", 0, fmt.Errorf("time %q: want DURATION, MARK or MARK±DURATION", expr)
		}
		off = d
		if expr[i] == '-' {
			off = -d
		}
	}
	if !nameRE.MatchString(strings.ReplaceAll(mark, "_", "")) {
		return "", 0, fmt.Errorf("time %q: %q is not a mark name", expr, mark)
	}
	return mark, off, nil
}

// marks are the moments events happened, as offsets from the start.
type marks map[string]time.Duration

// at resolves a time expression; ok is false while its mark is not set.
func (m marks) at(expr string) (time.Duration, bool) {
	name, off, err := parseWhen(expr)
	if err != nil {
		return 0, false
	}
	if name == "" {
		return off, true
	}
	t, ok := m[name]
	return t + off, ok
}

// fmtDur prints a duration rounded for people.
func fmtDur(d time.Duration) string {
	if d >= 10*time.Second || d <= -10*time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// fmtMS prints milliseconds.
func fmtMS(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " ms" }
