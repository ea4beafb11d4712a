package apikey

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"testing"
)

func TestRingMatch(t *testing.T) {
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	var k Ring
	k.Add("west", sum("tok-west"))
	k.Add("east", sum("tok-east"))
	for _, tc := range []struct {
		secret, want string
		ok           bool
	}{{"tok-west", "west", true}, {"tok-east", "east", true}, {"tok-north", "", false}, {"", "", false}} {
		if got, ok := k.Match(tc.secret); got != tc.want || ok != tc.ok {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", tc.secret, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFromRequest(t *testing.T) {
	for _, tc := range []struct {
		name, header, want string
		basic              bool
	}{
		{name: "bearer", header: "Bearer abc", want: "abc"},
		{name: "bearer any case", header: "bEaReR  abc ", want: "abc"},
		{name: "basic password", basic: true, want: "pw"},
		{name: "none"},
		{name: "other scheme", header: "Token abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.basic {
				r.SetBasicAuth("anyone", "pw")
			}
			if got := FromRequest(r); got != tc.want {
				t.Errorf("FromRequest = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValid(t *testing.T) {
	if !ValidHash("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08") || ValidHash("abc") {
		t.Error("ValidHash")
	}
	if !ValidName("kab-01.tel_x") || ValidName("") || ValidName("-a") || ValidName("a b") {
		t.Error("ValidName")
	}
}
