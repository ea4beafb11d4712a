package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// InfluxQLQuery is a raw InfluxQL target of Grafana's InfluxDB data source;
// the foundation SDK has no InfluxDB query type. Only the fields Grafana
// needs for a raw query are kept.
type InfluxQLQuery struct {
	RefID        string                `json:"refId"`
	Datasource   *common.DataSourceRef `json:"datasource,omitempty"`
	Query        string                `json:"query"`
	RawQuery     bool                  `json:"rawQuery"`
	ResultFormat string                `json:"resultFormat"` // time_series or table
	Alias        string                `json:"alias,omitempty"`
	Hide         bool                  `json:"hide,omitempty"`
}

var _ variants.Dataquery = (*InfluxQLQuery)(nil)

// ImplementsDataqueryVariant marks it as a Grafana query.
func (q *InfluxQLQuery) ImplementsDataqueryVariant() {}

// DataqueryType is the data source plugin's id.
func (q *InfluxQLQuery) DataqueryType() string { return "influxdb" }

// Equals compares field by field.
func (q *InfluxQLQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(*InfluxQLQuery)
	return ok && reflect.DeepEqual(q, o)
}

// Validate wants a query and a known result format.
func (q *InfluxQLQuery) Validate() error {
	if q.Query == "" {
		return errors.New("influxql: empty query")
	}
	if q.ResultFormat != "time_series" && q.ResultFormat != "table" {
		return errors.New("influxql: resultFormat must be time_series or table")
	}
	return nil
}

// Build lets a query be its own builder.
func (q *InfluxQLQuery) Build() (variants.Dataquery, error) { return q, q.Validate() }

var _ cog.Builder[variants.Dataquery] = (*InfluxQLQuery)(nil)

// InfluxQLVariant lets the SDK's strict decoder read these queries back
// strictly (unknown fields are errors): register it with
// cog.NewRuntime().RegisterDataqueryVariant.
func InfluxQLVariant() variants.DataqueryConfig {
	decode := func(raw []byte, strict bool) (variants.Dataquery, error) {
		q := &InfluxQLQuery{}
		dec := json.NewDecoder(bytes.NewReader(raw))
		if strict {
			dec.DisallowUnknownFields()
		}
		if err := dec.Decode(q); err != nil {
			return nil, err
		}
		if strict {
			return q, q.Validate()
		}
		return q, nil
	}
	return variants.DataqueryConfig{
		Identifier:                 "influxdb",
		DataqueryUnmarshaler:       func(raw []byte) (variants.Dataquery, error) { return decode(raw, false) },
		StrictDataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) { return decode(raw, true) },
	}
}
