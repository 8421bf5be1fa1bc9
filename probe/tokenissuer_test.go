package probe

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// tokenIssuer is the login half of a test target behind a bearer-token
// session, for the targets to embed: POST /login (its login handler)
// issues tok-1, tok-2, ... as {"token": ...}; known says whether a
// request's bearer token is one it issued and still honours; forget ends
// every token issued so far (the server lost its sessions). mu also
// guards whatever else the embedding target keeps beside the tokens.
type tokenIssuer struct {
	mu     sync.Mutex
	tokens map[string]bool
	logins atomic.Int64
}

func (ti *tokenIssuer) login(w http.ResponseWriter, _ *http.Request) {
	tok := fmt.Sprintf("tok-%d", ti.logins.Add(1))
	ti.mu.Lock()
	if ti.tokens == nil {
		ti.tokens = map[string]bool{}
	}
	ti.tokens[tok] = true
	ti.mu.Unlock()
	fmt.Fprintf(w, `{"token":%q}`, tok)
}

func (ti *tokenIssuer) known(r *http.Request) bool {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
}

func (ti *tokenIssuer) forget() {
	ti.mu.Lock()
	clear(ti.tokens)
	ti.mu.Unlock()
}
