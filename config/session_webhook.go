package config

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// checkSessionWebhook refuses a flow whose steps await a webhook callback
// while only its session's steps hand the target ${webhook.url} (directly
// or through a var built from it): the URL is the run's own, and a session
// is kept for later runs without its steps, so the target would call the
// run that logged in, long ended (404), and every later run's await would
// wait in vain, a false outage from the second run on (a Matrix pusher set
// in the session). The flow's steps must hand it out, before the await.
// A session step that awaits the callback itself (a sign-in link) is fine:
// that is the same run.
func (p *parser) checkSessionWebhook(stepsNode *yaml.Node, key string, f *Flow) {
	if f.Session == nil {
		return
	}
	names := map[string]bool{RefWebhookURL: true}
	for _, v := range f.Vars {
		if refersTo(v.Value, names) || v.JWT != nil && anyRefersTo(v.JWT.Claims, names, 0) {
			names[v.Name] = true
		}
	}
	sent := -1
	for i := range f.Session.Steps {
		if f.Session.Steps[i].refersTo(names) {
			sent = i
			break
		}
	}
	if sent < 0 {
		return
	}
	items := p.seq(stepsNode, key)
	for i := range f.Steps {
		s := &f.Steps[i]
		if s.refersTo(names) {
			return
		}
		if s.Await == nil || s.Await.Webhook == nil {
			continue
		}
		n := &yaml.Node{Line: s.Line}
		if i < len(items) {
			if m := p.resolve(items[i]); m != nil && m.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(m.Content); j += 2 {
					if m.Content[j].Value == "await" {
						n = m.Content[j]
					}
				}
			}
		}
		p.errf(n, key+"["+strconv.Itoa(i)+"].await",
			"waits for a callback to ${webhook.url}, which only session step %q hands out: the URL is this run's, and later runs keep the session without running its steps, so their callbacks would go to the run that logged in; hand ${webhook.url} out in a step of the flow's steps before this one",
			f.Session.Steps[sent].Name)
		return
	}
}
