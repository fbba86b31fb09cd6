package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, for the benchmark
// to measure the handler alone.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServeIntrospect is one introspection of an active access token
// through the handler, client authentication (basic) included, without
// the network and net/http's connection handling: what the server adds to
// each request.
func BenchmarkServeIntrospect(b *testing.B) {
	db, smp, err := newSample()
	if err != nil {
		b.Fatal(err)
	}
	s := newServer(&embedded{db: db}, testIssuer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	body := "token=" + smp.Access
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodPost, pathIntrospect, nil)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(sampleAPI, smp.secret(sampleAPI))
		w := &discardWriter{h: http.Header{}}
		rd := strings.NewReader(body)
		for pb.Next() {
			rd.Reset(body)
			r.Body = io.NopCloser(rd)
			r.ContentLength = int64(len(body))
			clear(w.h)
			s.ServeHTTP(w, r)
		}
	})
}
