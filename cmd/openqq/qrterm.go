package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
)

// printQRCode draws a QR code PNG in the terminal with half-block
// characters: two module rows per text line, light background.
//
// The PNG is the image the QQ service (or the sandbox) hands out, so the
// module grid is recovered from the image itself: the top-left finder
// pattern is seven modules wide, which gives the module size in pixels.
func printQRCode(w io.Writer, pngBytes []byte) error {
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return fmt.Errorf("qr code: %w", err)
	}
	grid, err := qrModules(img)
	if err != nil {
		return fmt.Errorf("qr code: %w", err)
	}
	var b strings.Builder
	const quiet = 2 // light modules around the code, so scanners find it
	n := len(grid)
	dark := func(y, x int) bool {
		y, x = y-quiet, x-quiet
		return y >= 0 && x >= 0 && y < n && x < n && grid[y][x]
	}
	for y := 0; y < n+2*quiet; y += 2 {
		for x := 0; x < n+2*quiet; x++ {
			top, bottom := dark(y, x), dark(y+1, x)
			switch {
			case top && bottom:
				b.WriteString(" ")
			case top:
				b.WriteString("▄")
			case bottom:
				b.WriteString("▀")
			default:
				b.WriteString("█")
			}
		}
		b.WriteString("\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func isDark(c color.Color) bool {
	g := color.GrayModel.Convert(c).(color.Gray)
	return g.Y < 128
}

// qrModules samples the module grid of a QR image: dark modules are true.
func qrModules(img image.Image) ([][]bool, error) {
	r := img.Bounds()
	// Find the first dark pixel scanning rows: the finder pattern's corner.
	x0, y0 := -1, -1
	for y := r.Min.Y; y < r.Max.Y && x0 < 0; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if isDark(img.At(x, y)) {
				x0, y0 = x, y
				break
			}
		}
	}
	if x0 < 0 {
		return nil, errors.New("blank image")
	}
	run := 0
	for x := x0; x < r.Max.X && isDark(img.At(x, y0)); x++ {
		run++
	}
	if run < 7 {
		return nil, errors.New("no finder pattern")
	}
	module := float64(run) / 7
	// The code spans from the finder's corner to the last dark column.
	x1 := x0
	for y := y0; y < r.Max.Y; y++ {
		for x := r.Max.X - 1; x > x1; x-- {
			if isDark(img.At(x, y)) {
				x1 = x
				break
			}
		}
	}
	n := int(float64(x1-x0+1)/module + 0.5)
	if n < 21 || n > 177 {
		return nil, fmt.Errorf("unexpected size: %d modules", n)
	}
	grid := make([][]bool, n)
	for j := range grid {
		grid[j] = make([]bool, n)
		for i := range grid[j] {
			px := x0 + int((float64(i)+0.5)*module)
			py := y0 + int((float64(j)+0.5)*module)
			grid[j][i] = isDark(img.At(px, py))
		}
	}
	return grid, nil
}

// qrWatch passes a Backend through, and tells onQR about every QR code its
// logins show.
type qrWatch struct {
	connector.Backend
	onQR func(png []byte)
}

func (b qrWatch) Login(ctx context.Context, obs openqq.LoginObserver) (bool, error) {
	return b.Backend.Login(ctx, qrTee{LoginObserver: obs, onQR: b.onQR})
}

type qrTee struct {
	openqq.LoginObserver
	onQR func(png []byte)
}

func (o qrTee) QRCode(png []byte) {
	if o.LoginObserver != nil {
		o.LoginObserver.QRCode(png)
	}
	o.onQR(png)
}
