package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"log/syslog"
	"sync"
)

// syslogLogger is the log of a mount in the background, which has no
// terminal and no stderr: syslog (facility daemon, tag inetcr), which is
// the journal where systemd runs. Every change and refusal must be logged
// (docs/security.md), so a mount that finds no syslog does not start.
func syslogLogger() (*slog.Logger, error) {
	w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "inetcr")
	if err != nil {
		return nil, fmt.Errorf("no syslog to log to in the background (%v): start a syslog daemon or journald, or mount in the foreground (inetcr mount, or the systemd unit, which logs to the journal)", err)
	}
	return slog.New(&syslogHandler{w: w, mu: new(sync.Mutex), buf: new(bytes.Buffer)}), nil
}

// syslogHandler formats a record as the foreground's text handler does,
// less the time (syslog stamps its own), and sends it at the syslog
// priority of its level.
type syslogHandler struct {
	w   *syslog.Writer
	mu  *sync.Mutex
	buf *bytes.Buffer
	h   slog.Handler // formats into buf; nil until first used
	// attrs and groups are what WithAttrs and WithGroup added, in order.
	with []func(slog.Handler) slog.Handler
}

var _ slog.Handler = (*syslogHandler)(nil)

func (s *syslogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (s *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	if s.h == nil {
		var h slog.Handler = slog.NewTextHandler(s.buf, &slog.HandlerOptions{ReplaceAttr: dropTime})
		for _, f := range s.with {
			h = f(h)
		}
		s.h = h
	}
	if err := s.h.Handle(ctx, r); err != nil {
		return err
	}
	line := string(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
	switch {
	case r.Level >= slog.LevelError:
		return s.w.Err(line)
	case r.Level >= slog.LevelWarn:
		return s.w.Warning(line)
	default:
		return s.w.Info(line)
	}
}

func (s *syslogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return s.derive(func(h slog.Handler) slog.Handler { return h.WithAttrs(attrs) })
}

func (s *syslogHandler) WithGroup(name string) slog.Handler {
	return s.derive(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

// derive is a handler with one more WithAttrs or WithGroup, writing
// through the same buffer under the same lock.
func (s *syslogHandler) derive(f func(slog.Handler) slog.Handler) slog.Handler {
	return &syslogHandler{w: s.w, mu: s.mu, buf: s.buf, with: append(append([]func(slog.Handler) slog.Handler(nil), s.with...), f)}
}

// dropTime leaves the record's time out: syslog has one.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
