package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

func TestQRModulesRecoversTheGrid(t *testing.T) {
	q, err := qrcode.New("https://example.invalid/login?token=42", qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	want := q.Bitmap() // includes a 4-module quiet zone
	const scale, margin = 3, 4
	n := len(want)
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for y := range n * scale {
		for x := range n * scale {
			c := color.Gray{Y: 255}
			if want[y/scale][x/scale] {
				c = color.Gray{}
			}
			img.SetGray(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	grid, err := qrModules(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if len(grid) != n-2*margin {
		t.Fatalf("got %d modules, want %d", len(grid), n-2*margin)
	}
	for y := range grid {
		for x := range grid[y] {
			if grid[y][x] != want[y+margin][x+margin] {
				t.Fatalf("module (%d,%d) differs", x, y)
			}
		}
	}
	var out strings.Builder
	if err := printQRCode(&out, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(out.String(), "\n"); lines != (len(grid)+4+1)/2 {
		t.Fatalf("printed %d lines", lines)
	}
}

func TestPrintQRCodeRejectsGarbage(t *testing.T) {
	if err := printQRCode(&strings.Builder{}, []byte("not a png")); err == nil {
		t.Fatal("accepted garbage")
	}
	blank := image.NewGray(image.Rect(0, 0, 50, 50))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	var buf bytes.Buffer
	png.Encode(&buf, blank)
	if err := printQRCode(&strings.Builder{}, buf.Bytes()); err == nil {
		t.Fatal("accepted a blank image")
	}
}
