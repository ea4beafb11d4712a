package icmpapi

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// reply lays out an ICMP_ECHO_REPLY as IcmpSendEcho2 writes it on
// windows/amd64 into a buffer at base, with its data after the structure.
func reply(base uint64, from [4]byte, status, rttMS uint32, data []byte, dataAt uint64) []byte {
	b := make([]byte, ReplyLen+len(data)+8)
	copy(b[0:4], from[:])
	le := binary.LittleEndian
	le.PutUint32(b[4:], status)
	le.PutUint32(b[8:], rttMS)
	le.PutUint16(b[12:], uint16(len(data)))
	le.PutUint64(b[16:], dataAt)
	b[24] = 64 // Options.Ttl: not read, but where Windows puts it
	copy(b[ReplyLen:], data)
	return b
}

func TestParseReply(t *testing.T) {
	const base = 0xc000100000
	payload := []byte("0123456789abcdef-tag-and-more")
	tests := []struct {
		name    string
		buf     []byte
		want    Reply
		wantErr string
	}{
		{
			name: "echo reply",
			buf:  reply(base, [4]byte{192, 0, 2, 7}, StatusSuccess, 23, payload, base+ReplyLen),
			want: Reply{From: netip.MustParseAddr("192.0.2.7"), Status: StatusSuccess, RTT: 23 * time.Millisecond, Data: payload},
		},
		{
			name: "timed out, no data",
			buf:  reply(base, [4]byte{10, 1, 2, 3}, 11010, 0, nil, 0),
			want: Reply{From: netip.MustParseAddr("10.1.2.3"), Status: 11010},
		},
		{
			name:    "data pointer before the buffer",
			buf:     reply(base, [4]byte{127, 0, 0, 1}, StatusSuccess, 1, payload, base-8),
			wantErr: "lies outside its",
		},
		{
			name:    "data running past the buffer",
			buf:     reply(base, [4]byte{127, 0, 0, 1}, StatusSuccess, 1, payload, base+ReplyLen+16),
			wantErr: "lies outside its",
		},
		{
			name:    "short buffer",
			buf:     make([]byte, ReplyLen-1),
			wantErr: "want at least 40",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReply(tc.buf, base)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.From != tc.want.From || got.Status != tc.want.Status || got.RTT != tc.want.RTT || !bytes.Equal(got.Data, tc.want.Data) {
				t.Errorf("ParseReply = %+v, want %+v", got, tc.want)
			}
		})
	}
}
