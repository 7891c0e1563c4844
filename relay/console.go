package relay

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
)

// console is the login page: the QR code to scan and the connector's live
// state, read from /openqq/check_client and /openqq/get_qrcode every second
// with the token the page was opened with (?access_token=, never echoed
// into the page by the server).
type console struct {
	page []byte
	csp  string
}

func newConsole(confirmURL string, log *slog.Logger) *console {
	connect := "'self'"
	if confirmURL != "" {
		u, err := url.Parse(confirmURL)
		switch {
		case err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
			connect += " " + u.Scheme + "://" + u.Host
		case err == nil && u.Scheme == "" && u.Host == "" && len(u.Path) > 0 && u.Path[0] == '/':
		default:
			log.Warn("console: ignoring ConfirmScanURL: not an http(s) URL or an absolute path")
			confirmURL = ""
		}
	}
	var buf bytes.Buffer
	err := consoleTemplate.Execute(&buf, struct {
		ConfirmScanURL string
		Style          template.CSS
		Script         template.JS
	}{confirmURL, template.CSS(consoleStyle), template.JS(consoleScript)})
	if err != nil {
		panic(fmt.Sprintf("relay: console template: %v", err)) // constant input
	}
	return &console{
		page: buf.Bytes(),
		csp: "default-src 'none'; script-src " + sriHash(consoleScript) + "; style-src " + sriHash(consoleStyle) +
			"; img-src blob:; connect-src " + connect + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	}
}

func sriHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (c *console) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", c.csp)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer") // the URL may hold the token
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Length", strconv.Itoa(len(c.page)))
	infoOf(r).code = "0"
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(c.page) //nolint:errcheck // the client went away
	}
}

// getQRCode serves the QR code to scan (Controller API, spec §10.3): PNG,
// not cached, or 404 with an empty body when there is none.
func (h *Handler) getQRCode(w http.ResponseWriter, r *http.Request) {
	png, err := h.store.QRCode(r.Context(), accountOf(r))
	if err != nil {
		h.writeError(w, r, fmt.Errorf("relay: qrcode: %w", err))
		return
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache")
	if png == nil {
		hdr.Set("Content-Length", "0")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	hdr.Set("Content-Type", "image/png")
	hdr.Set("Content-Length", strconv.Itoa(len(png)))
	infoOf(r).code = "0"
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(png) //nolint:errcheck // the client went away
	}
}
