package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// readRoleConfig decodes a role's JSON config file.
func readRoleConfig(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", envConfig, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s %s: %w", envConfig, path, err)
	}
	return nil
}

// writeRoleConfig writes a role's JSON config file.
func writeRoleConfig(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// proxyConfig: accept on a unix socket, forward to a TCP address inside
// the namespace the proxy runs in. It is how the lab, in the root
// namespace, reads the collector's API and the probes' metrics without a
// single IP packet leaving the lab's namespaces.
type proxyConfig struct {
	Socket string `json:"socket"`
	To     string `json:"to"`
}

func serveProxy(ctx context.Context, path string, log *slog.Logger) error {
	var c proxyConfig
	if err := readRoleConfig(path, &c); err != nil {
		return err
	}
	os.Remove(c.Socket)
	ln, err := net.Listen("unix", c.Socket)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("proxy accept: %w", err)
		}
		go func() {
			defer conn.Close()
			up, err := net.DialTimeout("tcp", c.To, 5*time.Second)
			if err != nil {
				log.Debug("proxy dial", "to", c.To, "err", err)
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(up, conn); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { io.Copy(conn, up); conn.(*net.UnixConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

// unixClient is an HTTP client whose every request goes to one unix socket.
func unixClient(socket string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			MaxIdleConns:    4,
			IdleConnTimeout: 30 * time.Second,
		},
	}
}

// controlServer serves a role's control endpoints on a unix socket.
func controlServer(ctx context.Context, socket string, h http.Handler) error {
	os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); <-ctx.Done(); srv.Close() }()
	err = srv.Serve(ln)
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
