package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// inProcessAddr is the RemoteAddr of requests made through Transport: the
// caller is this process, so it counts as loopback.
const inProcessAddr = "127.0.0.1:0"

// admin guards an admin handler. /_admin changes what the platform serves,
// so only its operator may drive it, not a web page that operator visits:
//
//   - loopback clients only, unless AllowRemoteAdmin;
//   - the Host must be an IP address or localhost: a browser tricked by DNS
//     rebinding sends the attacker's name;
//   - a request with an Origin must come from a loopback origin, and one a
//     browser marks Sec-Fetch-Site: cross-site is refused;
//   - a body must be JSON (Content-Type application/json), which a page can
//     only send cross-origin after a CORS preflight the platform never
//     grants (a text/plain POST from any page used to add a fault).
//
// Requests through Transport come from this process and skip the Host and
// Origin checks.
func (p *Platform) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !p.remoteAdmin && !isLoopback(r.RemoteAddr) {
			writeError(w, http.StatusForbidden, "/_admin is only served to loopback clients")
			return
		}
		if r.RemoteAddr != inProcessAddr {
			if !isLocalHost(r.Host) {
				writeError(w, http.StatusForbidden, "/_admin: the Host must be an IP address or localhost, not "+strconv.Quote(clip(r.Host)))
				return
			}
			if o := r.Header.Get("Origin"); o != "" && !isLocalOrigin(o) {
				writeError(w, http.StatusForbidden, "/_admin: requests from other origins are refused ("+strconv.Quote(clip(o))+")")
				return
			}
			if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				writeError(w, http.StatusForbidden, "/_admin: cross-site requests are refused")
				return
			}
		}
		if r.Method == http.MethodPost {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "/_admin: the body must be JSON with Content-Type: application/json")
				return
			}
		}
		h(w, r)
	}
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// isLocalHost reports whether a Host header names this machine without DNS:
// an IP address, localhost or a name under .localhost (RFC 6761).
func isLocalHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

// isLocalOrigin reports whether an Origin header is a page served from
// this machine's loopback.
func isLocalOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false // "null" included
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// clip keeps messages short when a header is long.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// faultJSON is a fault as the admin API shows it.
type faultJSON struct {
	ID        string     `json:"id"`
	Service   string     `json:"service"`
	Functions []string   `json:"functions"`
	Mode      string     `json:"mode"`
	Rate      float64    `json:"rate"`
	Latency   string     `json:"latency"`
	Start     *time.Time `json:"start"`
	End       *time.Time `json:"end"`
	Source    string     `json:"source"`
}

func viewFault(f Fault) faultJSON {
	v := faultJSON{ID: f.ID, Service: f.Service, Functions: f.Functions, Mode: f.Mode,
		Rate: f.rate(), Latency: f.Latency.String(), Source: f.Source}
	if v.Functions == nil {
		v.Functions = []string{}
	}
	if !f.Start.IsZero() {
		v.Start = &f.Start
	}
	if !f.End.IsZero() {
		v.End = &f.End
	}
	return v
}

// maxFaultDuration bounds a live fault's duration (a year): now plus any
// longer duration could overflow.
const maxFaultDuration = 366 * 24 * time.Hour

// faultRequest is the body of POST /_admin/faults.
type faultRequest struct {
	Service   string   `json:"service"`
	Functions []string `json:"functions"`
	Mode      string   `json:"mode"`
	Rate      *float64 `json:"rate"`
	Latency   string   `json:"latency"`
	Duration  string   `json:"duration"`
}

// adminAdd answers POST /_admin/faults.
func (p *Platform) adminAdd(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil || len(body) > 64<<10 {
		writeError(w, http.StatusBadRequest, "fault: body unreadable or larger than 64 KiB")
		return
	}
	f, err := parseFaultRequest(body, clock.FromContext(r.Context(), p.clock).Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "fault: "+err.Error())
		return
	}
	id, err := p.AddFault(f)
	if err != nil {
		writeError(w, http.StatusBadRequest, "fault: "+err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// parseFaultRequest turns an admin request into a fault starting at now.
func parseFaultRequest(body []byte, now time.Time) (Fault, error) {
	var req faultRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Fault{}, fmt.Errorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return Fault{}, errors.New("invalid JSON: more than one value")
	}
	f := Fault{Service: req.Service, Functions: req.Functions, Mode: req.Mode, Rate: 1, Start: now, Source: SourceAdmin}
	if req.Rate != nil {
		if !(*req.Rate > 0 && *req.Rate <= 1) {
			return Fault{}, fmt.Errorf("rate: %v is outside (0, 1]", *req.Rate)
		}
		f.Rate = *req.Rate
	}
	if req.Latency != "" {
		d, err := time.ParseDuration(req.Latency)
		if err != nil {
			return Fault{}, fmt.Errorf("latency: %v", err)
		}
		if d != 0 && req.Mode != config.ModeSlow {
			return Fault{}, fmt.Errorf("latency: applies to mode slow only, not %s", strconv.Quote(clip(req.Mode)))
		}
		f.Latency = d
	}
	if req.Duration != "" {
		d, err := time.ParseDuration(req.Duration)
		if err != nil {
			return Fault{}, fmt.Errorf("duration: %v", err)
		}
		if d <= 0 {
			return Fault{}, fmt.Errorf("duration: %v: must be greater than 0 (leave it out for a fault that lasts until DELETE)", d)
		}
		if d > maxFaultDuration {
			return Fault{}, fmt.Errorf("duration: %v is longer than %v", d, maxFaultDuration)
		}
		f.End = now.Add(d)
	}
	return f, validateFault(&f)
}

// adminList answers GET /_admin/faults with a JSON array of the faults
// active at the request's time.
func (p *Platform) adminList(w http.ResponseWriter, r *http.Request) {
	fs := p.activeFaults(clock.FromContext(r.Context(), p.clock).Now())
	out := make([]faultJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, viewFault(f))
	}
	writeJSON(w, http.StatusOK, out)
}

// adminClear answers DELETE /_admin/faults.
func (p *Platform) adminClear(w http.ResponseWriter, r *http.Request) {
	p.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

// adminRemove answers DELETE /_admin/faults/{id}.
func (p *Platform) adminRemove(w http.ResponseWriter, r *http.Request) {
	if !p.RemoveFault(r.PathValue("id")) {
		writeError(w, http.StatusNotFound, "no such fault")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
