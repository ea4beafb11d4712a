package probe

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jangkau/jangkau/probe/check"
	"github.com/jangkau/jangkau/wire"
)

// The HTTP side of the uploader: encode a batch, post it, read the answer.

// errTooLarge marks a 413 answer: the batch, not the link, is at fault.
var errTooLarge = errors.New("batch too large")

func encodeBatch(b wire.Batch) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	return buf.Bytes(), nil
}

// post sends one encoded batch and decodes a 200 answer.
func (u *Uploader) post(ctx context.Context, body []byte) (*wire.IngestResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("User-Agent", check.UserAgent)
	resp, err := u.client.Do(req)
	if err != nil {
		if _, ok := errors.AsType[*redirectError](err); ok || misconfigured(err) {
			return nil, err // the config is wrong: retried only at the back-off cap
		}
		return nil, &recoverableError{err: err}
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
	}()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusTooManyRequests || code >= 500:
		return nil, &recoverableError{err: answerError(resp), retryAfter: retryAfter(resp)}
	case code == http.StatusRequestEntityTooLarge:
		return nil, &recoverableError{err: fmt.Errorf("%w: %w", errTooLarge, answerError(resp))}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return nil, fmt.Errorf("bad or unknown token for probe %s: %w", u.probeID, answerError(resp))
	default:
		return nil, answerError(resp)
	}
	var ans wire.IngestResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&ans); err != nil {
		return nil, &recoverableError{err: fmt.Errorf("decode collector answer: %w", err)}
	}
	return &ans, nil
}

// answerError quotes the start of an error answer: the collector says why.
func answerError(resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("collector answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// retryAfter reads Retry-After on a 429 or 503, in seconds or as a date.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
