package main

import (
	"os"
	"sync"
	"testing"
)

// Binaries built once per test binary live in directories that outlive any
// single test; TestMain removes them at the end.
var (
	tempDirsMu sync.Mutex
	tempDirs   []string
)

func removeAfterTests(dir string) {
	tempDirsMu.Lock()
	defer tempDirsMu.Unlock()
	tempDirs = append(tempDirs, dir)
}

func TestMain(m *testing.M) {
	code := m.Run()
	tempDirsMu.Lock()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	tempDirsMu.Unlock()
	os.Exit(code)
}
