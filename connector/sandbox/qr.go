package sandbox

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"image/png"
)

// qrPNG draws a QR-code-looking PNG for a qrsig: the 37×37 modules of a
// version 5 code (finder, timing and alignment patterns) with data modules
// drawn from the qrsig's hash, 3 px per module and a 4-module margin, as
// ptqrshow's s=3 asked. Nothing can log in with it, so it need not decode.
func qrPNG(qrsig string) []byte {
	const (
		modules = 37
		scale   = 3
		margin  = 4
		side    = (modules + 2*margin) * scale
	)
	dark := qrModules(qrsig)
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range modules {
		for x := range modules {
			if !dark[y][x] {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetColorIndex((margin+x)*scale+dx, (margin+y)*scale+dy, 1)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic("sandbox: png: " + err.Error()) // cannot happen for an in-memory paletted image
	}
	return b.Bytes()
}

func qrModules(qrsig string) [37][37]bool {
	const n = 37
	var dark, fixed [n][n]bool
	set := func(y, x int, d bool) { dark[y][x], fixed[y][x] = d, true }
	finder := func(top, left int) {
		for y := -1; y <= 7; y++ {
			for x := -1; x <= 7; x++ {
				yy, xx := top+y, left+x
				if yy < 0 || xx < 0 || yy >= n || xx >= n {
					continue
				}
				ring := max(abs(y-3), abs(x-3))
				set(yy, xx, ring != 2 && ring != 4) // 3×3 core, dark ring at 3, light separator at 4
			}
		}
	}
	finder(0, 0)
	finder(0, n-7)
	finder(n-7, 0)
	for i := 8; i < n-8; i++ {
		set(6, i, i%2 == 0)
		set(i, 6, i%2 == 0)
	}
	for y := -2; y <= 2; y++ { // the one alignment pattern of version 5, centred at (30, 30)
		for x := -2; x <= 2; x++ {
			set(30+y, 30+x, max(abs(y), abs(x)) != 1)
		}
	}
	set(n-8, 8, true) // the dark module
	bits := sha256.Sum256([]byte(qrsig))
	k := 0
	for y := range n {
		for x := range n {
			if fixed[y][x] {
				continue
			}
			if k/8 == len(bits) {
				bits = sha256.Sum256(bits[:])
				k = 0
			}
			dark[y][x] = bits[k/8]>>(k%8)&1 == 1
			k++
		}
	}
	return dark
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
