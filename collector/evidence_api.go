package collector

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jangkau/jangkau/collector/apikey"
	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/evidence/importer"
	"github.com/jangkau/jangkau/collector/httpapi"
	"github.com/jangkau/jangkau/geo/region"
)

// DefaultMaxEvidenceBytes is limits.max_evidence_bytes's default, 64 MiB:
// a province's quarter of Ookla tiles is a few MB as CSV (each row about
// 250 bytes with its tile WKT, so 64 MiB is some 250,000 tiles) and a
// census of every desa in Indonesia (about 84,000 rows of ~50 bytes) a
// few MB, while one import, which holds its file and rows in memory,
// stays bounded.
const DefaultMaxEvidenceBytes = 64 << 20

// evidenceAPI imports evidence files and lists the layers
// (POST/GET /api/v1/evidence/layers...). Importing needs a viewer key
// whose viewers[i].import is true, whatever public_read says; listing is
// a read like any other.
type evidenceAPI struct {
	store     evidence.Store // nil: this collector keeps no evidence
	importers apikey.Ring
	viewers   *apikey.Ring
	area      importer.Area
	maxBytes  int64
	now       func() time.Time
	log       *slog.Logger
	// mu lets one import at a time hold its file and rows in memory.
	mu sync.Mutex
}

func newEvidenceAPI(s *Server) *evidenceAPI {
	a := &evidenceAPI{store: s.opt.Evidence, viewers: &s.viewers, maxBytes: s.cfg.Limits.MaxEvidenceBytes,
		now: s.opt.Now, log: s.log, area: regionArea(s.regions)}
	for _, v := range s.cfg.Viewers {
		if v.Import {
			a.importers.Add(v.Name, v.KeySHA256)
		}
	}
	return a
}

// regionArea is what the region file covers, to count rows outside it.
func regionArea(rs *region.Regions) importer.Area {
	return importer.Area{Bound: rs.Bound(), Has: func(code string) bool { return rs.Get(code) != nil }}
}

func (a *evidenceAPI) routes(mux *http.ServeMux, reader func(http.HandlerFunc) http.Handler) {
	mux.HandleFunc("POST /api/v1/evidence/layers/{id}", a.handleImport)
	mux.Handle("GET /api/v1/evidence/layers", reader(a.handleLayers))
	mux.Handle("GET /api/v1/evidence/layers/{id}", reader(a.handleVersions))
}

// ImportAnswer is the body of a 201 from POST /api/v1/evidence/layers/{id}.
type ImportAnswer struct {
	Layer evidence.Layer `json:"layer"`
	// Format is csv or parquet, as the body was read.
	Format string `json:"format"`
	// Rows imported, and how many of them lie outside the region file (a
	// desa code it does not hold, a tile or point off its bound): stored,
	// but no view shows them.
	Rows    int `json:"rows"`
	Outside int `json:"outside"`
}

// ImportRefusal is the body of a 400 for bad rows: nothing was imported.
type ImportRefusal struct {
	Error  string              `json:"error"`
	Errors []importer.RowError `json:"errors"`
	Total  int                 `json:"total"`
}

func (a *evidenceAPI) handleImport(w http.ResponseWriter, r *http.Request) {
	name, ok := a.authorizeImport(w, r)
	if !ok {
		return
	}
	if a.store == nil {
		httpapi.Error(w, http.StatusServiceUnavailable, "this collector keeps no evidence store")
		return
	}
	l, err := layerFromQuery(r, a.now())
	if err != nil {
		httpapi.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	l.Submitter = name
	if r.ContentLength > a.maxBytes {
		a.tooLarge(w)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		a.tooLarge(w)
		return
	case err != nil:
		httpapi.Error(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.Contains(ct, "parquet") && !importer.IsParquet(data) {
		httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf("Content-Type %s says Parquet, but the body (%d bytes) does not start and end with Parquet's PAR1: send the whole file", ct, len(data)))
		return
	}
	if prev, err := a.store.Versions(r.Context(), l.ID); err == nil && prev[len(prev)-1].Kind != l.Kind {
		httpapi.Error(w, http.StatusConflict, fmt.Sprintf("layer %s holds %s evidence; import %s evidence under another id", l.ID, prev[len(prev)-1].Kind, l.Kind))
		return
	}
	res, err := importer.Read(l.Kind, data, importer.Options{})
	var bad *importer.Errors
	switch {
	case errors.As(err, &bad):
		httpapi.JSON(w, http.StatusBadRequest, ImportRefusal{
			Error: fmt.Sprintf("%d bad rows; nothing was imported: fix them and send the file again", bad.Total), Errors: bad.Rows, Total: bad.Total})
		return
	case err != nil:
		httpapi.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	l.Imported = a.now().UTC()
	stored, err := a.store.Put(r.Context(), l, res.Observations)
	if err != nil {
		a.log.Error("evidence import not stored", "layer", l.ID, "err", err)
		httpapi.Error(w, http.StatusInternalServerError, "the layer was not stored: "+err.Error())
		return
	}
	ans := ImportAnswer{Layer: stored, Format: res.Format, Rows: stored.Rows, Outside: a.area.Outside(res.Observations)}
	a.log.Info("evidence imported", "layer", stored.ID, "version", stored.Version, "kind", stored.Kind,
		"rows", ans.Rows, "outside", ans.Outside, "format", ans.Format, "viewer", name)
	w.Header().Set("Location", "/api/v1/evidence/layers/"+stored.ID)
	httpapi.JSON(w, http.StatusCreated, ans)
}

// authorizeImport lets through viewers allowed to import: 401 without a
// viewer key, 403 with one that may only read. public_read never opens it.
func (a *evidenceAPI) authorizeImport(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := apikey.FromRequest(r)
	if _, ok := a.viewers.Match(key); !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="jangkau"`)
		httpapi.Error(w, http.StatusUnauthorized, "importing evidence needs a viewer key with import: true (Authorization: Bearer KEY)")
		return "", false
	}
	name, ok := a.importers.Match(key)
	if !ok {
		httpapi.Error(w, http.StatusForbidden, "this viewer may read but not import evidence: set import: true on its entry in viewers")
		return "", false
	}
	return name, true
}

func (a *evidenceAPI) tooLarge(w http.ResponseWriter) {
	httpapi.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is larger than limits.max_evidence_bytes (%d bytes): split it (e.g. per kabupaten) or raise the limit", a.maxBytes))
}

// Bounds of a layer's text fields.
const (
	maxLayerText    = 200
	maxLayerCarrier = 64
)

// layerFromQuery reads the layer's provenance from the query parameters.
func layerFromQuery(r *http.Request, now time.Time) (evidence.Layer, error) {
	q := r.URL.Query()
	l := evidence.Layer{
		ID: r.PathValue("id"), Kind: evidence.Kind(q.Get("kind")), Title: q.Get("title"), Source: q.Get("source"),
		Licence: q.Get("licence"), Method: q.Get("method"), Network: q.Get("network"), Carrier: q.Get("carrier"),
	}
	if !evidence.ValidID(l.ID) {
		return l, fmt.Errorf("layer id %q must be 1-64 of a-z 0-9 . _ - starting with a letter or digit, e.g. ookla-mobile-2024q3", l.ID)
	}
	switch {
	case l.Kind == evidence.KindClaim:
		return l, errors.New("kind=claim: a carrier's claimed coverage is not imported here; the carrier (a partner with the submit scope) submits it as GeoJSON through the partner API (docs/api.md)")
	case !l.Kind.Valid():
		return l, fmt.Errorf("kind %q: expected ookla, podes or speedtest", l.Kind)
	}
	if l.Title == "" {
		l.Title = l.ID
	}
	for _, f := range []struct{ name, value, example string }{
		{"source", l.Source, "Ookla, BPS (Podes 2024), Diskominfo Banten field survey"},
		{"licence", l.Licence, "CC BY-NC-SA 4.0, BPS terms of use, internal"},
	} {
		if f.value == "" {
			return l, fmt.Errorf("%s is required: the provenance travels with the evidence (e.g. %s)", f.name, f.example)
		}
	}
	for _, f := range []struct{ name, value string }{{"title", l.Title}, {"source", l.Source}, {"licence", l.Licence}, {"method", l.Method}} {
		if len(f.value) > maxLayerText {
			return l, fmt.Errorf("%s is %d bytes; at most %d", f.name, len(f.value), maxLayerText)
		}
	}
	if len(l.Carrier) > maxLayerCarrier {
		return l, fmt.Errorf("carrier is %d bytes; at most %d", len(l.Carrier), maxLayerCarrier)
	}
	switch {
	case l.Network != "" && l.Network != "fixed" && l.Network != "mobile":
		return l, fmt.Errorf("network %q: expected fixed or mobile", l.Network)
	case l.Kind == evidence.KindOokla && l.Network == "":
		return l, errors.New("network is required for Ookla layers: fixed or mobile, as the file's name says")
	}
	d := q.Get("date")
	date, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return l, fmt.Errorf("date %q: expected YYYY-MM-DD, the day the data describes (a quarter's first day, the census date)", d)
	}
	if date.After(now.Add(24 * time.Hour)) {
		return l, fmt.Errorf("date %s is in the future; expected the day the data describes", d)
	}
	l.Date = date
	return l, nil
}

// LayersAnswer is the body of GET /api/v1/evidence/layers.
type LayersAnswer struct {
	Layers []evidence.Layer `json:"layers"`
}

func (a *evidenceAPI) handleLayers(w http.ResponseWriter, r *http.Request) {
	if a.store == nil {
		httpapi.JSON(w, http.StatusOK, LayersAnswer{Layers: []evidence.Layer{}})
		return
	}
	ls, err := a.store.Layers(r.Context())
	if err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	if ls == nil {
		ls = []evidence.Layer{}
	}
	httpapi.JSON(w, http.StatusOK, LayersAnswer{Layers: ls})
}

// VersionsAnswer is the body of GET /api/v1/evidence/layers/{id}.
type VersionsAnswer struct {
	ID       string           `json:"id"`
	Versions []evidence.Layer `json:"versions"`
}

func (a *evidenceAPI) handleVersions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !evidence.ValidID(id) {
		httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf("layer id %q must be 1-64 of a-z 0-9 . _ -", id))
		return
	}
	if a.store == nil {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no layer %s: this collector keeps no evidence store", id))
		return
	}
	vs, err := a.store.Versions(r.Context(), id)
	switch {
	case errors.Is(err, evidence.ErrNotFound):
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no layer %s (GET /api/v1/evidence/layers lists them)", id))
		return
	case err != nil:
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpapi.JSON(w, http.StatusOK, VersionsAnswer{ID: id, Versions: vs})
}
