package partner

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jangkau/jangkau/collector/evidence"
	"github.com/jangkau/jangkau/collector/httpapi"
)

// Carriers' declared coverage, the export API's counterpart: a partner
// with submit: true posts a carrier's claimed coverage as GeoJSON to
// /api/v1/claims/{id}; each accepted post is one new version of the
// evidence layer {id} (kind claim), and the partner lists its own
// submissions and their versions. See docs/api.md, "Submitting claims".

// claimResponse is the 201 of an accepted claim.
type claimResponse struct {
	Layer   evidence.Layer `json:"layer"`
	Version int            `json:"version"`
}

// claimRefusal is the 400 of a claim with problems.
type claimRefusal struct {
	Error         string    `json:"error"`
	Problems      []Problem `json:"problems"`
	ProblemsTotal int       `json:"problems_total"`
}

// claimStore is the evidence store, or false after a 403 for a partner
// without the submit scope or a 503 for a collector that keeps none.
func (s *API) claimStore(w http.ResponseWriter, sc *scope) (evidence.Store, bool) {
	if !sc.submit {
		httpapi.Error(w, http.StatusForbidden, fmt.Sprintf("partner %s may not submit claims: the operator sets partners[].submit: true for it", sc.name))
		return nil, false
	}
	return s.evidenceStore(w)
}

// submitClaim serves POST /api/v1/claims/{id}: carrier, licence and title
// as query parameters, the body a GeoJSON FeatureCollection.
func (s *API) submitClaim(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	st, ok := s.claimStore(w, sc)
	if !ok {
		return
	}
	id, q := r.PathValue("id"), r.URL.Query()
	if !evidence.ValidID(id) {
		httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf("claim id %q must be 1-64 of a-z 0-9 . _ - starting with a letter or digit", id))
		return
	}
	carrier := q.Get("carrier")
	if carrier != "" && !sc.carrierOK(carrier) {
		httpapi.Fail(w, "submit claim", &httpapi.ScopeError{Partner: sc.name, Field: "carrier", Value: carrier}, s.r.StoreFailed)
		return
	}
	max := sc.claims.MaxBytes
	if r.ContentLength > max {
		tooLarge(w, r.ContentLength, max)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge(w, -1, max)
			return
		}
		httpapi.Error(w, http.StatusBadRequest, fmt.Sprintf("reading the claim: %v", err))
		return
	}
	c, problems := decodeClaim(body, claimInput{carrier: carrier, limits: sc.claims})
	for _, cr := range c.carriers {
		if !sc.carrierOK(cr) {
			httpapi.Fail(w, "submit claim", &httpapi.ScopeError{Partner: sc.name, Field: "carrier", Value: cr}, s.r.StoreFailed)
			return
		}
	}
	if problems != nil {
		httpapi.JSON(w, http.StatusBadRequest, claimRefusal{
			Error:    fmt.Sprintf("the claim has %d problem(s); nothing was stored", problems.total),
			Problems: problems.list, ProblemsTotal: problems.total,
		})
		return
	}
	l := evidence.Layer{
		ID: id, Kind: evidence.KindClaim, Source: c.carrier, Carrier: c.carrier, Submitter: sc.name,
		Title:   orDefault(q.Get("title"), c.carrier+" declared coverage"),
		Licence: orDefault(q.Get("licence"), defaultClaimLicence(sc.name)),
		Method:  "declared by the carrier, submitted through the partner API",
		Date:    c.asOf,
	}
	if l.Date.IsZero() {
		now := s.r.Now().UTC()
		l.Date = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	}
	stored, code, err := s.putClaim(r, st, l, c)
	switch {
	case code != 0:
		httpapi.Error(w, code, err.Error())
		return
	case err != nil:
		httpapi.Fail(w, "submit claim", err, s.r.StoreFailed)
		return
	}
	a.rows = stored.Rows
	w.Header().Set("Location", "/api/v1/claims/"+id)
	httpapi.JSON(w, http.StatusCreated, claimResponse{Layer: stored, Version: stored.Version})
}

// putClaim stores l as the next version of its ID, unless the ID holds
// another kind of layer or another partner's or carrier's claim (409). The
// check and the put are one step among claims.
func (s *API) putClaim(r *http.Request, st evidence.Store, l evidence.Layer, c claim) (evidence.Layer, int, error) {
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	versions, err := st.Versions(r.Context(), l.ID)
	switch {
	case errors.Is(err, evidence.ErrNotFound):
	case err != nil:
		return evidence.Layer{}, 0, err
	default:
		last := versions[len(versions)-1]
		switch {
		case last.Kind != evidence.KindClaim:
			return evidence.Layer{}, http.StatusConflict, fmt.Errorf("layer %q holds %s evidence, not claims: choose another id", l.ID, last.Kind)
		case last.Submitter != l.Submitter:
			return evidence.Layer{}, http.StatusConflict, fmt.Errorf("claim %q was submitted by another partner: choose another id", l.ID)
		case last.Carrier != l.Carrier:
			return evidence.Layer{}, http.StatusConflict, fmt.Errorf("claim %q is %s's coverage, not %s's: choose another id", l.ID, last.Carrier, l.Carrier)
		}
	}
	stored, err := st.Put(r.Context(), l, c.obs)
	return stored, 0, err
}

func tooLarge(w http.ResponseWriter, n, max int64) {
	msg := fmt.Sprintf("the claim is larger than partners[].claim_limits.max_bytes (%d): simplify the polygons or split the claim", max)
	if n > 0 {
		msg = fmt.Sprintf("the claim's %d bytes are more than partners[].claim_limits.max_bytes (%d): simplify the polygons or split the claim", n, max)
	}
	httpapi.Error(w, http.StatusRequestEntityTooLarge, msg)
}

// defaultClaimLicence is a claim's licence when the partner names none.
func defaultClaimLicence(partner string) string {
	return "submitted by " + partner + " under the province's data agreement"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// listClaims serves GET /api/v1/claims: the newest version of each claim
// the partner submitted.
func (s *API) listClaims(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	st, ok := s.claimStore(w, sc)
	if !ok {
		return
	}
	layers, err := st.Layers(r.Context())
	if err != nil {
		httpapi.Fail(w, "list claims", err, s.r.StoreFailed)
		return
	}
	own := []evidence.Layer{}
	for _, l := range layers {
		if l.Kind == evidence.KindClaim && l.Submitter == sc.name {
			own = append(own, l)
		}
	}
	a.rows = len(own)
	httpapi.JSON(w, http.StatusOK, map[string]any{"claims": own})
}

// claimVersions serves GET /api/v1/claims/{id}: every version of one of
// the partner's claims, oldest first. Another partner's claim is a 404,
// as one that does not exist.
func (s *API) claimVersions(w http.ResponseWriter, r *http.Request, sc *scope, a *auditEntry) {
	st, ok := s.claimStore(w, sc)
	if !ok {
		return
	}
	id := r.PathValue("id")
	versions, err := st.Versions(r.Context(), id)
	notFound := errors.Is(err, evidence.ErrNotFound)
	if err != nil && !notFound {
		httpapi.Fail(w, "claim versions", err, s.r.StoreFailed)
		return
	}
	if notFound || versions[0].Kind != evidence.KindClaim || versions[len(versions)-1].Submitter != sc.name {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("partner %s submitted no claim %q: see /api/v1/claims", sc.name, id))
		return
	}
	a.rows = len(versions)
	httpapi.JSON(w, http.StatusOK, map[string]any{"id": id, "versions": versions})
}
